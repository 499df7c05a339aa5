"""`load_splits`: a `DataConfig` in, the train / val / test image sets and the train statistics out."""

from __future__ import annotations

import dataclasses
import math

import torch

from resnetlab.config import DataConfig
from resnetlab.data.cache import cache_root
from resnetlab.data.cifar import CIFAR_LAYOUTS, load_cifar
from resnetlab.data.digits import load_digits
from resnetlab.data.file_stream import sample_statistics
from resnetlab.data.folder import existing_directory, load_folder, scan_folder, scan_tree, split_roots
from resnetlab.data.imageset import DataSplits, FileSet, ImageSet, generator
from resnetlab.data.transforms import color_pca
from resnetlab.data.views import CenterView, SquareView
from resnetlab.errors import UserInputError


def load_splits(config: DataConfig, *, whole: bool = False) -> DataSplits:
    """Load `config.dataset`, hold out test (if it has none) and val from train, and measure the train split.
    `whole`: data named to be evaluated, not trained on: its own test split when it has one (a tree's test/ or val/,
    CIFAR's test batch), otherwise every image of it is the test split (nothing is held out of it)."""
    if not 0.0 <= config.val_fraction < 1.0:
        raise UserInputError(f"data.val_fraction must be in [0, 1), got {config.val_fraction}")
    if not 0.0 < config.test_fraction < 1.0:
        raise UserInputError(f"data.test_fraction must be in (0, 1), got {config.test_fraction}")
    _check_storage(config)
    train: ImageSet | FileSet
    test: ImageSet | FileSet | None
    if config.dataset == "folder" and streams(config):
        train, test, origin = scan_folder(config.path, stream_shape(config))
    elif config.dataset == "digits":
        train, test, origin = load_digits(), None, "digits (scikit-learn)"
    elif config.dataset in CIFAR_LAYOUTS:
        cache = cache_root(config.cache_dir)
        train, test, origin = load_cifar(config.dataset, config.path, download=config.download, cache=cache)
    elif config.dataset == "folder":
        train, test, origin = load_folder(config.path, config.image_size, cache_root(config.cache_dir))
    else:
        raise UserInputError(f"data.dataset must be one of digits, cifar10, cifar100, folder, got {config.dataset!r}")
    if test is None and whole:
        test = train
    elif test is None:
        train, test = stratified_split(train, config.test_fraction, config.split_seed, "test")
    val = None
    if config.val_fraction > 0 and not whole:
        # Out of train only: the test split stays the one every result is reported on ([R1] Sec. 4.2: 45k/5k).
        train, val = stratified_split(train, config.val_fraction, config.split_seed, "val")
    sizes = [f"{len(train)} train"] + ([f"{len(val)} val"] if val is not None else []) + [f"{len(test)} test"]
    source = f"{origin} ({' / '.join(sizes)})"
    if isinstance(train, ImageSet):
        mean, std, pixel_mean = image_statistics(train.images)
        return _given_statistics(DataSplits(train, val, test, mean, std, pixel_mean, source), config)
    sampled = sample_statistics(train, plain_view(config), config.workers, STATISTICS_SAMPLE, config.split_seed)
    splits = DataSplits(
        train,
        val,
        test,
        tuple(sampled["mean"].tolist()),
        tuple(sampled["std"].tolist()),
        sampled["pixel_mean"],
        source,
        color_pca(sampled["covariance"]),
    )
    return _given_statistics(splits, config)


def _given_statistics(splits: DataSplits, config: DataConfig) -> DataSplits:
    """data.mean / data.std, when set (pretrained weights' own), in place of the measured ones."""
    if config.mean is None or config.std is None:
        return splits
    channels = splits.train.image_shape[0]
    if len(config.mean) != channels:
        raise UserInputError(f"data.mean has {len(config.mean)} values but the images have {channels} channels")
    return dataclasses.replace(splits, mean=tuple(config.mean), std=tuple(config.std))


STATISTICS_SAMPLE = 512  # images whose pixels give a streamed set's mean, std and colour axes


def streams(config: DataConfig) -> bool:
    """Whether a folder is streamed from disk rather than decoded into memory (see DataConfig.storage)."""
    if config.storage != "auto":
        return config.storage == "stream"
    if config.augment == "imagenet":
        return True
    if config.image_size is None:
        return False  # sizes unknown until decoded; a tree of one native size is decoded in memory
    train_root, test_root = split_roots(existing_directory(config.path))
    count = sum(len(scan_tree(root)[1]) for root in (train_root, test_root) if root is not None)
    return count * 3 * config.image_size**2 > config.memory_limit_gb * 1e9


def stream_shape(config: DataConfig) -> tuple[int, int, int]:
    """The decoded view's shape: the image_size square when set, else the crop of [R1] Sec. 3.4's views."""
    side = config.image_size if config.image_size is not None else config.crop_size
    return 3, side, side


def plain_view(config: DataConfig) -> SquareView | CenterView:
    """A streamed image without augmentation: the image_size square as memory would hold it, or the centre view."""
    if config.image_size is not None:
        return SquareView(config.image_size)
    return CenterView(config.eval_resize, config.crop_size)


def _check_storage(config: DataConfig) -> None:
    """Combinations that types alone do not rule out, refused before any file is read."""
    if config.augment == "imagenet" and config.dataset != "folder":
        raise UserInputError(
            "data.augment=imagenet crops from original images and needs data.dataset=folder; "
            "for CIFAR use data.augment=cifar"
        )
    if config.storage == "stream" and config.dataset != "folder":
        raise UserInputError(f"data.storage=stream applies to folders only; {config.dataset} is loaded in memory")
    if config.augment == "imagenet" and config.storage == "memory":
        raise UserInputError("data.augment=imagenet needs the original images: set data.storage to stream or auto")
    if config.augment == "imagenet" and config.image_size is not None:
        raise UserInputError(
            "data.augment=imagenet resizes each original itself (data.scale_range, data.crop_size); "
            "set data.image_size to null"
        )
    if config.eval_view == "ten_crop" and (config.augment != "imagenet" and config.storage != "stream"):
        raise UserInputError("data.eval_view=ten_crop applies to streamed folders; set data.storage=stream")
    if config.eval_view == "flip_translate" and config.storage == "stream":
        raise UserInputError("data.eval_view=flip_translate applies to images held in memory; set data.storage=memory")
    if config.eval_view == "ten_crop" and config.image_size is not None:
        raise UserInputError("data.eval_view=ten_crop crops from the resized original; set data.image_size to null")


def stratified_split(
    data: ImageSet | FileSet, fraction: float, seed: int, purpose: str
) -> tuple[ImageSet | FileSet, ImageSet | FileSet]:
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
