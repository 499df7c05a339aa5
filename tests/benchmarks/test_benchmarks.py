"""The benchmarks run at tiny sizes, once, to prove they work; nothing here asserts a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("module", "extra"),
    [
        ("benchmarks.inference", []),
        ("benchmarks.train_step", ["--no-memory"]),
        ("benchmarks.epoch", []),
        ("benchmarks.accuracy_guard", []),
    ],
)
def test_a_benchmark_runs_at_tiny_size_and_reports_every_variant(module: str, extra: list[str], tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", module, "--tiny", "--out", str(out), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**__import__("os").environ, "RESNETLAB_CACHE": str(tmp_path / "cache")},
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "reference" in completed.stdout and "results: " in completed.stdout
    payload = json.loads(out.read_text())
    assert payload["machine"]["torch"] and payload["command"][2] == module
