"""`FileStream`: a FileSet as shuffled, augmented, normalised batches, decoded by DataLoader worker processes.

The counterpart of BatchStream for data that stays on disk, with the same interface and the same reproducibility:
the sampler hands each worker (index, epoch) pairs and every sample's augmentation is seeded by (seed, epoch, index),
so the batches do not depend on the number of workers or on which worker decoded what, and a run resumed mid-epoch
sees the batches of the uninterrupted one.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from resnetlab.data.folder import SkippedFilesWarning
from resnetlab.data.imageset import FileSet, derive_seed, generator
from resnetlab.data.shard import Shard, check_batches_shard, check_shard, shard_rows
from resnetlab.data.transforms import BatchAugmentation, ColorPCA, Normalization
from resnetlab.errors import UserInputError

View = Callable[[str], torch.Tensor]
_Sample = tuple[torch.Tensor | None, int, str, int]
_Item = tuple[int, int, int]  # (index in the set, epoch, position in the global batch)


class _Decoded(Dataset[_Sample]):
    """Item (index, epoch, position) -> (pixels or None if unreadable, label, path, position)."""

    def __init__(self, data: FileSet, view: View, seed: int, random: bool) -> None:
        self.files, self.labels = data.files, data.labels.tolist()
        self.view, self.seed, self.random = view, seed, random

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, item: _Item) -> _Sample:
        index, epoch, position = item
        path, label = self.files[index], self.labels[index]
        try:
            if not self.random:
                return self.view(path), label, path, position
            # fork_rng: with workers=0 this runs in the training process, whose generator must not move.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(derive_seed(self.seed, "augment", epoch, index))
                return self.view(path), label, path, position
        # As for in-memory folders: Pillow raises many types for a bad file; all mean "not a readable image".
        except Exception:
            return None, label, path, position


_Batch = tuple[torch.Tensor | None, torch.Tensor, torch.Tensor, list[str]]


def _collate(samples: list[_Sample]) -> _Batch:
    """(pixels of the readable samples or None, their labels, their positions in the global batch, skipped paths)."""
    kept = [(pixels, label, position) for pixels, label, _, position in samples if pixels is not None]
    skipped = [path for pixels, _, path, _ in samples if pixels is None]
    labels = torch.tensor([label for _, label, _ in kept], dtype=torch.int64)
    positions = torch.tensor([position for _, _, position in kept], dtype=torch.int64)
    pixels = torch.stack([p for p, _, _ in kept]) if kept else None
    return pixels, labels, positions, skipped


class FileStream:
    """Batches of one FileSet on the target device; exactly reproducible from (seed, epoch, batch)."""

    def __init__(
        self,
        data: FileSet,
        batch_size: int,
        *,
        train: bool,
        view: View,
        normalize: Normalization,
        seed: int,
        device: torch.device,
        workers: int,
        cifar_augment: bool = False,
        lighting: tuple[ColorPCA, float] | None = None,
        channels_last: bool = False,
        cutout: int = 0,
        shard: Shard = (0, 1),
    ) -> None:
        if batch_size < 1:
            raise UserInputError(f"batch size must be >= 1, got {batch_size}")
        self.data, self.batch_size, self.train = data, batch_size, train
        self.view, self.seed, self.device, self.workers = view, seed, device, workers
        self._normalize = normalize
        self._augmentation = BatchAugmentation(
            crop_flip=train and cifar_augment,
            cutout=cutout if train else 0,
            lighting=lighting if train else None,
            scale=normalize.scale,
        )
        self.channels_last = channels_last
        # Data-parallel training: each process decodes only its block of every global batch (resnetlab.data.shard).
        self.shard = check_shard(shard)
        if train:
            check_batches_shard(len(data), batch_size, shard)
        self.skipped: set[str] = set()  # every unreadable file met so far, for one warning per file

    def __len__(self) -> int:
        return math.ceil(len(self.data) / self.batch_size)

    def epoch(self, epoch: int, start_batch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if not 0 <= start_batch <= len(self):
            raise ValueError(f"start_batch must be in [0, {len(self)}], got {start_batch}")
        return self._batches(epoch, start_batch)

    def _batches(self, epoch: int, start_batch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.data)
        order = torch.randperm(count, generator=generator(self.seed, "shuffle", epoch)) if self.train else None
        indices = order.tolist() if order is not None else list(range(count))
        plan: list[list[_Item]] = []
        for start in range(start_batch * self.batch_size, count, self.batch_size):
            members = indices[start : start + self.batch_size]
            rows = shard_rows(len(members), self.shard)
            plan.append([(members[p], epoch, p) for p in range(rows.start, rows.stop)])
        loader = DataLoader(
            _Decoded(self.data, self.view, self.seed, random=self.train),
            batch_sampler=plan,
            num_workers=self.workers,
            collate_fn=_collate,
            pin_memory=self.device.type == "cuda",
            # Two batches ahead per worker keeps the model fed through slow files without holding many in memory.
            prefetch_factor=2 if self.workers > 0 else None,
            # Its own generator for the workers' base seed, which would otherwise be drawn from (and move) the
            # training process's global one.
            generator=generator(self.seed, "loader", epoch),
        )
        for batch, (pixels, labels, positions, skipped) in enumerate(loader, start=start_batch):
            self._note_skipped(skipped)
            if pixels is None:
                # In one process the batch is all of them; across processes, this process's block, which cannot
                # be left empty (its BN and DDP need images), though the other processes may have some.
                share = "" if self.shard[1] == 1 else f" that process {self.shard[0]} decodes"
                example = f", e.g. {skipped[0]}" if skipped else ""
                raise UserInputError(
                    f"none of the {len(skipped)} files of batch {batch}{share} could be read as images"
                    f"{example}; remove or replace the unreadable files"
                )
            yield self._prepare(pixels, labels, positions, epoch, batch)

    def _note_skipped(self, skipped: list[str]) -> None:
        new = [path for path in skipped if path not in self.skipped]
        if new:
            self.skipped.update(new)
            warnings.warn(
                f"skipped {len(new)} file(s) that are not readable images, e.g. {new[0]} ({len(self.skipped)} so far)",
                SkippedFilesWarning,
                stacklevel=3,
            )

    def _prepare(
        self, pixels: torch.Tensor, labels: torch.Tensor, positions: torch.Tensor, epoch: int, batch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The readable images of global batch `batch` that this process decodes (at `positions` in the batch),
        on the device, normalised and augmented."""
        pixels = pixels.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        if pixels.dim() == 5:  # several views per image (10-crop): N*V images, N labels; evaluate averages them
            pixels = pixels.flatten(0, 1)
        inputs = self._normalize(pixels)
        if self._augmentation.active:
            rng = generator(self.seed, "batch-augment", epoch, batch, device=self.device)
            count = min(self.batch_size, len(self.data) - batch * self.batch_size)
            inputs = self._augmentation(inputs, positions.to(self.device), count, rng)
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return inputs, labels


