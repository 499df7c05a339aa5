"""The papers' experiments as commands: each plans ordinary training runs, runs them (resumably) and writes its
figures, tables and summary.md beside them. `resnetlab experiment NAME --budget smoke|quick|paper`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Protocol, cast

from resnetlab.data import guess_dataset
from resnetlab.errors import UserInputError
from resnetlab.experiments import degradation, depth, gradients, identity_mappings, responses, shortcuts
from resnetlab.experiments.budget import BUDGETS, Budget
from resnetlab.experiments.runner import FinishedRun, PlannedRun, run_experiment
from resnetlab.experiments.summary import Context, write_results
from resnetlab.report import build_report

__all__ = ["BUDGETS", "EXPERIMENTS", "Budget", "run"]


class Experiment(Protocol):
    TITLE: str

    def plan(self, budget: Budget) -> list[PlannedRun]: ...

    def summarize(self, context: Context, finished: Sequence[FinishedRun]) -> str: ...


EXPERIMENTS: dict[str, ModuleType] = {
    "degradation": degradation,
    "depth": depth,
    "gradients": gradients,
    "identity-mappings": identity_mappings,
    "responses": responses,
    "shortcuts": shortcuts,
}


def run(
    name: str,
    *,
    budget: Budget,
    data: str | None,
    out: Path,
    seeds: int = 1,
    command: str = "",
    show_progress: bool = False,
    announce: Callable[[str], None] = lambda _line: None,
) -> Path:
    """Run (or continue) experiment `name` in `out`; returns the path of its summary.md (report.html beside it)."""
    if name not in EXPERIMENTS:
        raise UserInputError(f"unknown experiment {name!r}; one of: {', '.join(sorted(EXPERIMENTS))}")
    experiment = cast(Experiment, EXPERIMENTS[name])
    planned = experiment.plan(budget)
    finished = run_experiment(
        name, planned, budget=budget, data=data, out=out, seeds=seeds, show_progress=show_progress, announce=announce
    )
    context = Context(
        name,
        experiment.TITLE,
        budget,
        data,
        seeds,
        command or f"resnetlab experiment {name}",
        out,
        jpeg_copy=data is not None and guess_dataset(Path(data)) == "folder",
        diverged=tuple(run.run_dir.name for run in finished if run.diverged is not None),
    )
    write_results(context, finished)
    summary = out / "summary.md"
    summary.write_text(experiment.summarize(context, finished))
    build_report([out], out / "report.html", title=experiment.TITLE)
    return summary
