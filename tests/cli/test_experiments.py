"""`resnetlab experiment`'s own flags: held-out seeds and the runtime every run takes (precision, compile)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from resnetlab.cli import main
from tests.helpers.command import resnetlab_here


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNETLAB_CACHE", str(tmp_path / "cache"))


def test_held_out_seeds_in_fp32_train_under_their_own_seed_and_precision(tmp_path: Path) -> None:
    out = tmp_path / "depth"
    argv = ["experiment", "depth", "--budget", "smoke", "--first-seed", "2", "--precision", "fp32", "--out", str(out)]
    assert main(argv) == 0
    assert sorted(p.name for p in out.glob("ResNet-*")) == ["ResNet-20-seed2", "ResNet-32-seed2"]
    runtime = yaml.safe_load((out / "ResNet-20-seed2" / "config.yaml").read_text())["runtime"]
    assert (runtime["seed"], runtime["precision"], runtime["compile"]) == (2, "fp32", False)
    results = json.loads((out / "results.json").read_text())
    assert "--first-seed 2 --precision fp32" in results["command"]
    assert {row["seed"] for row in results["runs"]} == {2} and {row["precision"] for row in results["runs"]} == {"fp32"}
    assert "- precision: fp32 (every run)" in (out / "summary.md").read_text()


def test_a_negative_first_seed_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = resnetlab_here("experiment", "depth", "--budget", "smoke", "--first-seed", "-1", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "--first-seed: must be a whole number >= 0, got '-1'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_compile_and_precision_become_every_runs_runtime() -> None:
    from resnetlab.cli import build_parser
    from resnetlab.cli.experiments import _runtime

    parse = build_parser().parse_args
    assert _runtime(parse(["experiment", "depth"])) == {}  # the recipe's own runtime
    assert _runtime(parse(["experiment", "depth", "--precision", "fp32", "--compile"])) == {
        "precision": "fp32",
        "compile": True,
    }
