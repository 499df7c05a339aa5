"""`BatchStream`: an image set as shuffled, augmented, normalised batches on the training device.

No DataLoader and no worker processes: the whole set is already a uint8 tensor in memory, so a batch is one
indexing on the host, one copy of uint8 (a quarter of float32's bytes) to the device, and a few batched tensor
operations there. Every random choice comes from a generator seeded by (seed, epoch) or (seed, epoch, batch), so a
run resumed at any batch sees exactly the batches the uninterrupted run would have.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Literal

import torch
import torch.nn.functional as F

from resnetlab.data.imageset import ImageSet, generator
from resnetlab.data.shard import Shard, check_batches_shard, check_shard, shard_rows
from resnetlab.data.transforms import BatchAugmentation, normalization
from resnetlab.errors import UserInputError


class BatchStream:
    """Batches of one ImageSet, normalised on the target device; exactly reproducible from (seed, epoch, batch)."""

    def __init__(
        self,
        data: ImageSet,
        batch_size: int,
        *,
        train: bool,
        augment: Literal["none", "cifar"],
        normalize: Literal["channel", "pixel_mean"],
        mean: tuple[float, ...],
        std: tuple[float, ...],
        pixel_mean: torch.Tensor,
        seed: int,
        device: torch.device,
        channels_last: bool = False,
        mirrored: bool = False,
        translated: bool = False,
        cutout: int = 0,
        shard: Shard = (0, 1),
    ) -> None:
        if batch_size < 1:
            raise UserInputError(f"batch size must be >= 1, got {batch_size}")
        if augment not in ("none", "cifar"):
            raise UserInputError(f"data.augment must be none or cifar, got {augment!r}")
        self.data = data
        self.batch_size = batch_size
        self.train = train
        # Evaluation sees the images as they are: augmentation is for training only ([R1] Sec. 4.2 evaluates
        # "the single view of the original 32x32 image").
        self.augment = train and augment == "cifar"
        self.cutout = cutout if train else 0
        self.seed = seed
        self.device = device
        self.channels_last = channels_last
        # Evaluation with flip test-time augmentation: each image followed by its mirror (2N images for N labels).
        self.mirrored = mirrored and not train
        # ... and, translated too, the image and its mirror shifted a pixel up-left and down-right: 6N images.
        self.translated = translated and self.mirrored
        # Data-parallel training: this process's block of every global batch (see resnetlab.data.shard).
        self.shard = check_shard(shard)
        if train:
            check_batches_shard(len(data), batch_size, shard)
        # [R1] does not say whether padding comes before or after normalising. Padding after it, as fb.resnet.torch
        # (the reference Torch reproduction of [R1]'s CIFAR results) does, makes the zero border the mean colour;
        # padding raw pixels would add a black one.
        self._augmentation = BatchAugmentation(crop_flip=self.augment, cutout=self.cutout)
        self._normalize = normalization(normalize, mean, std, pixel_mean, tuple(data.images.shape[1:]), device)
        # Pinned host memory lets the copy to a GPU run asynchronously; pointless (and unavailable) on CPU.
        self._pin = device.type == "cuda"

    def __len__(self) -> int:
        # The last partial batch counts: 50,000 / 128 -> 391 iterations per epoch ([R1]'s 64k iterations: ~164 epochs).
        return math.ceil(len(self.data) / self.batch_size)

    def epoch(self, epoch: int, start_batch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(images float32 N x C x H x W, labels int64 N) on the device, from batch `start_batch` of `epoch` on."""
        if not 0 <= start_batch <= len(self):
            raise ValueError(f"start_batch must be in [0, {len(self)}], got {start_batch}")
        return self._batches(epoch, start_batch)

    def _batches(self, epoch: int, start_batch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        images, labels = self.data.images, self.data.labels
        # The permutation depends on (seed, epoch) only, so batch b is the same slice of it however the epoch began.
        order = torch.randperm(len(self.data), generator=generator(self.seed, "shuffle", epoch)) if self.train else None
        for batch in range(start_batch, len(self)):
            start, stop = batch * self.batch_size, min((batch + 1) * self.batch_size, len(self.data))
            rows = shard_rows(stop - start, self.shard)  # all of them in one process
            start, stop = start + rows.start, start + rows.stop
            if order is None and not self._pin:  # a view of the set: no copy at all
                yield self._prepare(images[start:stop], labels[start:stop], rows, epoch, batch)
                continue
            chosen = torch.arange(start, stop) if order is None else order[start:stop]
            yield self._prepare(self._gather(images, chosen), self._gather(labels, chosen), rows, epoch, batch)

    def _gather(self, values: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        """values[chosen] as one host copy, straight into pinned memory when the batch goes to a GPU."""
        if not self._pin:
            return values[chosen]
        out = torch.empty((len(chosen), *values.shape[1:]), dtype=values.dtype, pin_memory=True)
        return torch.index_select(values, 0, chosen, out=out)

    def _prepare(
        self, images: torch.Tensor, labels: torch.Tensor, rows: slice, epoch: int, batch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows `rows` of global batch `batch`, on the device, normalised and augmented."""
        images = images.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        inputs = self._normalize(images)
        if self._augmentation.active:
            rng = generator(self.seed, "augment", epoch, batch, device=self.device)
            count = min(self.batch_size, len(self.data) - batch * self.batch_size)
            inputs = self._augmentation(inputs, rows, count, rng)
        if self.mirrored:
            views = [inputs, *translations(inputs)] if self.translated else [inputs]
            inputs = torch.stack([v for view in views for v in (view, view.flip(-1))], dim=1).flatten(0, 1)
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return inputs, labels


def translations(images: torch.Tensor) -> list[torch.Tensor]:
    """`images` shifted one pixel up-left and one down-right, the border reflected: the translated test views of
    airbench (Jordan 2024), which trains with pad-and-crop translations like [R1]'s."""
    height, width = images.shape[-2:]
    padded = F.pad(images, (1, 1, 1, 1), mode="reflect")
    return [padded[..., :height, :width], padded[..., 2:, 2:]]
