"""Running an experiment's runs: skipping the finished, resuming the interrupted, copying a twin's, claiming the
folder, and what a finished run reports."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from resnetlab.config import TrainConfig
from resnetlab.errors import UserInputError
from resnetlab.experiments import run, runner
from resnetlab.experiments.runner import COPIED_FROM, FinishedRun, PlannedRun, run_experiment
from resnetlab.experiments.summary import percent
from resnetlab.runs.run_dir import TEST_METRICS
from resnetlab.runtime.device import resolve_precision
from resnetlab.train.loop import TrainingInterruptedError
from tests.helpers.interrupt import ctrl_c_at_step

pytestmark = pytest.mark.usefixtures("private_cache")


def test_running_again_skips_finished_runs(smoke: Path) -> None:
    finished = {p: p.stat().st_mtime_ns for p in smoke.glob("*/test_metrics.json")}
    run("degradation", budget="smoke", data=None, out=smoke)
    assert {p: p.stat().st_mtime_ns for p in smoke.glob("*/test_metrics.json")} == finished


def test_an_interrupted_experiment_continues_where_it_stopped(tmp_path: Path) -> None:
    out = tmp_path / "cut"
    # Step 9 of the experiment is the 3rd step of its second run (6 steps each), after that run's checkpoint at 2.
    with ctrl_c_at_step(9), pytest.raises(TrainingInterruptedError):
        run("degradation", budget="smoke", data=None, out=out)
    assert (out / "plain-20-seed0" / "test_metrics.json").exists()
    assert (out / "plain-32-seed0" / "last.pt").exists() and not (out / "plain-32-seed0" / "test_metrics.json").exists()
    first = (out / "plain-20-seed0" / "test_metrics.json").stat().st_mtime_ns
    run("degradation", budget="smoke", data=None, out=out)
    assert (out / "plain-20-seed0" / "test_metrics.json").stat().st_mtime_ns == first  # not trained again
    records = [json.loads(line) for line in (out / "plain-32-seed0" / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records if r["kind"] == "iteration"] == [2, 4, 6]  # nothing lost or repeated
    assert not list(out.glob("plain-32-seed0.replaced-*"))  # resumed, not restarted
    assert len(json.loads((out / "results.json").read_text())["runs"]) == 4


def test_another_budget_in_the_same_folder_is_refused(smoke: Path) -> None:
    with pytest.raises(UserInputError, match="holds another experiment: budget 'smoke' \\(not 'quick'\\)"):
        run("degradation", budget="quick", data=str(smoke), out=smoke)


def test_a_folder_of_other_files_is_not_taken_over(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserInputError, match="already holds other files; give an empty or new folder with --out"):
        run("degradation", budget="smoke", data=None, out=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_run_folder_trained_otherwise_is_not_counted_as_the_planned_run(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    planned = [PlannedRun("net", "cifar_resnet20", "ResNet", 20)]
    run_experiment("x", planned, budget="smoke", data=None, out=out, seeds=1)
    config = out / "net-seed0" / "config.yaml"
    config.write_text(config.read_text().replace("lr: 0.1", "lr: 0.05"))
    with pytest.raises(UserInputError, match=r"net-seed0 was trained with optim.lr=0.05, not the plan's 0.1; move it"):
        run_experiment("x", planned, budget="smoke", data=None, out=out, seeds=1)
    config.write_text(config.read_text().replace("lr: 0.05", "lr: 0.1").replace("batch_size: 32", "batch_size: 16"))
    with pytest.raises(UserInputError, match=r"trained with data.batch_size=16, not the plan's 32"):
        run_experiment("x", planned, budget="smoke", data=None, out=out, seeds=1)


def test_a_run_of_a_resnetlab_without_a_later_config_key_is_still_the_planned_run(tmp_path: Path) -> None:
    """A key added to the config after a run started takes its default when that run is read back, so the run
    resumes or counts as finished instead of being refused as different."""
    out = tmp_path / "exp"
    planned = [PlannedRun("net", "cifar_resnet20", "ResNet", 20)]
    run_experiment("x", planned, budget="smoke", data=None, out=out, seeds=1)
    config = out / "net-seed0" / "config.yaml"
    older = [line for line in config.read_text().splitlines() if "backbone_lr_scale" not in line]
    assert len(older) < len(config.read_text().splitlines())
    config.write_text("\n".join(older) + "\n")
    lines: list[str] = []
    run_experiment("x", planned, budget="smoke", data=None, out=out, seeds=1, announce=lines.append)
    assert lines == ["net-seed0: finished, skipped"]


@pytest.mark.parametrize(("layout", "compiled"), [("true", "true"), ("false", "false"), ("auto", "true")])
def test_a_run_computed_in_another_layout_or_compiled_is_still_the_planned_run(
    tmp_path: Path, layout: str, compiled: str
) -> None:
    """Memory format and torch.compile change how fast a step runs, not the recipe: a run started on a CPU class whose
    measured path differs (the committed standard runs: channels_last true, compiled) still resumes or counts."""
    out = tmp_path / "exp"
    planned = [PlannedRun("net", "cifar_resnet20", "ResNet", 20)]
    run_experiment("x", planned, budget="smoke", data=None, out=out, seeds=1)
    config = out / "net-seed0" / "config.yaml"
    text = config.read_text()
    assert "channels_last: auto" not in text  # the saved config says what ran
    changed = [
        f"  channels_last: {layout}" if line.startswith("  channels_last:") else line for line in text.splitlines()
    ]
    changed = [f"  compile: {compiled}" if line.startswith("  compile:") else line for line in changed]
    config.write_text("\n".join(changed) + "\n")
    lines: list[str] = []
    run_experiment("x", planned, budget="smoke", data=None, out=out, seeds=1, announce=lines.append)
    assert lines == ["net-seed0: finished, skipped"]


def test_seeds_give_one_folder_per_seed(tmp_path: Path) -> None:
    planned = [PlannedRun("net", "cifar_resnet20", "ResNet", 20)]
    finished = run_experiment("x", planned, budget="smoke", data=None, out=tmp_path / "exp", seeds=2)
    assert [(f.run_dir.name, f.seed) for f in finished] == [("net-seed0", 0), ("net-seed1", 1)]
    weights = [(f.run_dir / "model.safetensors").read_bytes() for f in finished]
    assert weights[0] != weights[1]  # two seeds, two different networks


def test_a_diverged_run_is_recorded_as_failed_and_the_experiment_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "exp"
    planned = [
        PlannedRun("exploding", "cifar_plain20", "plain", 20),
        PlannedRun("fine", "cifar_resnet20", "ResNet", 20),
    ]
    planned_config = runner.run_config

    def exploding_lr(shared: TrainConfig, run: PlannedRun, seed: int) -> TrainConfig:  # LR 1e12: NaN within steps
        config = planned_config(shared, run, seed)
        if run.label != "exploding":
            return config
        return dataclasses.replace(config, optim=dataclasses.replace(config.optim, lr=1e12))

    monkeypatch.setattr(runner, "run_config", exploding_lr)
    lines: list[str] = []
    finished = run_experiment("x", planned, budget="smoke", data=None, out=out, seeds=1, announce=lines.append)
    assert finished[0].diverged is not None and "NaN or infinite" in finished[0].diverged
    assert math.isnan(finished[0].test_error) and percent(finished[0].test_error) == "diverged"
    assert finished[1].diverged is None and 0 <= finished[1].test_error <= 1
    assert (out / "exploding-seed0" / "diverged.txt").exists()
    again = run_experiment("x", planned, budget="smoke", data=None, out=out, seeds=1, announce=lines.append)
    assert again[0].diverged == finished[0].diverged  # not trained again
    assert lines[-2:] == ["exploding-seed0: diverged before, kept as failed", "fine-seed0: finished, skipped"]


def test_a_run_another_experiment_finished_with_the_same_config_is_copied_not_trained(smoke: Path) -> None:
    lines: list[str] = []
    out = smoke.parent / "gradients"
    run("gradients", budget="smoke", data=None, out=out, announce=lines.append)
    assert lines == [
        f"{label}-seed0: trained before with the same config in {smoke / f'{label}-seed0'}, copied"
        for label in ("plain-20", "ResNet-20")
    ]
    copied, source = out / "ResNet-20-seed0", smoke / "ResNet-20-seed0"
    assert (copied / COPIED_FROM).read_text().strip() == str(source.resolve())
    assert (copied / TEST_METRICS).read_text() == (source / TEST_METRICS).read_text()


def test_an_unfinished_or_differently_configured_run_is_not_copied(smoke: Path, tmp_path: Path) -> None:
    shutil.copytree(smoke, tmp_path / "degradation")
    (tmp_path / "degradation" / "plain-20-seed0" / TEST_METRICS).unlink()
    lines: list[str] = []
    run("gradients", budget="smoke", data=None, out=tmp_path / "gradients", announce=lines.append)
    assert lines[0] == "plain-20-seed0: training"
    assert lines[1].startswith("ResNet-20-seed0: trained before with the same config in ")
    lines.clear()
    run("gradients", budget="smoke", data=None, out=tmp_path / "gradients-2", seeds=2, announce=lines.append)
    assert "ResNet-20-seed1: training" in lines  # another seed is another run


def _other_precision() -> tuple[str, str]:
    """This machine's meaning of precision auto, and the other CPU precision (where a twin might have been trained)."""
    here = resolve_precision(torch.device("cpu"), "auto")
    return here, "fp32" if here == "bf16" else "bf16"


