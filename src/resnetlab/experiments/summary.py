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
    jpeg_copy: bool = False  # the data is a class-per-folder JPEG re-encoding, not CIFAR-10's official arrays
    diverged: tuple[str, ...] = ()  # the run folders whose loss diverged

    def header(self) -> str:
        data = self.data or "the embedded digits (smoke budget: proves the wiring, shows nothing)"
        per_seed = "one seed" if self.seeds == 1 else f"tables: the median over {self.seeds} seeds; figures: seed 0"
        lines = [
            f"# {self.title}\n",
            f"- budget: **{self.budget}**, {iterations(self.budget):,} iterations per run; data: {data}; {per_seed}",
            f"- command: `{self.command}`",
        ]
        if self.jpeg_copy:
            lines.append(
                "- the data is a lossy JPEG re-encoding of CIFAR-10 (class-per-folder files), not the official arrays "
                "the papers used: errors can sit a little above theirs for that reason alone"
            )
        if self.diverged:
            lines.append(
                f"- diverged (loss NaN or infinite), counted as failed: {', '.join(self.diverged)}; they read "
                '"diverged" in the tables, rank below every run that finished, and medians are over the other seeds'
            )
        return "\n".join(lines) + "\n"


def median_of(runs: Sequence[FinishedRun], value: Callable[[FinishedRun], float]) -> float:
    """The median over the seeds that did not diverge (NaN), NaN when all did: `statistics.median` would place a NaN
    anywhere in the order, depending on where it sits."""
    finite = [v for v in map(value, runs) if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def lower(error: float, than: float) -> bool:
    """`error` below `than`, a diverged run's NaN counting as the highest error of all (any `<` with NaN is False,
    which would make a diverged run neither better nor worse)."""
    return _diverged_as_worst(error) < _diverged_as_worst(than)


def _diverged_as_worst(error: float) -> float:
    return math.inf if math.isnan(error) else error


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


def falls_with_depth(errors: Sequence[float]) -> bool:
    return all(lower(b, a) for a, b in itertools.pairwise(errors))


def rises_with_depth(errors: Sequence[float]) -> bool:
    return all(lower(a, b) for a, b in itertools.pairwise(errors))


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
