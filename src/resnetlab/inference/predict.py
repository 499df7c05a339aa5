"""Using a trained model: rebuild it from a checkpoint, feed it image files, read its answers."""

from __future__ import annotations

import csv
import glob
import io
import json
from collections.abc import Callable, Iterable, Sequence
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
from resnetlab.inference.optimize import optimize_for_inference
from resnetlab.models import create_model
from resnetlab.models.pretrained import load_into, load_pretrained
from resnetlab.models.record import ModelRecord
from resnetlab.runs.checkpoint import NotACheckpointError, read_model
from resnetlab.runs.run_dir import LAST_CHECKPOINT

PRETRAINED_SUFFIXES = {".pth", ".th", ".bin", ".safetensors"}  # state dicts; resnetlab's own checkpoints end in .pt
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


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


def checkpoint_path(path: Path) -> Path:
    return path / LAST_CHECKPOINT if path.is_dir() else path


def trained_config(trained: Trained) -> dict[str, Any]:
    """The training config stored in a trained model's checkpoint."""
    if trained.config is None:
        raise UserInputError(f"{trained.path} holds no training config; it cannot be evaluated on its data")
    return trained.config


def load_trained(path: Path, device: torch.device) -> Trained:
    """A checkpoint file, or a run directory (its last checkpoint: the model `train` reported on); or pretrained
    weights (torchvision:NAME, timm:NAME, a .pth / .safetensors state dict) with the classes they carry."""
    if is_pretrained_source(path):
        return open_pretrained(str(path), device)
    file = checkpoint_path(path)
    try:
        saved = read_model(file)
    except NotACheckpointError:  # a state dict saved as .pt, as torchvision's and timm's users often do
        return open_pretrained(str(file), device)
    record = saved.record
    model = create_model(record.model_name, **record.model_options)
    try:
        model.load_state_dict(saved.weights)
    except RuntimeError:
        raise UserInputError(f"{file} does not fit {record.model_name}: its weights differ") from None
    return Trained(model.to(device).eval(), record, file, saved.config)


def is_pretrained_source(path: Path) -> bool:
    text = str(path)
    return text.startswith(("torchvision:", "timm:")) or path.suffix in PRETRAINED_SUFFIXES


def open_pretrained(source: str, device: torch.device, model_name: str | None = None) -> Trained:
    """Pretrained weights as a trained model: predict, embed, export and explain work on them as they are."""
    weights = load_pretrained(source)
    record = weights.model_record(model_name)
    model = create_model(record.model_name, **record.model_options)
    load_into(model, weights, record.model_name)
    return Trained(model.to(device).eval(), record, Path(source))


def input_normalization(trained: Trained, device: torch.device) -> Normalization:
    """The map from uint8 pixels to the float input the model was trained on, as training applied it."""
    preprocess = trained.record.preprocess
    # Per-channel normalisation reads no pixel mean: pretrained weights carry none.
    pixel_mean = preprocess.pixel_mean if preprocess.pixel_mean is not None else torch.zeros(preprocess.input_size)
    return normalization(
        preprocess.normalize, preprocess.mean, preprocess.std, pixel_mean, preprocess.input_size, device
    )


def expand_image_paths(inputs: Sequence[str]) -> list[Path]:
    """Files, folders (searched recursively) and glob patterns, in a stable order."""
    found: list[Path] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            # glob.glob, not Path.glob: it takes absolute patterns too ("/data/*.jpg"), and ** with recursive.
            matches = sorted(map(Path, glob.glob(text, recursive=True))) if any(ch in text for ch in "*?[") else []
            if not matches:
                raise UserInputError(f"{text} is not an image file, a folder or a pattern that matches files")
            found += [p for p in matches if p.is_file()]
    if not found:
        raise UserInputError(f"no images found in {', '.join(inputs)}")
    return found


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


def predict(
    trained: Trained,
    paths: Iterable[Path],
    *,
    topk: int,
    batch_size: int = 64,
    compile: bool = False,
    skip: Callable[[Path, str], None] | None = None,
) -> list[dict[str, Any]]:
    """The top-`topk` classes of each image. An image that cannot be read stops it with a one-line error, unless
    `skip` is given: then it is handed the path and why, and the other images are predicted."""
    channels, height, width = trained.record.preprocess.input_size
    resize = trained.record.preprocess.resize
    device = next(trained.model.parameters()).device
    classes = trained.classes
    normalize = input_normalization(trained, device)
    model = optimize_for_inference(trained.model, compile=compile)  # BN folded, bf16 where native, channels_last
    k = min(topk, len(classes))
    rows: list[dict[str, Any]] = []
    paths = list(paths)
    for start in range(0, len(paths), batch_size):
        decoded = _decoded(paths[start : start + batch_size], (channels, height, width), resize, skip)
        if not decoded:
            continue
        chunk = [path for path, _ in decoded]
        images = torch.stack([image for _, image in decoded]).to(device)
        with torch.inference_mode():
            probabilities = model(normalize(images)).softmax(dim=1)
        top = probabilities.topk(k, dim=1)
        for path, scores, indices in zip(chunk, top.values.tolist(), top.indices.tolist(), strict=True):
            rows.append(
                {
                    "path": str(path),
                    "top": [{"class": classes[i], "probability": s} for s, i in zip(scores, indices, strict=True)],
                }
            )
    return rows


def _decoded(
    paths: Sequence[Path],
    size: tuple[int, int, int],
    resize: int | None,
    skip: Callable[[Path, str], None] | None,
) -> list[tuple[Path, torch.Tensor]]:
    """Each readable image of `paths` with its path, decoded; an unreadable one raises, or goes to `skip` when given."""
    decoded = []
    for path in paths:
        try:
            decoded.append((path, decode_image(path, *size, resize)))
        except UserInputError as error:
            if skip is None:
                raise
            skip(path, str(error).removeprefix(f"cannot read image {path}: "))
    return decoded


def format_predictions(rows: list[dict[str, Any]], style: str) -> str:
    """text: `path: class 97.1%, ...`; json: one JSON object a line; csv: path, then class_i and probability_i."""
    if style == "json":
        return "".join(json.dumps(row) + "\n" for row in rows)
    if style == "csv":
        buffer = io.StringIO()
        k = max((len(row["top"]) for row in rows), default=1)
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["path"] + [f"{name}_{i}" for i in range(1, k + 1) for name in ("class", "probability")])
        for row in rows:
            writer.writerow([row["path"]] + [v for t in row["top"] for v in (t["class"], f"{t['probability']:.6f}")])
        return buffer.getvalue()
    lines = [
        f"{row['path']}: " + ", ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in row["top"])
        for row in rows
    ]
    return "".join(line + "\n" for line in lines)