def test_a_twin_trained_in_another_precision_is_named_not_copied(smoke: Path, tmp_path: Path) -> None:
    """Precision auto is bf16 on a CPU with native bf16 and fp32 elsewhere: a run finished on the other kind of machine
    is another run here, and the experiment says so before it trains it."""
    here, other = _other_precision()
    shutil.copytree(smoke, tmp_path / "degradation")
    config = tmp_path / "degradation" / "ResNet-20-seed0" / "config.yaml"
    config.write_text(config.read_text().replace(f"precision: {here}", f"precision: {other}"))
    lines: list[str] = []
    run("gradients", budget="smoke", data=None, out=tmp_path / "gradients", announce=lines.append)
    assert lines[0].startswith("plain-20-seed0: trained before with the same config in ")
    assert lines[1:] == [
        f"ResNet-20-seed0: {config.parent} holds it trained in {other}, but precision auto means {here} on this "
        f"machine ({'no native bf16' if here == 'fp32' else 'native bf16'} on this device); training it anew",
        "ResNet-20-seed0: training",
    ]


def test_a_run_started_in_another_precision_is_refused_with_the_reason(tmp_path: Path) -> None:
    here, other = _other_precision()
    out = tmp_path / "exp"
    planned = [PlannedRun("net", "cifar_resnet20", "ResNet", 20)]
    run_experiment("x", planned, budget="smoke", data=None, out=out, seeds=1)
    config = out / "net-seed0" / "config.yaml"
    config.write_text(config.read_text().replace(f"precision: {here}", f"precision: {other}"))
    with pytest.raises(UserInputError, match=rf"net-seed0 was trained in {other}, but precision auto means {here} on "):
        run_experiment("x", planned, budget="smoke", data=None, out=out, seeds=1)


