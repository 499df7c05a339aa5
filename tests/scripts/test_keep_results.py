"""scripts/keep_results.py: an experiment's record copied into the repository, finished runs only, no checkpoints."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers.scripts import load_script


@pytest.fixture(scope="module")
def keep_results() -> ModuleType:
    return load_script("keep_results")


def _experiment(root: Path) -> Path:
    experiment = root / "depth-standard"
    for run, files in {
        "ResNet-20-seed2": ("config.yaml", "metrics.jsonl", "test_metrics.json", "environment.json", "last.pt"),
        "ResNet-56-seed2": ("config.yaml", "metrics.jsonl", "environment.json", "last.pt"),  # still training
        "ResNet-110-seed2": ("config.yaml", "metrics.jsonl", "diverged.txt", "environment.json"),
    }.items():
        (experiment / run).mkdir(parents=True)
        for name in files:
            (experiment / run / name).write_text(f"{run}/{name}\n")
    for name in ("experiment.json", "summary.md", "results.json", "report.html", "depth.png"):
        (experiment / name).write_text(f"{name}\n")
    return experiment


def test_the_record_of_finished_runs_is_kept_without_checkpoints(keep_results: ModuleType, tmp_path: Path) -> None:
    experiment, dest = _experiment(tmp_path), tmp_path / "docs" / "results" / "depth-standard"
    (dest / "ResNet-20-seed2").mkdir(parents=True)
    (dest / "ResNet-20-seed2" / "config.yaml").write_text("an older copy\n")
    (dest / "notes.txt").write_text("kept\n")
    assert keep_results.main([str(experiment), str(dest)]) == 0
    kept = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert kept == [
        "ResNet-110-seed2/config.yaml",
        "ResNet-110-seed2/diverged.txt",
        "ResNet-110-seed2/environment.json",
        "ResNet-110-seed2/metrics.jsonl",
        "ResNet-20-seed2/config.yaml",
        "ResNet-20-seed2/environment.json",
        "ResNet-20-seed2/metrics.jsonl",
        "ResNet-20-seed2/test_metrics.json",
        "depth.png",
        "experiment.json",
        "notes.txt",
        "report.html",
        "results.json",
        "summary.md",
    ]
    assert (dest / "ResNet-20-seed2" / "config.yaml").read_text() == "ResNet-20-seed2/config.yaml\n"  # replaced


def test_a_folder_that_is_not_an_experiment_is_one_line_and_exit_2(
    keep_results: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert keep_results.main([str(tmp_path), str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("keep_results: ") and "not an experiment folder" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "out").exists()
