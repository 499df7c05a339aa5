from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from resnetlab.experiments import gradients, responses, resummarize, run
from tests.helpers.figures import assert_house_style, kept


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
    # What the claims are decided on is recorded, so the folder is summarised again without its networks.
    recorded = json.loads((out / "results.json").read_text())["responses"]
    assert [(r["net"], r["seed"], len(r["std"])) for r in recorded] == [("plain-20", 0, 19), ("ResNet-20", 0, 19)]
    for checkpoint in out.glob("*/*.pt"):
        checkpoint.unlink()
    assert resummarize(out).read_text().split("## The paper's claims")[1] == summary.split("## The paper's claims")[1]


def test_a_results_file_without_the_measurements_has_its_claims_taken_off(tmp_path: Path) -> None:
    row = {"label": "plain-20", "seed": 0, "test_error": 0.3, "final_train_error": 0.3, "test_top5": 0.9}
    row |= {"diverged": None, "run_dir": "r"}
    for name in ("responses", "gradients"):
        folder = tmp_path / name
        folder.mkdir()
        document = {"experiment": name, "budget": "smoke", "data": None, "seeds": 1, "command": "c", "runs": [row]}
        (folder / "results.json").write_text(json.dumps(document))
        summary = resummarize(folder).read_text()
        assert "| plain-20 | 0 | unknown | 30.00% |" in summary
        assert "Taken off: the" in summary and "**shown**" not in summary.split("## The claims")[1]
        assert json.loads((folder / "results.json").read_text())["claims"] == []


def test_the_responses_and_gradients_figures_keep_their_legends_off_the_curves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_responses, by_gradients = kept(monkeypatch, responses), kept(monkeypatch, gradients)
    nets = {"plain-20": 19, "plain-56": 55, "ResNet-20": 19, "ResNet-56": 55, "ResNet-110": 109}
    responses._figure({net: [1.5 - i / n for i in range(n)] for net, n in nets.items()}, tmp_path / "responses.png")
    rms = {net: ([1e-3 * (1 + i) for i in range(n)], [2e-3] * n) for net, n in nets.items() if net != "ResNet-110"}
    gradients._figure(rms, tmp_path / "gradients.png")
    drawn = by_responses + by_gradients
    assert len(drawn) == 2
    for figure in drawn:
        assert_house_style(figure)  # the legend below the panels: inside, it hid plain-56's curve
    assert [t.get_text() for t in drawn[0].legends[0].get_texts()] == list(nets)
    plt.close("all")
