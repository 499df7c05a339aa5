"""The gradients experiment: the loss gradient's size per layer in plain nets and ResNets, initial and trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resnetlab.experiments import resummarize, run


def test_gradients_smoke_measures_initial_and_trained_networks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNETLAB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "gradients"
    summary = run("gradients", budget="smoke", data=None, out=out).read_text()
    assert (out / "gradients.png").stat().st_size > 10_000
    rows = [line for line in summary.splitlines() if line.startswith(("| plain-20 |", "| ResNet-20 |"))]
    assert len(rows) == 2 and all(float(cell) > 0 for row in rows for cell in row.strip("|").split("|")[1:])
    assert "plain nets' gradients do not vanish" in summary
    recorded = json.loads((out / "results.json").read_text())["gradients"]
    assert {r["net"] for r in recorded} == {"plain-20", "ResNet-20"} and all(len(r["trained"]) == 19 for r in recorded)
    for checkpoint in out.glob("*/*.pt"):
        checkpoint.unlink()
    assert resummarize(out).read_text().split("## The claims")[1] == summary.split("## The claims")[1]
