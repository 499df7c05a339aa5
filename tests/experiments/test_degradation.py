from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from resnetlab.cli import main
from resnetlab.errors import UserInputError
from resnetlab.experiments import resummarize, run


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNETLAB_CACHE", str(tmp_path / "cache"))


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
