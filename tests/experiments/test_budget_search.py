"""The standard budget's search: its committed report decided again under the current rule, trains nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from resnetlab.experiments import budget_search
from resnetlab.experiments.verdict import RULE

REPORT = Path(__file__).parents[2] / "docs" / "results" / "standard-budget-search"


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPORT, tmp_path / "report"))


def test_the_report_is_decided_again_keeping_what_chose_the_length(report: Path) -> None:
    before = json.loads((report / "results.json").read_text())
    budget_search.main(["--resummarize", str(report)])
    after = json.loads((report / "results.json").read_text())
    assert after["chosen_iterations"] == before["chosen_iterations"] == 3128 and after["rule"] == RULE
    (candidate,) = after["candidates"]
    assert candidate["decided_then"] == before["candidates"][0]["decided_then"]  # the rule of the time, kept
    assert candidate["comparison"]["gap"] == pytest.approx(0.0141, abs=5e-5)  # 17.14% against 15.73%: the medians
    summary = (report / "summary.md").read_text()
    assert "| 3,128 | 8 |" in summary and "These runs chose the budget" in summary
    assert [run["test_error"] for run in after["runs"]] == [
        e for errors in candidate["test_error"].values() for e in errors
    ]


def test_a_second_decision_changes_nothing(report: Path) -> None:
    budget_search.main(["--resummarize", str(report)])
    once = (report / "results.json").read_text(), (report / "summary.md").read_text()
    budget_search.main(["--resummarize", str(report)])
    assert ((report / "results.json").read_text(), (report / "summary.md").read_text()) == once


def test_searching_needs_the_data(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        budget_search.main(["--epochs", "8"])
    assert exit.value.code == 2 and "--data is required to search" in capsys.readouterr().err
