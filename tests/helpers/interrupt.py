"""Interrupting a training run at a chosen step, as Ctrl-C or `kill` would."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import torch


@contextlib.contextmanager
def _at_step(step: int, act: Callable[[], None]) -> Iterator[None]:
    """Run `act` as optimizer step `step` (1-based) begins."""
    calls = {"n": 0}
    original_step = torch.optim.SGD.step

    def step_with_act(self: torch.optim.SGD, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == step:
            act()
        return original_step(self, *args, **kwargs)

    torch.optim.SGD.step = step_with_act  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.optim.SGD.step = original_step  # type: ignore[method-assign]


def ctrl_c_at_step(step: int) -> contextlib.AbstractContextManager[None]:
    """Ctrl-C arrives during optimizer step `step` (1-based): the steps before it ran, that one did not."""

    def interrupt() -> None:
        raise KeyboardInterrupt

    return _at_step(step, interrupt)


def signal_at_step(step: int, signum: int) -> contextlib.AbstractContextManager[None]:
    """`signum` is delivered to this process during optimizer step `step` (1-based), as `kill -TERM` would; the step
    itself completes."""
    return _at_step(step, lambda: os.kill(os.getpid(), signum))
