"""Running an experiment: a list of ordinary training runs in one folder, each finished, continued or started.

Run again after an interruption, the same command skips the finished runs, resumes the one that was cut off from its
last checkpoint and starts the rest: an experiment continues where it stopped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resnetlab.engine.config import load_config
from resnetlab.engine.run_dir import LAST_CHECKPOINT, TEST_METRICS, read_metrics
from resnetlab.engine.train import resume, train
from resnetlab.errors import UserInputError
from resnetlab.experiments.budget import Budget, recipe

RECORD = "experiment.json"


@dataclass(frozen=True)
class PlannedRun:
    label: str  # unique in the experiment and a folder name, e.g. "plain-20"
    model: str  # registered model name
    group: str  # what the figures and tables group by, e.g. "plain" or "ResNet"
    depth: int
    overrides: tuple[str, ...] = ()  # config overrides of this run only, e.g. ("model.options.shortcut=B",)


@dataclass(frozen=True)
class FinishedRun:
    planned: PlannedRun
    seed: int
    run_dir: Path
    test: dict[str, Any]  # test_metrics.json
    records: list[dict[str, Any]] = field(repr=False)  # metrics.jsonl

    def final_train_error(self) -> float:
        """The training error of the last logged window (the paper's way: on the augmented training batches)."""
        steps = [r for r in self.records if r.get("kind") == "iteration"]
        return float(steps[-1]["train_error"]) if steps else float("nan")

    @property
    def test_error(self) -> float:
        return 1.0 - float(self.test["top1"])


def run_experiment(
    name: str,
    planned: list[PlannedRun],
    *,
    budget: Budget,
    data: str | None,
    out: Path,
    seeds: int,
    show_progress: bool = False,
) -> list[FinishedRun]:
    """Every planned run for seeds 0..seeds-1 under `out`, in order; returns them all, finished."""
    shared = recipe(budget, data)
    _claim(out, {"experiment": name, "budget": budget, "data": data and str(Path(data).resolve())})
    finished = []
    for run in planned:
        for seed in range(seeds):
            run_dir = out / f"{run.label}-seed{seed}"
            if not (run_dir / TEST_METRICS).exists():
                if (run_dir / LAST_CHECKPOINT).exists():
                    resume(run_dir, show_progress=show_progress)
                else:  # never started, or killed before its first checkpoint: start it (anything there is kept aside)
                    overrides = [*shared, f"model.name={run.model}", f"runtime.seed={seed}", *run.overrides]
                    config = load_config(None, overrides)
                    train(config, out=run_dir, force=run_dir.exists(), show_progress=show_progress)
            test = json.loads((run_dir / TEST_METRICS).read_text())
            finished.append(FinishedRun(run, seed, run_dir, test, read_metrics(run_dir)))
    return finished


def _claim(out: Path, identity: dict[str, Any]) -> None:
    """Record what the folder holds; refuse to mix another experiment, budget or dataset into it."""
    record = out / RECORD
    if record.exists():
        held = json.loads(record.read_text())
        if held != identity:
            differs = ", ".join(f"{k} {held.get(k)!r} (not {v!r})" for k, v in identity.items() if held.get(k) != v)
            raise UserInputError(
                f"{out} holds another experiment: {differs}; choose another --out, or repeat that one's settings"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(identity, indent=2) + "\n")
