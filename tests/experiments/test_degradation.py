from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from resnetlab.cli import main
from resnetlab.config import TrainConfig
from resnetlab.errors import UserInputError
from resnetlab.experiments import resummarize, run, runner
from resnetlab.experiments.runner import COPIED_FROM, PlannedRun, run_experiment
from resnetlab.experiments.summary import percent
from resnetlab.runs.run_dir import TEST_METRICS
from resnetlab.runtime.device import resolve_precision
from resnetlab.train.loop import TrainingInterruptedError
from tests.helpers.interrupt import ctrl_c_at_step


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNETLAB_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("degradation") / "smoke"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESNETLAB_CACHE", str(out.parent / "cache"))
        run("degradation", budget="smoke", data=None, out=out)
    return out


def test_smoke_trains_each_network_and_writes_the_figure_table_and_claims(smoke: Path) -> None:
    results = json.loads((smoke / "results.json").read_text())
    assert [r["label"] for r in results["runs"]] == ["plain-20", "plain-32", "ResNet-20", "ResNet-32"]
    assert all(0 <= r["test_error"] <= 1 and 0 <= r["final_train_error"] <= 1 for r in results["runs"])
    summary = (smoke / "summary.md").read_text()
    assert "budget: **smoke**, 6 iterations per run" in summary
    assert "![error against iterations" in summary and (smoke / "degradation.png").stat().st_size > 10_000
    assert "| 20 |" in summary and "| 32 |" in summary and "| 8.75% |" in summary  # [R1] Table 6 beside ours
    claim = "Deeper plain nets have higher training error (the degradation problem; decided at 20 against 32 layers)"
    assert f"{claim}: **" in summary
    # Every claim's verdict is recorded as data, one of the rule's three outcomes.
    assert results["claims"][0]["claim"] == claim
    assert {c["verdict"] for c in results["claims"]} <= {"shown", "not shown", "within noise"}
    assert len(results["claims"]) == 3 and "95% t-interval" in results["rule"]


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


def test_quick_budget_needs_data(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="the quick budget trains on CIFAR-10: give its path with --data"):
        run("degradation", budget="quick", data=None, out=tmp_path / "x")


def test_cli_runs_an_experiment_and_prints_the_summary(smoke: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "degradation", "--budget", "smoke", "--out", str(smoke)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"summary: {smoke / 'summary.md'}",
        f"report: {smoke / 'report.html'}",
    ]
    assert "command: `resnetlab experiment degradation --budget smoke --out " in (smoke / "summary.md").read_text()


def test_cli_refuses_an_unknown_experiment(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["experiment", "degredation"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'degredation'" in capsys.readouterr().err


def test_the_cli_offers_every_experiment() -> None:
    from resnetlab.cli import build_parser
    from resnetlab.experiments import EXPERIMENTS

    experiment = build_parser()._subparsers._group_actions[0].choices["experiment"]  # type: ignore[union-attr]
    names = next(a for a in experiment._actions if a.dest == "name").choices
    assert set(names) == set(EXPERIMENTS)


def test_smoke_budget_refuses_data(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="the smoke budget trains on the embedded digits; drop --data"):
        run("degradation", budget="smoke", data=str(tmp_path), out=tmp_path / "x")


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


def test_results_alone_are_summarised_again_to_the_same_claims(smoke: Path, tmp_path: Path) -> None:
    committed = tmp_path / "committed"  # what docs/results/ keeps of an experiment: no run folders
    committed.mkdir()
    for name in ("results.json", "summary.md", "degradation.png"):
        shutil.copyfile(smoke / name, committed / name)
    figure = (committed / "degradation.png").read_bytes()
    summary = resummarize(committed).read_text()
    assert "summarised again from results.json" in summary and "![error against iterations" in summary
    assert (committed / "degradation.png").read_bytes() == figure  # the runs' figure, not one drawn from nothing
    before, after = (json.loads((d / "results.json").read_text()) for d in (smoke, committed))
    assert after["claims"] == before["claims"] and after["runs"] == before["runs"]
    assert (committed / "report.html").stat().st_size > 0


def test_summarising_again_needs_a_results_file(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"has no results\.json"):
        resummarize(tmp_path)
