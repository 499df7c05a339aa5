"""A trained model ready to use: rebuilt from whatever weights a source names (runs/weights.py decides which), with
its record (classes, preprocessing) and, for a run's checkpoint, the run's config. predict, embed, export, explain
and eval all start here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import nn

from resnetlab.data.folder import decode_square, open_image
from resnetlab.data.transforms import Normalization, normalization
from resnetlab.data.views import CenterView
from resnetlab.errors import UserInputError
from resnetlab.models import create_model
from resnetlab.models.pretrained import PretrainedWeights, load_into, load_pretrained
from resnetlab.models.record import ModelRecord
from resnetlab.runs.checkpoint import SavedModel
from resnetlab.runs.weights import resolve_weights


@dataclass(frozen=True)
class Trained:
    """A model ready to use, with its record (classes, preprocessing) and, for a run's model, the run's config."""

    model: nn.Module
    record: ModelRecord
    path: Path
    config: dict[str, Any] | None = None  # as stored (config_to_dict); None for pretrained weights

    @property
    def classes(self) -> list[str]:
        return list(self.record.classes)

    @property
    def checkpoint(self) -> dict[str, Any]:
        """The record in the layout checkpoint files store it, for scripts written against that layout; resnetlab
        itself reads `record`."""
        return self.record.to_dict()


def trained_config(trained: Trained) -> dict[str, Any]:
    """The training config stored in a trained model's checkpoint."""
    if trained.config is None:
        raise UserInputError(f"{trained.path} holds no training config; it cannot be evaluated on its data")
    return trained.config


def load_trained(source: str | Path, device: torch.device) -> Trained:
    """The model `source` names: a checkpoint file, a run folder, or pretrained weights (torchvision:NAME, timm:NAME,
    a .pth / .safetensors state dict) with the classes they carry. See runs/weights.py."""
    found = resolve_weights(source)
    if found.saved is not None:
        return _from_saved(found.saved, Path(found.source), device)
    assert found.pretrained is not None
    return _from_pretrained(found.pretrained, device)


def open_pretrained(source: str, device: torch.device, model_name: str | None = None) -> Trained:
    """Pretrained weights as a trained model, built as `model_name` (default: the network they were recognised as)."""
    return _from_pretrained(load_pretrained(source), device, model_name)


def _from_saved(saved: SavedModel, path: Path, device: torch.device) -> Trained:
    record = saved.record
    model = create_model(record.model_name, **record.model_options)
    try:
        model.load_state_dict(saved.weights)
    except RuntimeError:
        raise UserInputError(f"{path} does not fit {record.model_name}: its weights differ") from None
    return Trained(model.to(device).eval(), record, path, saved.config)


def _from_pretrained(weights: PretrainedWeights, device: torch.device, model_name: str | None = None) -> Trained:
    """Predict, embed, export and explain work on pretrained weights as they are."""
    record = weights.model_record(model_name)
    model = create_model(record.model_name, **record.model_options)
    load_into(model, weights, record.model_name)
    return Trained(model.to(device).eval(), record, Path(weights.source))


def input_normalization(trained: Trained, device: torch.device) -> Normalization:
    """The map from uint8 pixels to the float input the model was trained on, as training applied it."""
    preprocess = trained.record.preprocess
    # Per-channel normalisation reads no pixel mean: pretrained weights carry none.
    pixel_mean = preprocess.pixel_mean if preprocess.pixel_mean is not None else torch.zeros(preprocess.input_size)
    return normalization(
        preprocess.normalize, preprocess.mean, preprocess.std, pixel_mean, preprocess.input_size, device
    )


def decode_image(path: Path, channels: int, height: int, width: int, resize: int | None = None) -> torch.Tensor:
    """One image as uint8 C x H x W, as the network's training saw its images: a square input through the in-memory
    folder's decode (shorter side to the side, centre square), a streamed folder's network (`resize`) through the
    training's centre view (shorter side to `resize`, centre crop). Both decode with `data.folder.open_image`.
    """
    try:
        if resize is not None:
            return CenterView(resize, height)(str(path))
        grey = channels == 1
        if height == width:
            pixels = torch.from_numpy(np.array(decode_square(path, height, grey=grey)))
        else:
            pixels = _centre_crop(open_image(path, min(height, width), grey=grey), height, width)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise UserInputError(f"cannot read image {path}: {error}") from None
    return (pixels[None] if grey else pixels.permute(2, 0, 1)).contiguous()


def _centre_crop(image: Image.Image, height: int, width: int) -> torch.Tensor:
    """A rectangular input: resized until it covers height x width, then its centre."""
    scale = max(height / image.height, width / image.width)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    image = image.resize(size, Image.Resampling.BILINEAR)
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return torch.from_numpy(np.array(image.crop((left, top, left + width, top + height))))