def sample_statistics(data: FileSet, view: View, workers: int, limit: int, seed: int) -> dict[str, Any]:
    """Pixel statistics of up to `limit` images of `data` (a seeded sample) through `view`, in [0, 1] units:
    per-channel mean and std, the per-pixel mean and the colour covariance (for PCA lighting).

    A sample, not the whole set: on ImageNet a full pass would cost as much as an epoch, while a few hundred
    images pin the channel means to ~0.01.
    """
    chosen = torch.randperm(len(data), generator=generator(seed, "statistics"))[:limit].sort().values
    plan = [
        [(index, 0, 0) for index in range(start, min(start + 64, len(chosen)))] for start in range(0, len(chosen), 64)
    ]
    loader = DataLoader(
        _Decoded(data.subset(chosen), view, seed, random=False),
        batch_sampler=plan,
        num_workers=workers,
        collate_fn=_collate,
        generator=generator(seed, "loader", "statistics"),
    )
    channels = data.image_shape[0]
    pixel_sum = torch.zeros(data.image_shape, dtype=torch.float64)
    outer = torch.zeros(channels, channels, dtype=torch.float64)
    images = 0
    for pixels, _, _, _ in loader:
        if pixels is None:
            continue
        values = pixels.to(torch.float64) / 255.0
        pixel_sum += values.sum(0)
        flat = values.transpose(0, 1).reshape(channels, -1)
        outer += flat @ flat.T
        images += values.shape[0]
    if images == 0:
        raise UserInputError(f"none of {len(chosen)} sampled files could be read as images; check data.path")
    pixel_mean = pixel_sum / images
    mean = pixel_mean.mean((1, 2))
    covariance = outer / (images * pixel_mean[0].numel()) - torch.outer(mean, mean)
    std = covariance.diagonal().clamp(min=0).sqrt()
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    return {"mean": mean, "std": std, "pixel_mean": pixel_mean.to(torch.float32), "covariance": covariance}
