from __future__ import annotations

import json
from pathlib import Path

import pytest

from resnetlab.experiments import run


def test_smoke_measures_each_trained_network_and_writes_figure_table_and_claims(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESNETLAB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "responses"
    summary = run("responses", budget="smoke", data=None, out=out).read_text()
    assert [r["label"] for r in json.loads((out / "results.json").read_text())["runs"]] == ["plain-20", "ResNet-20"]
    assert (out / "responses.png").stat().st_size > 10_000
    rows = [line for line in summary.splitlines() if line.startswith(("| plain-20 |", "| ResNet-20 |"))]
    assert len(rows) == 2 and all("| 19 |" in row for row in rows)  # the stem and 18 3x3 layers each
    mean_stds = [float(row.split("|")[3]) for row in rows]
    assert all(value > 0 for value in mean_stds)
    assert "ResNets have smaller responses than plain nets of the same depth: **" in summary
    assert f"depth 20: {mean_stds[1]:.3f} vs {mean_stds[0]:.3f}" in summary


def test_gradients_smoke_measures_initial_and_trained_networks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNETLAB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "gradients"
    summary = run("gradients", budget="smoke", data=None, out=out).read_text()
    assert (out / "gradients.png").stat().st_size > 10_000
    rows = [line for line in summary.splitlines() if line.startswith(("| plain-20 |", "| ResNet-20 |"))]
    assert len(rows) == 2 and all(float(cell) > 0 for row in rows for cell in row.strip("|").split("|")[1:])
    assert "plain nets' gradients do not vanish" in summary
