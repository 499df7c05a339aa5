"""How a run stops early, each way as a one-line error that says what to do next.

- A polite stop: SIGTERM (a scheduler's preemption, `kill PID`) or Ctrl-C asks the training loop to finish the step
  it is in, write a checkpoint and exit; a second Ctrl-C stops at once.
- Divergence: a NaN or infinite loss stops every process, and the last good checkpoint is kept.
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TypeVar

from resnetlab.errors import UserInputError
from resnetlab.runs.run_dir import LAST_CHECKPOINT
from resnetlab.runtime.distributed import Parallel
from resnetlab.train.running import Position

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
Result = TypeVar("Result")


class TrainingDivergedError(UserInputError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterruptedError(UserInputError):
    """Ctrl-C or SIGTERM: the run stops; its last checkpoint is where `--resume` continues."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # the shell's 128 + signal number: 130 for SIGINT, 143 for SIGTERM


class StopRequest:
    def __init__(self) -> None:
        self.signal_name: str | None = None  # the signal that asked, once one has

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # asked twice: the user does not want to wait for the step
        self.signal_name = signal.Signals(signum).name


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Route SIGINT and SIGTERM to a `StopRequest` while the block runs (main thread only: Python delivers signals
    there; elsewhere, as under some launchers, the default behaviour stays)."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        signal.signal(sig, request._handle)
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop_requested(stop: StopRequest, parallel: Parallel) -> bool:
    """Whether to stop now, the same answer on every process (a signal may have reached only some of them)."""
    return parallel.any(stop.requested)


def stopped(stop: StopRequest, iteration: int, run_dir: Path) -> TrainingInterruptedError:
    """The error that ends a run stopped by a signal, once its checkpoint is written."""
    number = getattr(signal, stop.signal_name or "SIGINT")
    return TrainingInterruptedError(
        f"stopped by {stop.signal_name} after iteration {iteration}, checkpoint written; continue with "
        f"`resnetlab train --resume {run_dir}`",
        exit_code=128 + int(number),
    )


def check_finite(position: Position, parallel: Parallel, run_dir: Path) -> None:
    """Stop every process if any loss on any of them was NaN or infinite. It costs a host sync (the losses are
    checked lazily, on the device), so the loop calls it once per log window, and before every checkpoint: a good
    checkpoint is never overwritten with NaN weights."""
    if not parallel.any(not bool(position.finite.item())):
        return
    last = run_dir / LAST_CHECKPOINT
    kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint had been written yet"
    raise TrainingDivergedError(
        f"training loss became NaN or infinite by iteration {position.iteration}; {kept} "
        "(try a lower optim.lr or set optim.grad_clip)"
    )


def resumable(run_dir: Path, parallel: Parallel, run: Callable[[StopRequest], Result]) -> Result:
    """`run(stop)` with SIGTERM and Ctrl-C routed to `stop`; a second Ctrl-C (or one before the loop listens) ends the
    run at once, with the way to continue. The process group is closed however the run ends."""
    try:
        with stop_on_signals() as stop:
            return run(stop)
    except KeyboardInterrupt:
        if (run_dir / LAST_CHECKPOINT).exists():
            hint = f"continue from the last checkpoint with `resnetlab train --resume {run_dir}`"
        else:
            hint = f"no checkpoint was written yet; start again with --out {run_dir} --force"
        raise TrainingInterruptedError(f"interrupted; {hint}") from None
    finally:
        if parallel.active:
            _release_frames(sys.exc_info()[1])
        parallel.close()


def _release_frames(error: BaseException | None) -> None:
    """The frames of a run that ended by an exception hold the DDP wrapper in their locals (and the exception holds
    the frames), which would keep it alive past the process group's end; see Parallel.close. Clearing the locals
    leaves what a traceback prints (files, lines, code) as it was."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)
        error = error.__cause__ or error.__context__
