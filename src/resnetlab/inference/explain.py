"""`resnetlab explain`: a trained model's Grad-CAM heatmap over the image, at the image's own size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import resnetlab.files as files
from resnetlab.analysis.gradcam import ClassActivation, grad_cam, overlay
from resnetlab.errors import UserInputError
from resnetlab.inference.trained import Trained, decode_image, input_normalization
from resnetlab.models.network import ResNet


@dataclass(frozen=True)
class Explanation:
    path: Path  # the PNG written
    class_name: str
    probability: float
    heatmap: np.ndarray  # H x W in [0, 1] at the image's size (zero outside the part the model sees)


def explain(trained: Trained, image_path: Path, out: Path, class_name: str | None = None) -> Explanation:
    model = trained.model
    if not isinstance(model, ResNet):
        raise UserInputError("explain needs a resnetlab ResNet checkpoint")
    if out.suffix.lower() != ".png":
        raise UserInputError(f"--out must name a .png file, got {out}")
    class_index = None
    if class_name is not None:
        if class_name not in trained.classes:
            raise UserInputError(f"{class_name!r} is not one of the model's classes ({', '.join(trained.classes[:8])})")
        class_index = trained.classes.index(class_name)
    channels, height, width = trained.record.preprocess.input_size
    resize = trained.record.preprocess.resize
    pixels = decode_image(image_path, channels, height, width, resize)  # the view predict classifies
    model_device = next(model.parameters()).device
    normalized = input_normalization(trained, model_device)(pixels[None].to(model_device))[0]
    activation = grad_cam(model.float(), normalized, class_index)
    with Image.open(image_path) as opened:
        original = np.asarray(opened.convert("RGB"))
    heatmap = _onto_original(activation, original.shape[0], original.shape[1], height, width, resize)
    picture = Image.fromarray(overlay(original, heatmap))
    with files.written(out) as partial:
        picture.save(partial)
    return Explanation(out, trained.classes[activation.class_index], activation.probability, heatmap)


def _onto_original(
    activation: ClassActivation, image_height: int, image_width: int, height: int, width: int, resize: int | None
) -> np.ndarray:
    """The heatmap of the model's centre view, placed where that view lies in the original image."""
    if resize is not None:  # shorter side to `resize`, then the centre crop (CenterView)
        scale = resize / min(image_height, image_width)
    else:  # the smallest scale at which the image covers the crop (decode_image)
        scale = max(height / image_height, width / image_width)
    box_height = min(image_height, max(1, round(height / scale)))
    box_width = min(image_width, max(1, round(width / scale)))
    top, left = (image_height - box_height) // 2, (image_width - box_width) // 2
    resized = torch.nn.functional.interpolate(
        torch.from_numpy(activation.heatmap)[None, None], size=(box_height, box_width), mode="bilinear"
    )[0, 0].numpy()
    heatmap = np.zeros((image_height, image_width), dtype=np.float32)
    heatmap[top : top + box_height, left : left + box_width] = resized
    return heatmap
