"""The training loop's running state, and what checkpoints carry of it (runs/checkpoint.py's `LoopState`): where the
loop stands, the loss and error sums, the random generators; and the run's batches from where it stands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from resnetlab.data import BatchStream, FileStream
from resnetlab.runs.checkpoint import LoopState, RngState, Totals
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

    def state(self) -> Totals:
        return Totals(self.loss.item(), int(self.errors.item()), self.count)

    def load(self, state: Totals) -> None:
        self.loss.fill_(state.loss)
        self.errors.fill_(state.errors)
        self.count = state.count


def rng_state() -> RngState:
    # Shortcut dropout draws from the CUDA generator where there is one.
    return RngState(torch.get_rng_state(), torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None)


def restore_rng(state: RngState) -> None:
    torch.set_rng_state(state.cpu)
    if state.cuda is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state.cuda)


@dataclass(eq=False)
class Position:
    """Where the loop stands and what it has counted: the next batch to run, [R1]'s ResNet-110 warm-up, the best
    evaluation so far, and the training statistics per log window and per epoch. `saved()` is what checkpoints carry,
    so that a resumed run logs and decides as the uninterrupted one would."""

    epoch: int  # the epoch of the next batch
    batch: int  # the next batch's index within that epoch
    iteration: int  # steps taken
    warming_up: bool
    best_top1: float
    window: RunningSums
    epoch_sums: RunningSums
    # Every loss so far was finite, kept on the device and read only where the processes agree on it (`check_finite`
    # in loop.py). Not saved: a checkpoint is written only while it holds.
    finite: torch.Tensor

    @classmethod
    def start(cls, device: torch.device, *, warming_up: bool) -> Position:
        finite = torch.ones((), dtype=torch.bool, device=device)
        return cls(0, 0, 0, warming_up, -1.0, RunningSums(device), RunningSums(device), finite)

    @classmethod
    def resumed(cls, state: LoopState, device: torch.device) -> Position:
        position = cls.start(device, warming_up=state.warming_up)
        position.epoch, position.batch, position.iteration = state.epoch, state.batch, state.iteration
        position.best_top1 = state.best_top1
        position.window.load(state.window)
        position.epoch_sums.load(state.epoch_sums)
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

    def saved(self) -> LoopState:
        """The state to checkpoint (the random generators' too, as they are now)."""
        return LoopState(
            epoch=self.epoch,
            batch=self.batch,
            iteration=self.iteration,
            warming_up=self.warming_up,
            best_top1=self.best_top1,
            window=self.window.state(),
            epoch_sums=self.epoch_sums.state(),
            rng=rng_state(),
        )


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
