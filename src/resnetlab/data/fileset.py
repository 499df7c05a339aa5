"""The streamed form of a dataset: image files left on disk, with their labels; decoded per epoch by workers.

For trees too large to hold decoded in memory (ImageNet's 1.28M images are ~190 GB as uint8 at 224 px), and for
[R1]'s ImageNet augmentation, which crops from the original image at a random scale each epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from resnetlab.data.folder import check_same_classes, existing_directory, scan_tree, split_roots


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


def scan_folder(path: str | None, image_shape: tuple[int, int, int]) -> tuple[FileSet, FileSet | None, str]:
    """Like `load_folder`, without decoding: the train files, the test files (None: the caller holds some out)."""
    root = existing_directory(path)
    train_root, test_root = split_roots(root)
    train = _scan_split(train_root, image_shape)
    test = None
    if test_root is not None:
        test = _scan_split(test_root, image_shape)
        check_same_classes(train_root, train.classes, test_root, test.classes)
    return train, test, f"{root.name} folder {root}, streamed"


def _scan_split(root: Path, image_shape: tuple[int, int, int]) -> FileSet:
    classes, files, labels = scan_tree(root)
    paths = [str(root / name) for name in files]
    return FileSet(paths, torch.tensor(labels, dtype=torch.int64), classes, image_shape)
