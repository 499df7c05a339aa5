"""`load_splits`: a `DataConfig` in, the train / val / test image sets and the train statistics out."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from resnetlab.data.cache import cache_root
from resnetlab.data.cifar import CIFAR_LAYOUTS, load_cifar
from resnetlab.data.digits import load_digits
from resnetlab.data.folder import load_folder
from resnetlab.data.imageset import DataSplits, ImageSet, generator
from resnetlab.errors import UserInputError

if TYPE_CHECKING:
    # For the annotation only: importing the engine at run time would make `import resnetlab.data` depend on
    # the engine package (which imports the data layer): a cycle waiting to happen.
    from resnetlab.engine.config import DataConfig


def load_splits(config: DataConfig) -> DataSplits:
    """Load `config.dataset`, hold out test (if it has none) and val from train, and measure the train split."""
    if not 0.0 <= config.val_fraction < 1.0:
        raise UserInputError(f"data.val_fraction must be in [0, 1), got {config.val_fraction}")
    if not 0.0 < config.test_fraction < 1.0:
        raise UserInputError(f"data.test_fraction must be in (0, 1), got {config.test_fraction}")
    test: ImageSet | None
    if config.dataset == "digits":
        train, test, origin = load_digits(), None, "digits (scikit-learn)"
    elif config.dataset in CIFAR_LAYOUTS:
        cache = cache_root(config.cache_dir)
        train, test, origin = load_cifar(config.dataset, config.path, download=config.download, cache=cache)
    elif config.dataset == "folder":
        train, test, origin = load_folder(config.path, config.image_size, cache_root(config.cache_dir))
    else:
        raise UserInputError(f"data.dataset must be one of digits, cifar10, cifar100, folder, got {config.dataset!r}")
    if test is None:
        train, test = stratified_split(train, config.test_fraction, config.split_seed, "test")
    val = None
    if config.val_fraction > 0:
        # Out of train only: the test split stays the one every result is reported on ([R1] Sec. 4.2: 45k/5k).
        train, val = stratified_split(train, config.val_fraction, config.split_seed, "val")
    mean, std, pixel_mean = image_statistics(train.images)
    sizes = [f"{len(train)} train"] + ([f"{len(val)} val"] if val is not None else []) + [f"{len(test)} test"]
    return DataSplits(train, val, test, mean, std, pixel_mean, f"{origin} ({' / '.join(sizes)})")


def stratified_split(data: ImageSet, fraction: float, seed: int, purpose: str) -> tuple[ImageSet, ImageSet]:
    """(kept, held out): `fraction` of every class held out, chosen by `seed`; both keep the original order.

    `purpose` ("test", "val") gives each split its own random stream, so the val split does not depend on
    whether a test split was carved out first with the same seed.
    """
    counts = torch.bincount(data.labels, minlength=len(data.classes))
    quotas = _quotas(counts, fraction)
    if int(quotas.sum()) == 0:
        raise UserInputError(
            f"data.{purpose}_fraction={fraction} of {len(data)} images holds out none; raise data.{purpose}_fraction"
        )
    rng = generator(seed, purpose)
    held = []
    for label, quota in enumerate(quotas.tolist()):
        members = torch.nonzero(data.labels == label).flatten()
        # A permutation per class (not one global one): each class gives exactly its quota.
        held.append(members[torch.randperm(len(members), generator=rng)[:quota]])
    held_out = torch.zeros(len(data), dtype=torch.bool)
    held_out[torch.cat(held)] = True
    return data.subset(torch.nonzero(~held_out).flatten()), data.subset(torch.nonzero(held_out).flatten())


def _quotas(counts: torch.Tensor, fraction: float) -> torch.Tensor:
    """Per-class held-out counts summing to round(N * fraction): floors, then the largest remainders get one more.

    Rounding each class on its own would hold out nothing from 10 classes of 3 images at 0.1, or too much at 0.2.
    Every class keeps at least one image on the kept side.
    """
    exact = counts.double() * fraction
    quotas = exact.floor().long()
    missing = math.floor(float(counts.sum()) * fraction + 0.5) - int(quotas.sum())
    if missing > 0:
        order = torch.sort(exact - quotas, descending=True, stable=True).indices
        quotas[order[:missing]] += 1
    return torch.minimum(quotas, (counts - 1).clamp(min=0))


def image_statistics(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...], torch.Tensor]:
    """Per-channel mean and std and the per-pixel mean ([R1] Sec. 4.2) of uint8 images, in [0, 1] units."""
    count, channels, height, width = images.shape
    pixel_sum = torch.zeros(channels, height, width, dtype=torch.float64)
    square_sum = torch.zeros(channels, dtype=torch.float64)
    for chunk in images.split(1024):  # float64 copies of a chunk at a time, not of 50,000 images at once
        values = chunk.to(torch.float64)
        pixel_sum += values.sum(0)
        square_sum += values.square().sum((0, 2, 3))
    pixel_mean = pixel_sum / (count * 255.0)
    mean = pixel_mean.mean((1, 2))
    variance = square_sum / (count * height * width * 255.0**2) - mean.square()
    std = variance.clamp(min=0).sqrt()
    # A constant channel (std 0) would divide by zero; std 1 leaves it centred instead.
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    return tuple(mean.tolist()), tuple(std.tolist()), pixel_mean.to(torch.float32)
