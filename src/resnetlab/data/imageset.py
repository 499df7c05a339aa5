"""The two forms of a dataset and the splits a run uses: in memory (ImageSet: decoded uint8 images with integer labels)
or on disk (FileSet: image files with their labels, decoded per epoch by workers).

FileSet is for trees too large to hold decoded in memory (ImageNet's 1.28M images are ~190 GB as uint8 at 224 px), and
for [R1]'s ImageNet augmentation, which crops from the original image at a random scale each epoch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from resnetlab.data.transforms import ColorPCA


@dataclass(frozen=True, eq=False)  # eq=False: tensors have no single truth value to compare by
class ImageSet:
    images: torch.Tensor  # uint8, N x C x H x W, contiguous, on CPU
    labels: torch.Tensor  # int64, N
    classes: list[str]  # class names, index = label

    def __post_init__(self) -> None:
        # Every loader builds one of these; checking here keeps a malformed set from failing later inside a model.
        images, labels = self.images, self.labels
        if images.dtype != torch.uint8 or images.dim() != 4 or not images.is_contiguous() or images.is_cuda:
            raise ValueError(f"images must be a contiguous CPU uint8 N x C x H x W tensor, got {images.dtype}")
        if labels.dtype != torch.int64 or labels.shape != (images.shape[0],):
            raise ValueError(f"labels must be int64 of shape ({images.shape[0]},), got {labels.dtype} {labels.shape}")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        channels, height, width = self.images.shape[1:]
        return channels, height, width

    def subset(self, indices: torch.Tensor) -> ImageSet:
        """The images at `indices` (in that order), same classes."""
        return ImageSet(self.images[indices].contiguous(), self.labels[indices].contiguous(), self.classes)


@dataclass(frozen=True, eq=False)
class FileSet:
    files: list[str]  # absolute paths
    labels: torch.Tensor  # int64, N
    classes: list[str]  # class names, index = label
    image_shape: tuple[int, int, int]  # C x H x W of the decoded view the model sees

    def __post_init__(self) -> None:
        if self.labels.dtype != torch.int64 or self.labels.shape != (len(self.files),):
            raise ValueError(f"labels must be int64 of shape ({len(self.files)},), got {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.files)

    def subset(self, indices: torch.Tensor) -> FileSet:
        chosen = indices.tolist()
        return FileSet(
            [self.files[i] for i in chosen], self.labels[indices].contiguous(), self.classes, self.image_shape
        )


@dataclass(frozen=True, eq=False)
class DataSplits:
    """Decoded in memory (ImageSet) or left on disk for workers to stream (FileSet); all three splits alike."""

    train: ImageSet | FileSet
    val: ImageSet | FileSet | None  # carved out of train when config.val_fraction > 0 (seeded, stratified per class)
    test: ImageSet | FileSet
    mean: tuple[float, ...]  # per-channel mean of the train split, in [0, 1] units
    std: tuple[float, ...]  # per-channel std of the train split, in [0, 1] units
    pixel_mean: torch.Tensor  # float32 C x H x W per-pixel mean of the train split in [0, 1] units ([R1] Sec. 4.2)
    source: str  # human-readable description, e.g. "cifar10 folder /path (50000 train / 10000 test)"
    color_pca: ColorPCA | None = None  # principal colour axes of the train split, for PCA lighting (streamed data)


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed from a tuple such as (seed, epoch, batch).

    Hashing instead of arithmetic (seed + epoch) keeps neighbouring tuples independent: (seed=0, epoch=1) and
    (seed=1, epoch=0) must not share a shuffle.
    """
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def generator(*parts: int | str, device: torch.device | str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(derive_seed(*parts))
