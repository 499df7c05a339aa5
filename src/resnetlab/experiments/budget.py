"""The training recipe of the CIFAR experiments at each budget: a shipped recipe (`resnetlab recipes`), then the
budget's length, its data and how often a run logs and checkpoints.

paper: the recipe cifar10/resnet20, [R1] Sec. 4.2 (batch 128, SGD momentum 0.9, weight decay 1e-4, LR 0.1 divided by
10 at 32k and 48k iterations, 64k in all; pad-4 crop and flip; per-pixel mean; the 0.01 warm-up for 110 layers and
more), in bf16 where the hardware computes it natively, as every resnetlab run (`runtime.precision` is recorded in
each run's config).
standard: the recipe cifar10/resnet20_standard: [R1]'s data, augmentation, batch and networks, with a schedule made for
a short run: one-cycle (LR up from 0.008 to 0.2 over the first 30% of the iterations, then linearly down to 0),
Nesterov momentum and weight decay 5e-4. A multistep schedule compressed to a few epochs spends most of them at the
high LR and stops before the low-LR phase has converged; a one-cycle run anneals all the way to 0 and so ends nearer
convergence for the same iterations (Smith & Topin 2019). Its length is the smallest of the candidates measured by
`experiments/budget_search.py` at which ResNet-56 beats ResNet-20 on test error beyond the noise rule
(`resnetlab.experiments.verdict`); the experiment pages give the measurement.
quick: [R1]'s recipe (cifar10/resnet20) over 1,500 iterations (about 4 epochs) with the LR steps at the same fractions
(50% and 75%), sized so that an experiment of eight CIFAR nets up to 56 layers fits about an hour on 2 cores. One
addition: a linear LR warm-up over the first 100 iterations, for every net: started at LR 0.1, ResNet-56 blows up in
its first iterations and spends hundreds of them near chance; 64k iterations absorb that, 1,500 do not, and the
comparison across depths would measure the blow-up instead of the depth (the degradation page shows the run without
it).
smoke: [R1]'s recipe on the embedded digits (batch 32) for a few iterations: proves the wiring in seconds, shows
nothing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal, get_args

from resnetlab.config import DataConfig, ScheduleConfig, TrainConfig, load_recipe, validate
from resnetlab.data import guess_dataset
from resnetlab.errors import UserInputError

Budget = Literal["smoke", "quick", "standard", "paper"]
BUDGETS: tuple[Budget, ...] = get_args(Budget)

RECIPES: dict[Budget, str] = {  # where each budget starts: a shipped recipe (src/resnetlab/recipes/)
    "smoke": "cifar10/resnet20",  # on the embedded digits instead (below)
    "quick": "cifar10/resnet20",
    "standard": "cifar10/resnet20_standard",
    "paper": "cifar10/resnet20",
}
CIFAR_ITERATIONS_PER_EPOCH = 391  # 50,000 training images in batches of 128, the last one short
_SHORTENED = {"smoke": 6, "quick": 1500}  # iterations; standard and paper train as long as their recipe says
QUICK_WARMUP_ITERATIONS = 100
_LOG_EVERY = {"smoke": 2, "quick": 25, "standard": 50, "paper": 100}  # iterations per logged window: enough points
_CHECKPOINT_EVERY = {"smoke": 2, "quick": 200, "standard": 200, "paper": 200}  # a cut-off run loses at most these


def iterations(budget: Budget) -> int:
    return _SHORTENED.get(budget) or load_recipe(RECIPES[budget]).schedule.length


def warm_up(depth: int) -> bool:
    """Whether a network of `depth` layers needs [R1] Sec. 4.2's warm-up (`warmed_up`): ResNet-110 and deeper."""
    return depth >= 110


def warmed_up(schedule: ScheduleConfig) -> ScheduleConfig:
    """[R1] Sec. 4.2: ResNet-110 starts at LR 0.01 until the training error is below 80%, because 0.1 is too large
    for it to start converging; then the recipe's LR."""
    return dataclasses.replace(schedule, warmup_lr=0.01, warmup_until_error=0.8)


def recipe(budget: Budget, data: str | None, *, length: int | None = None) -> TrainConfig:
    """The config every run of an experiment at `budget` shares; the experiment adds the model and the seed. `length`
    replaces the budget's iterations (the standard budget's length search measures candidates this way)."""
    start = load_recipe(RECIPES[budget])
    schedule = _shortened(start.schedule, length or _SHORTENED.get(budget) or start.schedule.length)
    if budget == "quick":
        schedule = dataclasses.replace(schedule, warmup=QUICK_WARMUP_ITERATIONS)
    config = dataclasses.replace(
        start,
        data=_data(budget, data, start.data),
        schedule=schedule,
        runtime=dataclasses.replace(
            start.runtime, log_every=_LOG_EVERY[budget], checkpoint_every=_CHECKPOINT_EVERY[budget]
        ),
    )
    validate(config)
    return config


def _shortened(schedule: ScheduleConfig, length: int) -> ScheduleConfig:
    """The recipe's schedule over `length` iterations, its LR steps at the same fractions of the run."""
    milestones = [step * length // schedule.length for step in schedule.milestones]
    return dataclasses.replace(schedule, unit="iteration", length=length, milestones=milestones)


def _data(budget: Budget, data: str | None, recipe_data: DataConfig) -> DataConfig:
    """The embedded digits for smoke; else the recipe's data section on CIFAR-10 at `data` (made absolute), checked
    here so that a wrong --data is one line before anything runs."""
    if budget == "smoke":
        if data is not None:
            raise UserInputError("the smoke budget trains on the embedded digits; drop --data (or use --budget quick)")
        return DataConfig(dataset="digits", batch_size=32)
    if data is None:
        raise UserInputError(f"the {budget} budget trains on CIFAR-10: give its path with --data")
    if not Path(data).exists():
        raise UserInputError(f"data path {data} does not exist; give CIFAR-10's pickle folder or class-per-folder tree")
    absolute = Path(data).resolve()
    dataset = guess_dataset(absolute)
    if dataset == "cifar100":
        raise UserInputError(f"{data} holds CIFAR-100; the experiments compare with the papers' CIFAR-10 numbers")
    return dataclasses.replace(recipe_data, path=str(absolute), dataset=dataset)
