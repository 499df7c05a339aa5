"""The papers' experiments as commands: each plans ordinary training runs, runs them (resumably) and writes its
figures, tables and summary.md beside them. `resnetlab experiment NAME --budget smoke|quick|paper`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast

import resnetlab.files as files
from resnetlab.data import guess_dataset
from resnetlab.errors import UserInputError
from resnetlab.experiments import degradation, depth, gradients, identity_mappings, landscape, responses, shortcuts
from resnetlab.experiments.budget import BUDGETS, Budget
from resnetlab.experiments.runner import FinishedRun, PlannedRun, run_experiment
from resnetlab.experiments.summary import Context, write_results
from resnetlab.report import build_report

__all__ = ["BUDGETS", "EXPERIMENTS", "Budget", "resummarize", "run"]


class Experiment(Protocol):
    """An experiment module. It may also set `OPTIONS` (the names of the options of its own it accepts, passed on
    in `Context.options`; none by default) with `recorded_options(results)` (those options as its results.json
    recorded them), and `TRAINS_TWINS = False` (it measures nets other experiments train, so it refuses to train a
    second copy of one they are still training)."""

    TITLE: str

    def plan(self, budget: Budget) -> list[PlannedRun]: ...

    def summarize(self, context: Context, finished: Sequence[FinishedRun]) -> str: ...


EXPERIMENTS: dict[str, ModuleType] = {
    "degradation": degradation,
    "depth": depth,
    "gradients": gradients,
    "identity-mappings": identity_mappings,
    "landscape": landscape,
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
    first_seed: int = 0,
    runtime: Mapping[str, Any] | None = None,
    command: str = "",
    show_progress: bool = False,
    announce: Callable[[str], None] = lambda _line: None,
    options: Mapping[str, Any] | None = None,
) -> Path:
    """Run (or continue) experiment `name` in `out`; returns the path of its summary.md (report.html beside it).
    `options`: the experiment's own (the landscape's `grid`), where it declares them."""
    if name not in EXPERIMENTS:
        raise UserInputError(f"unknown experiment {name!r}; one of: {', '.join(sorted(EXPERIMENTS))}")
    experiment = cast(Experiment, EXPERIMENTS[name])
    planned = experiment.plan(budget)
    options = dict(options or {})
    if unknown := sorted(set(options) - set(getattr(experiment, "OPTIONS", ()))):
        raise UserInputError(f"the {name} experiment has no option {', '.join(unknown)}; leave it out")
    finished = run_experiment(
        name,
        planned,
        budget=budget,
        data=data,
        out=out,
        seeds=seeds,
        first_seed=first_seed,
        runtime=runtime,
        show_progress=show_progress,
        announce=announce,
        train_twins=getattr(experiment, "TRAINS_TWINS", True),
    )
    context = Context(
        name,
        experiment.TITLE,
        budget,
        data,
        seeds,
        command or f"resnetlab experiment {name}",
        out,
        options=options,
    )
    return _summarize(experiment, context, finished)


def _summarize(experiment: Experiment, context: Context, finished: list[FinishedRun]) -> Path:
    """Write summary.md, results.json and report.html of `finished` in `context.out`; the summary's path."""
    context = dataclasses.replace(
        context,
        jpeg_copy=context.data is not None and guess_dataset(Path(context.data)) == "folder",
        diverged=tuple(run.run_dir.name for run in finished if run.diverged is not None),
        precisions=tuple(run.precision() for run in finished),
    )
    summary = context.out / "summary.md"
    text = experiment.summarize(context, finished)
    files.write_text(summary, text + context.closing())
    write_results(context, finished)  # after the summary, which decided the claims it records
    build_report([context.out], context.out / "report.html", title=experiment.TITLE)
    return summary


def resummarize(folder: Path) -> Path:
    """Summarise an experiment's results folder again from its results.json alone (no run folders, no metrics.jsonl):
    the tables and claims of the current resnetlab, under the current verdict rule; the figures stay as they were.
    What an experiment measured on its trained networks (responses, gradients, the landscape's points) is read from
    what it recorded; where an older resnetlab recorded none, the summary says its claims are taken off."""
    results_file = folder / "results.json"
    if not results_file.is_file():
        raise UserInputError(f"{folder} has no results.json; give a folder that `resnetlab experiment` wrote")
    results = json.loads(results_file.read_text())
    name, budget = results["experiment"], results["budget"]
    experiment = cast(Experiment, EXPERIMENTS[name])
    planned = {run.label: run for run in experiment.plan(budget)}
    data = results["data"]
    counted = _test_images(Path(data)) if data else None
    finished = [_recorded_run(planned, row, folder, counted) for row in results["runs"]]
    options: dict[str, Any] = getattr(experiment, "recorded_options", lambda _results: {})(results)
    context = Context(
        name,
        experiment.TITLE,
        budget,
        data,
        results["seeds"],
        results["command"],
        folder,
        figures=False,
        options=options,
        recorded=results,
        # What the runs measured beyond their own metrics stays recorded (an experiment measuring afresh replaces it).
        measurements={k: v for k, v in results.items() if k not in RESULT_KEYS},
    )
    return _summarize(experiment, context, finished)


# What write_results writes of every experiment; anything else in a results.json is an experiment's own measurement.
RESULT_KEYS = ("experiment", "budget", "data", "seeds", "command", "rule", "claims", "runs")


def _recorded_run(
    planned: Mapping[str, PlannedRun], row: dict[str, Any], folder: Path, counted: int | None
) -> FinishedRun:
    """A run as results.json recorded it (its folder may hold only its config, or nothing)."""
    test = (
        {}
        if row["diverged"]
        else {"top1": 1 - row["test_error"], "top5": row["test_top5"], "count": row.get("test_images") or counted}
    )
    return FinishedRun(
        planned[row["label"]], row["seed"], folder / row["run_dir"], test, [], row["diverged"], recorded=row
    )


def _test_images(data: Path) -> int | None:
    """How many test images a class-per-folder tree holds (results.json of older resnetlab did not record it)."""
    test = data / "test"
    return sum(1 for path in test.rglob("*") if path.is_file()) if test.is_dir() else None
