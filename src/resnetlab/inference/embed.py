"""`resnetlab embed`: a trained model's features of image files, for retrieval, clustering or a linear probe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

import resnetlab.files as files
from resnetlab.errors import UserInputError
from resnetlab.inference.predict import decoded_images
from resnetlab.inference.trained import Trained, input_normalization
from resnetlab.models.network import ResNet


def embed(
    trained: Trained,
    paths: Sequence[Path],
    *,
    stage: int | None = None,
    batch_size: int = 64,
    skip: Callable[[Path, str], None] | None = None,
) -> np.ndarray:
    """N x D float32 features, a row per readable image: the pooled features the head sees (default), or stage
    `stage`'s map, average-pooled (1..N for the stages; the pre-activation networks' last stage is taken before their
    final BN-ReLU). An unreadable image stops it with a one-line error, or goes to `skip` when given."""
    model = trained.model
    if not isinstance(model, ResNet):
        raise UserInputError("embed needs a resnetlab ResNet checkpoint")
    stages = len(model.stage_names)
    if stage is not None and not 1 <= stage <= stages:
        raise UserInputError(f"--stage must be in 1..{stages} (the network's stages), got {stage}")
    device = next(model.parameters()).device
    normalize = input_normalization(trained, device)
    rows: list[np.ndarray] = []
    model.eval()
    for start in range(0, len(paths), batch_size):
        decoded = decoded_images(trained, paths[start : start + batch_size], skip)
        if not decoded:
            continue
        images = normalize(torch.stack([image for _, image in decoded]).to(device))
        with torch.inference_mode():
            if stage is None:
                features = model.forward_head(model.forward_features(images), pre_logits=True)
            else:
                (stage_map,) = model.forward_intermediates(images, [stage])
                features = stage_map.mean(dim=(2, 3))
        rows.append(features.float().cpu().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)


def save_features(features: np.ndarray, paths: Sequence[Path], out: Path) -> Path:
    """`out` (.npy) and, beside it, `out` with .txt: the image of each row, one path a line."""
    check_features_path(out)
    listing = out.with_suffix(".txt")
    # The listing is renamed first, the rows right after: the two renames follow each other, so rows and names stay
    # in step.
    with files.written(out) as rows, files.written(listing) as names:
        names.write_text("".join(f"{p}\n" for p in paths))
        np.save(rows, features)
    return listing


def check_features_path(out: Path) -> None:
    """Before any image is read: a wrong name should not cost an embedding pass."""
    if out.suffix != ".npy":
        raise UserInputError(f"--out must name a .npy file, got {out}")
    if not out.parent.is_dir():
        raise UserInputError(f"the folder {out.parent} does not exist; create it or choose another --out")
