"""Learning rate as a pure function of the iteration: nothing to save, so a resumed run gets the same LR."""

from __future__ import annotations

import math

from resnetlab.config import ScheduleConfig


def total_iterations(schedule: ScheduleConfig, iterations_per_epoch: int) -> int:
    return schedule.length * (iterations_per_epoch if schedule.unit == "epoch" else 1)


def learning_rate(
    schedule: ScheduleConfig, base_lr: float, iteration: int, iterations_per_epoch: int, *, warming_up: bool = False
) -> float:
    """The LR for 0-based `iteration`; `warming_up` holds [R1]'s constant warm-up LR (ResNet-110, Sec. 4.2)."""
    if warming_up and schedule.warmup_lr is not None:
        return schedule.warmup_lr
    scale = iterations_per_epoch if schedule.unit == "epoch" else 1
    total = schedule.length * scale
    warmup = schedule.warmup * scale
    if iteration < warmup:
        return base_lr * (iteration + 1) / warmup
    if schedule.kind == "constant":
        return base_lr
    if schedule.kind == "multistep":
        passed = sum(iteration >= m * scale for m in schedule.milestones)
        return base_lr * schedule.gamma**passed
    progress = min(1.0, (iteration - warmup) / max(1, total - warmup))
    if schedule.kind == "cosine":
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    # One-cycle (Smith & Topin 2019), linear form: up from base_lr/25 to base_lr over the first 30%, then down to 0.
    # With a warm-up the rise is the warm-up, and what is left decays linearly.
    if warmup == 0 and progress < 0.3:
        return base_lr * (0.04 + 0.96 * progress / 0.3)
    start = 0.0 if warmup else 0.3
    return base_lr * max(0.0, 1.0 - (progress - start) / (1.0 - start))
