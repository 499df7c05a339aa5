"""The training recipe of the CIFAR experiments at each budget.

paper: [R1] Sec. 4.2 as written (batch 128, SGD momentum 0.9, weight decay 1e-4, LR 0.1 divided by 10 at 32k and 48k
iterations, 64k in all; pad-4 crop and flip; per-pixel mean). quick: the same recipe over 1,500 iterations (about 4
epochs) with the LR steps at the same fractions (50% and 75%), sized so that an experiment of eight CIFAR nets fits
about an hour on 2 cores; the phenomena of [R1] Fig. 6 show from the first epochs on. smoke: the embedded digits, a
few iterations: proves the wiring in seconds, shows nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from resnetlab.data import guess_dataset
from resnetlab.errors import UserInputError

Budget = Literal["smoke", "quick", "paper"]
BUDGETS: tuple[Budget, ...] = ("smoke", "quick", "paper")

_ITERATIONS = {"smoke": 6, "quick": 1500, "paper": 64000}


def iterations(budget: Budget) -> int:
    return _ITERATIONS[budget]


def recipe(budget: Budget, data: str | None) -> list[str]:
    """Config overrides (`key=value`) of the shared recipe; the experiment adds the model and the seed."""
    length = _ITERATIONS[budget]
    schedule = [
        "schedule.kind=multistep",
        "schedule.unit=iteration",
        f"schedule.length={length}",
        f"schedule.milestones=[{length // 2}, {length * 3 // 4}]",
        "schedule.gamma=0.1",
        "optim.lr=0.1",
        "optim.momentum=0.9",
        "optim.weight_decay=0.0001",
    ]
    if budget == "smoke":
        digits = ["data.dataset=digits", "data.batch_size=32"]
        return [*schedule, *digits, "runtime.log_every=2", "runtime.checkpoint_every=2"]
    if data is None:
        raise UserInputError(f"the {budget} budget trains on CIFAR-10: give its path with --data")
    if not Path(data).exists():
        raise UserInputError(f"data path {data} does not exist; give CIFAR-10's pickle folder or class-per-folder tree")
    absolute = Path(data).resolve()
    return [
        *schedule,
        f"data.path={absolute}",
        f"data.dataset={guess_dataset(absolute)}",
        "data.augment=cifar",
        "data.normalize=pixel_mean",
        "data.batch_size=128",
        f"runtime.log_every={25 if budget == 'quick' else 100}",
        "runtime.checkpoint_every=200",  # an interrupted run loses at most 200 iterations
    ]