def test_the_final_training_error_is_the_last_epochs_not_the_last_windows() -> None:
    records = [
        {"kind": "iteration", "iteration": 1475, "train_error": 0.25},
        {"kind": "epoch", "iteration": 1173, "train_error": 0.31},
        {"kind": "iteration", "iteration": 1500, "train_error": 0.20},
        {"kind": "epoch", "iteration": 1500, "train_error": 0.22},
    ]
    planned = PlannedRun("plain-20", "cifar_plain20", "plain", 20)
    assert FinishedRun(planned, 0, Path("r"), {"top1": 0.7}, records).final_train_error() == 0.22
    windows_only = [r for r in records if r["kind"] == "iteration"]
    assert FinishedRun(planned, 0, Path("r"), {"top1": 0.7}, windows_only).final_train_error() == 0.20
    assert math.isnan(FinishedRun(planned, 0, Path("r"), {}, records, diverged="NaN").final_train_error())


def test_a_runs_last_epoch_images_and_precision_are_read_from_its_folder(tmp_path: Path) -> None:
    planned = PlannedRun("ResNet-20", "cifar_resnet20", "ResNet", 20)
    config = {"model": {"name": "cifar_resnet56"}, "data": {"batch_size": 128}, "runtime": {"precision": "bf16"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    epochs = [{"kind": "epoch", "iteration": i, "train_error": 0.1} for i in (391, 782)]
    finished = FinishedRun(planned, 0, tmp_path, {"top1": 0.9}, epochs)
    assert finished.final_train_images() == 391 * 128  # the last epoch's steps times the batch
    assert finished.precision() == "bf16"
    assert round(finished.parameters() / 1e6, 2) == 0.85  # the folder's network, ResNet-56 ([R1] Table 6: 0.85M)
    elsewhere = FinishedRun(planned, 0, tmp_path / "gone", {"top1": 0.9}, epochs)
    assert elsewhere.final_train_images() is None and elsewhere.precision() == "unknown"
    assert round(elsewhere.parameters() / 1e6, 2) == 0.27  # the plan's, ResNet-20 ([R1] Table 6: 0.27M)
