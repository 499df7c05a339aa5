"""Predicting: a trained model (inference/trained.py) fed image files, decoded as training decoded them."""

from __future__ import annotations

import csv
import glob
import io
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from resnetlab.errors import UserInputError
from resnetlab.inference.optimize import Engine, fastest_inference_model
from resnetlab.inference.trained import Trained, decode_image, input_normalization

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


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


def predict(
    trained: Trained,
    paths: Iterable[Path],
    *,
    topk: int,
    batch_size: int = 64,
    engine: Engine = "auto",
    compile: bool = False,
    skip: Callable[[Path, str], None] | None = None,
) -> list[dict[str, Any]]:
    """The top-`topk` classes of each image. An image that cannot be read stops it with a one-line error, unless
    `skip` is given: then it is handed the path and why, and the other images are predicted. `engine` "auto" is the
    one measured fastest on this CPU's class (runtime/paths.py)."""
    device = next(trained.model.parameters()).device
    classes = trained.classes
    normalize = input_normalization(trained, device)
    image_shape = trained.record.preprocess.input_size
    model = fastest_inference_model(trained.model, image_shape, engine=engine, compile=compile)  # bf16 where native
    k = min(topk, len(classes))
    rows: list[dict[str, Any]] = []
    paths = list(paths)
    for start in range(0, len(paths), batch_size):
        decoded = decoded_images(trained, paths[start : start + batch_size], skip)
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


def decoded_images(
    trained: Trained, paths: Sequence[Path], skip: Callable[[Path, str], None] | None
) -> list[tuple[Path, torch.Tensor]]:
    """Each readable image of `paths` with its path, decoded as the model's training decoded its images; an unreadable
    one raises a one-line error, or goes to `skip` (with why) when given."""
    preprocess = trained.record.preprocess
    decoded = []
    for path in paths:
        try:
            decoded.append((path, decode_image(path, *preprocess.input_size, preprocess.resize)))
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
