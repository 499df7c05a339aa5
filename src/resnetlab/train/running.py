"""The training loop's state, live and as checkpoints store it (one set of types: `Position` and its `RunningSums`,
with `to_dict` / `from_dict` in the stored layout): where the loop stands, the loss and error sums, the random
generators; and the run's batches from where it stands."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from resnetlab.data import BatchStream, FileStream
from resnetlab.errors import UserInputError
from resnetlab.runtime.distributed import Parallel


class RunningSums:
    """Running training loss and error on the device: adding costs no host sync, reading costs one."""

    def __init__(self, device: torch.device) -> None:
        self.loss = torch.zeros((), dtype=torch.float64, device=device)
        self.errors = torch.zeros((), dtype=torch.int64, device=device)
        self.count = 0

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.loss += loss.detach().double() * labels.numel()
        self.errors += (logits.detach().argmax(dim=1) != labels).sum()
        self.count += labels.numel()

    def read(self, parallel: Parallel | None = None) -> tuple[float, float, int]:
        """Mean loss, error and count, over every process's share of the batches."""
        if parallel is None or not parallel.active:
            count = max(self.count, 1)
            return self.loss.item() / count, self.errors.item() / count, self.count
        totals = torch.stack(
            [self.loss, self.errors.double(), torch.tensor(float(self.count), device=self.loss.device)]
        )
        loss, errors, count = parallel.sum_(totals).tolist()
        return loss / max(count, 1), errors / max(count, 1), int(count)

    def reset(self) -> None:
        self.loss.zero_()
        self.errors.zero_()
        self.count = 0

    def to_dict(self) -> dict[str, float | int]:
        """As stored: loss summed over samples, misclassified samples, samples."""
        return {"loss": self.loss.item(), "errors": int(self.errors.item()), "count": self.count}

    def load(self, stored: Mapping[str, Any] | None) -> None:
        """The stored sums (None: a version 1 file written before the sums were saved; they start afresh)."""
        if stored is None:
            return
        self.loss.fill_(float(stored["loss"]))
        self.errors.fill_(int(stored["errors"]))
        self.count = int(stored["count"])


def rng_to_dict() -> dict[str, Any]:
    """The random generators' state as stored: the CPU's, and the GPUs' where there are (shortcut dropout draws from
    the CUDA generator)."""
    cpu = torch.get_rng_state()
    return {"torch": cpu, "cuda": torch.cuda.get_rng_state_all()} if torch.cuda.is_available() else {"torch": cpu}


def restore_rng(stored: Mapping[str, Any]) -> None:
    torch.set_rng_state(stored["torch"])
    if stored.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(stored["cuda"]))


@dataclass(eq=False)
class Position:
    """Where the loop stands and what it has counted: the next batch to run, [R1]'s ResNet-110 warm-up, the best
    evaluation so far, and the training statistics per log window and per epoch. A checkpoint stores it
    (`to_dict`), so that a resumed run (`from_dict`) logs and decides as the uninterrupted one would."""

    epoch: int  # the epoch of the next batch
    batch: int  # the next batch's index within that epoch
    iteration: int  # steps taken
    warming_up: bool  # [R1] Sec. 4.2's ResNet-110 warm-up, until training error falls under the threshold
    best_top1: float  # the best evaluation accuracy so far (-1 before the first): when `best.pt` is replaced
    window: RunningSums  # the running sums of the current log window
    epoch_sums: RunningSums  # and of the current epoch
    # Every loss so far was finite, kept on the device and read only where the processes agree on it (`check_finite`
    # in stop.py). Not saved: a checkpoint is written only while it holds.
    finite: torch.Tensor

    @classmethod
    def start(cls, device: torch.device, *, warming_up: bool) -> Position:
        finite = torch.ones((), dtype=torch.bool, device=device)
        return cls(0, 0, 0, warming_up, -1.0, RunningSums(device), RunningSums(device), finite)

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any], device: torch.device, source: str) -> Position:
        """The position a checkpoint stored (its `progress`), on `device`; a malformed one is one clear error."""
        try:
            progress = stored["progress"]
            position = cls.start(device, warming_up=bool(progress["warming_up"]))
            position.epoch, position.batch = int(progress["epoch"]), int(progress["batch"])
            position.iteration, position.best_top1 = int(progress["iteration"]), float(progress["best_top1"])
            position.window.load(progress.get("window"))
            position.epoch_sums.load(progress.get("epoch_sums"))
        except (KeyError, TypeError, ValueError) as error:
            what = f"{type(error).__name__}: {error}"
            raise UserInputError(f"{source} holds a malformed training state ({what})") from None
        return position

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """One step taken on `labels`' batch: counted without a host sync."""
        self.finite &= torch.isfinite(loss)
        self.window.add(loss, logits, labels)
        self.epoch_sums.add(loss, logits, labels)
        self.iteration += 1
        self.batch += 1

    def next_epoch(self) -> None:
        self.epoch += 1
        self.batch = 0

    def to_dict(self) -> dict[str, Any]:
        """The stored `progress` and `rng` entries (the random generators as they are now)."""
        progress = {
            "epoch": self.epoch,
            "batch": self.batch,
            "iteration": self.iteration,
            "warming_up": self.warming_up,
            "best_top1": self.best_top1,
            "window": self.window.to_dict(),
            "epoch_sums": self.epoch_sums.to_dict(),
        }
        return {"progress": progress, "rng": rng_to_dict()}


@dataclass(frozen=True)
class EpochEnd:
    """In `batches_from`, after an epoch's last batch (or the run's last step): the epoch's timing."""

    seconds: float  # wall time from the epoch's start, its steps included
    data_seconds: float  # of which spent waiting for batches


def batches_from(
    stream: BatchStream | FileStream, position: Position, total: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor] | EpochEnd]:
    """The run's (images, labels) batches from where `position` stands up to iteration `total`, and an `EpochEnd`
    after each epoch's last one, `position` moved to the next epoch by then. The loop advances `position` batch by
    batch (`Position.add`) between them; a resumed run starts inside its epoch, at the batch it stopped before."""
    while position.iteration < total:
        started, waited = time.perf_counter(), 0.0
        batches = iter(stream.epoch(position.epoch, start_batch=position.batch))
        while position.iteration < total:
            fetch = time.perf_counter()
            item = next(batches, None)
            waited += time.perf_counter() - fetch
            if item is None:
                break
            yield item
        seconds = time.perf_counter() - started
        position.next_epoch()
        yield EpochEnd(seconds, waited)
