"""The training recipe of the CIFAR experiments at each budget.

paper: [R1] Sec. 4.2 (batch 128, SGD momentum 0.9, weight decay 1e-4, LR 0.1 divided by 10 at 32k and 48k
iterations, 64k in all; pad-4 crop and flip; per-pixel mean; the 0.01 warm-up for 110 layers and more), in bf16 where
the hardware computes it natively, as every resnetlab run (`runtime.precision` is recorded in each run's config).
standard: [R1]'s data, augmentation, batch and networks, with a schedule made for a short run: one-cycle (LR up from
0.008 to 0.2 over the first 30% of the iterations, then linearly down to 0), Nesterov momentum and weight decay 5e-4.
A multistep schedule compressed to a few epochs spends most of them at the high LR and stops before the low-LR phase
has converged; a one-cycle run anneals all the way to 0 and so ends nearer convergence for the same iterations
(Smith & Topin 2019). Its length is the smallest of the candidates measured by `scripts/choose_standard_budget.py`
at which ResNet-56 beats ResNet-20 on test error beyond the noise rule (`resnetlab.experiments.verdict`); the
experiment pages give the measurement.
quick: [R1]'s recipe over 1,500 iterations (about 4 epochs) with the LR steps at the same fractions (50% and 75%),
sized so that an experiment of eight CIFAR nets up to 56 layers fits about an hour on 2 cores. One addition: a linear
LR warm-up over the first 100 iterations, for every net: started at LR 0.1, ResNet-56 blows up in its first iterations
and spends hundreds of them near chance; 64k iterations absorb that, 1,500 do not, and the comparison across depths
would measure the blow-up instead of the depth (the degradation page shows the run without it).
smoke: the embedded digits, a few iterations: proves the wiring in seconds, shows nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from resnetlab.data import guess_dataset
from resnetlab.errors import UserInputError

Budget = Literal["smoke", "quick", "standard", "paper"]
BUDGETS: tuple[Budget, ...] = ("smoke", "quick", "standard", "paper")

CIFAR_ITERATIONS_PER_EPOCH = 391  # 50,000 training images in batches of 128, the last one short
STANDARD_EPOCHS = 12
_ITERATIONS = {"smoke": 6, "quick": 1500, "standard": STANDARD_EPOCHS * CIFAR_ITERATIONS_PER_EPOCH, "paper": 64000}
QUICK_WARMUP_ITERATIONS = 100
_LOG_EVERY = {"quick": 25, "standard": 50}  # iterations per logged window: enough points for the curves


def iterations(budget: Budget) -> int:
    return _ITERATIONS[budget]


def warm_up(depth: int) -> tuple[str, ...]:
    """[R1] Sec. 4.2: ResNet-110 (and deeper) starts at LR 0.01 until the training error is below 80%, because 0.1
    is too large for it to start converging; then the recipe's LR."""
    return ("schedule.warmup_lr=0.01", "schedule.warmup_until_error=0.8") if depth >= 110 else ()


def _schedule(budget: Budget, length: int) -> list[str]:
    if budget == "standard":
        return [
            "schedule.kind=onecycle",
            "schedule.unit=iteration",
            f"schedule.length={length}",
            "schedule.milestones=[]",
            "optim.lr=0.2",
            "optim.momentum=0.9",
            "optim.nesterov=true",
            "optim.weight_decay=0.0005",
        ]
    return [
        "schedule.kind=multistep",
        "schedule.unit=iteration",
        f"schedule.length={length}",
        f"schedule.milestones=[{length // 2}, {length * 3 // 4}]",
        "schedule.gamma=0.1",
        "optim.lr=0.1",
        "optim.momentum=0.9",
        "optim.weight_decay=0.0001",
    ]


def recipe(budget: Budget, data: str | None, *, length: int | None = None) -> list[str]:
    """Config overrides (`key=value`) of the shared recipe; the experiment adds the model and the seed. `length`
    replaces the budget's iterations (the standard budget's length search measures candidates this way)."""
    schedule = _schedule(budget, length or _ITERATIONS[budget])
    if budget == "smoke":
        if data is not None:
            raise UserInputError("the smoke budget trains on the embedded digits; drop --data (or use --budget quick)")
        digits = ["data.dataset=digits", "data.batch_size=32"]
        return [*schedule, *digits, "runtime.log_every=2", "runtime.checkpoint_every=2"]
    if data is None:
        raise UserInputError(f"the {budget} budget trains on CIFAR-10: give its path with --data")
    if not Path(data).exists():
        raise UserInputError(f"data path {data} does not exist; give CIFAR-10's pickle folder or class-per-folder tree")
    absolute = Path(data).resolve()
    dataset = guess_dataset(absolute)
    if dataset == "cifar100":
        raise UserInputError(f"{data} holds CIFAR-100; the experiments compare with the papers' CIFAR-10 numbers")
    shortened = [f"schedule.warmup={QUICK_WARMUP_ITERATIONS}"] if budget == "quick" else []
    return [
        *schedule,
        *shortened,
        f"data.path={json.dumps(str(absolute))}",  # quoted: a path may hold YAML's special characters
        f"data.dataset={dataset}",
        "data.augment=cifar",
        "data.normalize=pixel_mean",
        "data.batch_size=128",
        f"runtime.log_every={_LOG_EVERY.get(budget, 100)}",
        "runtime.checkpoint_every=200",  # an interrupted run loses at most 200 iterations
    ]
