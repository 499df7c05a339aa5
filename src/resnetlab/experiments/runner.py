"""Running an experiment: a list of ordinary training runs in one folder, each finished, continued or started.

Run again after an interruption, the same command skips the finished runs, resumes the one that was cut off from its
last checkpoint and starts the rest: an experiment continues where it stopped. A run whose loss diverged is recorded
as such (some of [R2]'s variants are expected to fail) and the experiment goes on.

Experiments share networks (ResNet-20 at the quick budget is in degradation, depth, responses, gradients and shortcuts):
a run that an experiment folder beside this one has already finished with exactly the same config is copied, not
trained again, and its folder says where it came from.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import resnetlab.files as files
from resnetlab.config import TrainConfig, config_from_dict, config_to_dict
from resnetlab.errors import UserInputError
from resnetlab.experiments.budget import Budget, recipe, warmed_up
from resnetlab.models import create_model
from resnetlab.runs.checkpoint import read_model
from resnetlab.runs.run_dir import CONFIG_FILE, LAST_CHECKPOINT, TEST_METRICS, read_metrics
from resnetlab.train.build import resolved_config
from resnetlab.train.loop import TrainingDivergedError, TrainingInterruptedError, resume, train

RECORD = "experiment.json"
DIVERGED = "diverged.txt"  # written in a run folder whose loss became NaN or infinite: the run counts as failed
COPIED_FROM = "copied_from.txt"  # in a run folder copied from another experiment's identical run: where from


@dataclass(frozen=True)
class PlannedRun:
    label: str  # unique in the experiment and a folder name, e.g. "plain-20"
    model: str  # registered model name
    group: str  # what the figures and tables group by, e.g. "plain" or "ResNet"
    depth: int
    warm_up: bool = False  # [R1] Sec. 4.2's warm-up for ResNet-110 (budget.warmed_up)
    options: tuple[tuple[str, Any], ...] = ()  # model options of this run, e.g. (("shortcut", "B"),)


@dataclass(frozen=True)
class FinishedRun:
    planned: PlannedRun
    seed: int
    run_dir: Path
    test: dict[str, Any]  # test_metrics.json; empty when the run diverged
    records: list[dict[str, Any]] = field(repr=False)  # metrics.jsonl
    diverged: str | None = None  # what happened, when the loss became NaN or infinite
    # Summarised again from results.json alone (no metrics.jsonl, no run folder): the run's row there.
    recorded: dict[str, Any] | None = field(default=None, repr=False)

    def final_train_error(self) -> float:
        """The training error over the last epoch (the paper's way: on the augmented training batches). At the quick
        budget that is iterations 1,174 to 1,500, all after the last LR step: some 42k images, where one logged
        window's 3,200 would carry sampling noise of about a point. The last window when no epoch ended."""
        if self.diverged is not None:
            return math.nan
        if self.recorded is not None:
            return float(self.recorded["final_train_error"])
        for kind in ("epoch", "iteration"):
            records = [r for r in self.records if r.get("kind") == kind]
            if records:
                return float(records[-1]["train_error"])
        return math.nan

    def final_train_images(self) -> int | None:
        """How many training images `final_train_error` counts (the binomial floor of a verdict on it): the last
        epoch's iterations times the batch; None when the run logged no epoch."""
        if self.recorded is not None:
            return self.recorded.get("final_train_images")
        ends = [int(r["iteration"]) for r in self.records if r.get("kind") == "epoch"]
        if not ends or not (self.run_dir / CONFIG_FILE).exists():
            return None
        batch = int(yaml.safe_load((self.run_dir / CONFIG_FILE).read_text())["data"]["batch_size"])
        return (ends[-1] - (ends[-2] if len(ends) > 1 else 0)) * batch

    def parameters(self) -> int:
        """The trained network's parameter count, as built for its data (classes, input channels); from the config
        alone when a diverged run left no checkpoint; from the plan (CIFAR-10's 3 channels and 10 classes) when the
        run folder is not at hand (summarised again from results.json)."""
        if (self.run_dir / LAST_CHECKPOINT).exists():
            record = read_model(self.run_dir / LAST_CHECKPOINT).record
            model = create_model(record.model_name, **record.model_options)
        elif (self.run_dir / CONFIG_FILE).exists():
            saved = config_from_dict(yaml.safe_load((self.run_dir / CONFIG_FILE).read_text())).model
            model = create_model(saved.name, **saved.options)
        else:
            model = create_model(self.planned.model, **dict(self.planned.options))
        return sum(p.numel() for p in model.parameters())

    def precision(self) -> str:
        """The precision the run trained in, as its config.yaml records it (resolved: bf16 or fp32, never auto);
        "unknown" when neither the folder nor the recorded row says."""
        if (self.run_dir / CONFIG_FILE).exists():
            return str(yaml.safe_load((self.run_dir / CONFIG_FILE).read_text())["runtime"]["precision"])
        return str((self.recorded or {}).get("precision", "unknown"))

    @property
    def test_error(self) -> float:
        """NaN for a diverged run: every table shows it as such and no comparison counts it as better."""
        return 1.0 - float(self.test["top1"]) if self.diverged is None else math.nan


def run_experiment(
    name: str,
    planned: list[PlannedRun],
    *,
    budget: Budget,
    data: str | None,
    out: Path,
    seeds: int,
    first_seed: int = 0,
    runtime: Mapping[str, Any] | None = None,
    length: int | None = None,
    show_progress: bool = False,
    announce: Callable[[str], None] = lambda _line: None,
    train_twins: bool = True,
) -> list[FinishedRun]:
    """Every planned run for seeds first_seed..first_seed+seeds-1 under `out`, in order; returns them all, finished
    (or diverged). `runtime`: runtime settings every run takes instead of the recipe's (precision, compile): how a run
    computes, not what it trains. `length` replaces the budget's iteration count (a candidate of the standard
    budget's length search). `train_twins=False`: a run that another experiment beside `out` has started but not
    finished is refused, not trained a second time."""
    shared = recipe(budget, data, length=length)
    shared = dataclasses.replace(shared, runtime=dataclasses.replace(shared.runtime, **dict(runtime or {})))
    _claim(out, {"experiment": name, "budget": budget, "data": shared.data.path})
    finished = []
    for run in planned:
        for seed in range(first_seed, first_seed + seeds):
            run_dir = out / f"{run.label}-seed{seed}"
            config = run_config(shared, run, seed)
            if not train_twins and not run_dir.exists() and _finished_twin(out, config) is None:
                _refuse_unfinished_twin(out, run_dir.name, config)
            diverged = _finish(run_dir, config, show_progress, announce, experiment=name)
            test = {} if diverged else json.loads((run_dir / TEST_METRICS).read_text())
            finished.append(FinishedRun(run, seed, run_dir, test, read_metrics(run_dir), diverged))
    return finished


def run_config(shared: TrainConfig, run: PlannedRun, seed: int) -> TrainConfig:
    """One planned run's config: the budget's recipe with the run's network, its model options, its warm-up and
    the seed; checked, and a config of its own (no list or mapping shared with other runs)."""
    config = dataclasses.replace(
        shared,
        model=dataclasses.replace(shared.model, name=run.model, options={**shared.model.options, **dict(run.options)}),
        schedule=warmed_up(shared.schedule) if run.warm_up else shared.schedule,
        runtime=dataclasses.replace(shared.runtime, seed=seed),
    )
    return config_from_dict(config_to_dict(config))


def _finish(
    run_dir: Path, config: TrainConfig, show_progress: bool, announce: Callable[[str], None], *, experiment: str
) -> str | None:
    """Skip, resume or start one run; the divergence message if its loss diverged (now or before)."""
    if (run_dir / DIVERGED).exists():
        announce(f"{run_dir.name}: diverged before, kept as failed")
        return (run_dir / DIVERGED).read_text().strip()
    if (run_dir / CONFIG_FILE).exists():
        _check_same_run(run_dir, config)
    try:
        if (run_dir / TEST_METRICS).exists():
            announce(f"{run_dir.name}: finished, skipped")
        elif (run_dir / LAST_CHECKPOINT).exists():
            announce(f"{run_dir.name}: resuming from its last checkpoint")
            resume(run_dir, show_progress=show_progress)
        elif not run_dir.exists() and (twin := _finished_twin(run_dir.parent, config)) is not None:
            _copy_run(twin, run_dir)
            announce(f"{run_dir.name}: trained before with the same config in {twin}, copied")
        else:  # never started, or killed before its first checkpoint: start it (anything there is kept aside)
            if not run_dir.exists() and (other := _twin_in_another_precision(run_dir.parent, config)) is not None:
                announce(f"{run_dir.name}: {other}; training it anew")
            announce(f"{run_dir.name}: training")
            train(config, out=run_dir, force=run_dir.exists(), show_progress=show_progress)
    except TrainingDivergedError as error:
        (run_dir / DIVERGED).write_text(f"{error}\n")
        announce(f"{run_dir.name}: diverged ({error}); counted as failed")
        return str(error)
    except TrainingInterruptedError as error:
        raise TrainingInterruptedError(
            f"interrupted in {run_dir}; run the same `resnetlab experiment {experiment}` command again to continue",
            exit_code=error.exit_code,
        ) from None
    return None


def _check_same_run(run_dir: Path, planned: TrainConfig) -> None:
    """A folder is only counted as the planned run if it was trained with the plan's config, every value of it compared
    as the twin check compares (defaults filled in, so a key that a later resnetlab added is not a difference)."""
    try:
        saved = config_from_dict(yaml.safe_load((run_dir / CONFIG_FILE).read_text()))
    except (UserInputError, yaml.YAMLError) as error:
        raise UserInputError(
            f"{run_dir} holds a config this resnetlab cannot read ({error}); move it away (the experiment then trains "
            "it anew) or use another --out"
        ) from None
    difference = _first_difference(config_to_dict(_comparable(saved)), config_to_dict(_comparable(planned)))
    if difference is not None:
        key, was, wanted = difference
        if key == "runtime.precision" and planned.runtime.precision == "auto":
            raise UserInputError(
                f"{run_dir} was trained in {was}, but precision auto means {wanted} on this machine "
                f"({_why_auto(wanted)}); continue it on a machine like the one that started it, or move it away (the "
                "experiment then trains it anew) or use another --out"
            )
        raise UserInputError(
            f"{run_dir} was trained with {key}={was!r}, not the plan's {wanted!r}; move it away (the experiment then "
            "trains it anew) or use another --out"
        )


def _first_difference(saved: dict[str, Any], wanted: dict[str, Any], prefix: str = "") -> tuple[str, Any, Any] | None:
    """The first dotted key whose value differs, with both values; None when the two are equal."""
    for key, value in wanted.items():
        was = saved.get(key)
        if isinstance(value, dict) and isinstance(was, dict):
            inner = _first_difference(was, value, f"{prefix}{key}.")
            if inner is not None:
                return inner
        elif was != value:
            return f"{prefix}{key}", was, value
    return None


def _twins(out: Path, config: TrainConfig) -> Iterator[Path]:
    """The run folders of the other experiment folders beside `out` whose saved config equals `config` in every value
    but where runs go (same network, data, recipe, precision and seed), finished or not."""
    wanted = _comparable(config)
    for saved_config in sorted(out.parent.glob(f"*/*/{CONFIG_FILE}")):
        candidate = saved_config.parent
        if candidate.parent == out or candidate.name.startswith("."):
            continue  # this experiment's own run, or a copy in progress (a dot folder)
        try:
            saved = config_from_dict(yaml.safe_load(saved_config.read_text()))
        except (UserInputError, yaml.YAMLError):
            continue  # a folder of an older resnetlab or a damaged config: not provably the same run
        if _comparable(saved) == wanted:
            yield candidate


def _finished_twin(out: Path, config: TrainConfig) -> Path | None:
    """A finished, not diverged twin of `config` in another experiment folder beside `out` (see `_twins`)."""
    finished = (
        candidate
        for candidate in _twins(out, config)
        if (candidate.parent / RECORD).exists()
        and (candidate / TEST_METRICS).exists()
        and not (candidate / DIVERGED).exists()
    )
    return next(finished, None)


def _twin_in_another_precision(out: Path, config: TrainConfig) -> str | None:
    """Why a finished twin beside `out` is not copied when it differs only in precision: the plan's precision "auto"
    resolves per machine (bf16 where the CPU computes it natively, fp32 elsewhere), so a run trained on one machine is
    not the same run on another. None when there is no such twin."""
    if config.runtime.precision != "auto":
        return None
    here = _comparable(config).runtime.precision
    for other in ("bf16", "fp32", "fp16"):
        if other == here:
            continue
        variant = dataclasses.replace(config, runtime=dataclasses.replace(config.runtime, precision=other))
        twin = _finished_twin(out, variant)
        if twin is not None:
            return (
                f"{twin} holds it trained in {other}, but precision auto means {here} on this machine "
                f"({_why_auto(here)})"
            )
    return None


def _why_auto(precision: str) -> str:
    return "no native bf16 on this device" if precision == "fp32" else "native bf16 on this device"


def _refuse_unfinished_twin(out: Path, name: str, config: TrainConfig) -> None:
    """One line, when an experiment beside `out` holds an unfinished run of `config`: finish it there first."""
    for candidate in _twins(out, config):
        if (candidate / TEST_METRICS).exists() or (candidate / DIVERGED).exists():
            continue
        record = candidate.parent / RECORD
        owner = json.loads(record.read_text()).get("experiment", "...") if record.exists() else "..."
        raise UserInputError(
            f"{name} is being trained (or was interrupted) in {candidate}: finish it there first (`resnetlab "
            f"experiment {owner} --out {candidate.parent}` with its budget), then run this again; it copies it"
        )


def _comparable(config: TrainConfig) -> TrainConfig:
    """As a run records it (paths absolute, precision "auto" made concrete), wherever its run folders go, and however
    its steps were computed: the memory format and torch.compile change how fast a step runs, not what it computes
    (the recipe), so a run started on one CPU class continues on another whose measured path differs."""
    resolved = resolved_config(config)
    runtime = dataclasses.replace(resolved.runtime, out_dir="", channels_last="auto", compile=False)
    return dataclasses.replace(resolved, runtime=runtime)


def _copy_run(source: Path, run_dir: Path) -> None:
    """Copy under a partial name, then rename: an interrupted copy never passes for a finished run."""
    with files.written(run_dir) as partial:
        shutil.copytree(source, partial)
        (partial / COPIED_FROM).write_text(f"{source.resolve()}\n")


def _claim(out: Path, identity: dict[str, Any]) -> None:
    """Record what the folder holds; refuse to mix another experiment, budget or dataset into it, or to take over a
    folder of other files. Until a run has finished, the folder may be claimed afresh (e.g. after a wrong --data)."""
    record = out / RECORD
    if record.exists():
        try:
            held = json.loads(record.read_text())
        except ValueError:
            raise UserInputError(f"{record} is damaged; delete it to claim {out} afresh") from None
        if held == identity:
            return
        if any(out.glob(f"*/{TEST_METRICS}")):
            differs = ", ".join(f"{k} {held.get(k)!r} (not {v!r})" for k, v in identity.items() if held.get(k) != v)
            raise UserInputError(
                f"{out} holds another experiment: {differs}; choose another --out, or repeat that one's settings"
            )
    elif out.exists() and any(out.iterdir()):
        raise UserInputError(f"{out} already holds other files; give an empty or new folder with --out")
    out.mkdir(parents=True, exist_ok=True)
    files.write_json(record, identity)
