"""What every experiment writes beside its runs: results.json (every run's numbers) and summary.md (tables, figures,
the paper's claims against what was measured, the budget, the data and the command)."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from resnetlab.experiments.budget import Budget, iterations
from resnetlab.experiments.runner import FinishedRun


@dataclass(frozen=True)
class Context:
    name: str
    title: str
    budget: Budget
    data: str | None
    seeds: int
    command: str
    out: Path

    def header(self) -> str:
        data = self.data or "the embedded digits (smoke budget: proves the wiring, shows nothing)"
        per_seed = "one seed" if self.seeds == 1 else f"tables: the median over {self.seeds} seeds; figures: seed 0"
        return (
            f"# {self.title}\n\n"
            f"- budget: **{self.budget}**, {iterations(self.budget):,} iterations per run; data: {data}; {per_seed}\n"
            f"- command: `{self.command}`\n"
        )


def median_of(runs: Sequence[FinishedRun], value: Callable[[FinishedRun], float]) -> float:
    return statistics.median(value(run) for run in runs)


def by_label(finished: Sequence[FinishedRun]) -> dict[str, list[FinishedRun]]:
    """The runs of each planned label (one per seed), in plan order."""
    grouped: dict[str, list[FinishedRun]] = {}
    for run in finished:
        grouped.setdefault(run.planned.label, []).append(run)
    return grouped


def percent(fraction: float) -> str:
    """A diverged run's error is NaN: it reads as such instead of as a number."""
    return "diverged" if math.isnan(fraction) else f"{100 * fraction:.2f}%"


def verdict(shown: bool) -> str:
    return "**shown**" if shown else "**not shown**"


def falls_with_depth(values: Sequence[float]) -> bool:
    return all(b < a for a, b in itertools.pairwise(values))


def rises_with_depth(values: Sequence[float]) -> bool:
    return all(b > a for a, b in itertools.pairwise(values))


def write_results(context: Context, finished: Sequence[FinishedRun]) -> Path:
    rows = [
        {
            "label": run.planned.label,
            "model": run.planned.model,
            "group": run.planned.group,
            "depth": run.planned.depth,
            "seed": run.seed,
            "final_train_error": run.final_train_error(),
            "test_error": run.test_error,
            "test_top5": run.test.get("top5"),
            "diverged": run.diverged,
            "run_dir": run.run_dir.name,
        }
        for run in finished
    ]
    identity = {"experiment": context.name, "budget": context.budget, "data": context.data, "seeds": context.seeds}
    path = context.out / "results.json"
    path.write_text(json.dumps({**identity, "command": context.command, "runs": rows}, indent=2) + "\n")
    return path
