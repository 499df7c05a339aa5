"""Interrupting a training run at a chosen step, as Ctrl-C would."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def ctrl_c_at_step(step: int) -> Iterator[None]:
    """Ctrl-C arrives during optimizer step `step` (1-based): the steps before it ran, that one did not."""
    calls = {"n": 0}
    original_step = torch.optim.SGD.step

    def step_then_stop(self: torch.optim.SGD, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == step:
            raise KeyboardInterrupt
        return original_step(self, *args, **kwargs)

    torch.optim.SGD.step = step_then_stop  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.optim.SGD.step = original_step  # type: ignore[method-assign]


@contextlib.contextmanager
def signal_at_step(step: int, signum: int) -> Iterator[None]:
    """`signum` is delivered to this process during optimizer step `step` (1-based), as `kill -TERM` would; the step
    itself completes."""
    calls = {"n": 0}
    original_step = torch.optim.SGD.step

    def step_and_signal(self: torch.optim.SGD, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == step:
            os.kill(os.getpid(), signum)
        return original_step(self, *args, **kwargs)

    torch.optim.SGD.step = step_and_signal  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.optim.SGD.step = original_step  # type: ignore[method-assign]
