"""The landscape experiment's wiring at the smoke budget: nets copied, not trained twice; points resumable."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pytest
from matplotlib.contour import ContourSet

from resnetlab.analysis.landscape import Grid
from resnetlab.cli import main
from resnetlab.errors import UserInputError
from resnetlab.experiments import landscape, run
from resnetlab.experiments.runner import COPIED_FROM
from resnetlab.runs.run_dir import TEST_METRICS
from tests.helpers.figures import assert_house_style, kept


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A degradation smoke experiment (plain-20 and ResNet-20 among its runs) and a landscape beside it."""
    root = tmp_path_factory.mktemp("landscape")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESNETLAB_CACHE", str(root / "cache"))
        run("degradation", budget="smoke", data=None, out=root / "degradation")
        lines: list[str] = []
        run("landscape", budget="smoke", data=None, out=root / "landscape", announce=lines.append)
    assert [line.split(":")[0] for line in lines] == ["plain-20-seed0", "ResNet-20-seed0"]
    assert all("copied" in line for line in lines)  # the degradation experiment's nets, not trained again
    return root


def test_the_summary_states_the_measures_and_their_verdicts(root: Path) -> None:
    out = root / "landscape"
    summary = (out / "summary.md").read_text()
    assert "![training-loss contours" in summary and "![training loss and error from the initial" in summary
    assert (out / "landscape.png").stat().st_size > 5_000 and (out / "interpolation.png").stat().st_size > 5_000
    assert "| plain-20 |" in summary and "| ResNet-20 |" in summary
    results = json.loads((out / "results.json").read_text())
    assert len(results["claims"]) == 2
    assert {c["verdict"] for c in results["claims"]} <= {"shown", "not shown", "within noise"}
    assert all(c["detail"] for c in results["claims"])  # the gap and the margin behind each verdict
    nets = results["landscape"]["nets"]
    assert [n["net"] for n in nets] == ["plain-20", "ResNet-20"]
    assert all(len(n["planes"]) == 2 and len(n["planes"][0]["loss"]) == 5 and len(n["line"]) == 5 for n in nets)
    assert (out / "ResNet-20-seed0" / COPIED_FROM).exists()


def test_the_points_are_kept_one_by_one_and_not_computed_again(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = root / "landscape-again"
    shutil.copytree(root / "landscape", out)
    lines = (out / landscape.POINTS).read_text().splitlines()
    assert len(lines) == 1 + 2 * (2 * 25 + 5)  # the grid's header, then every point of both nets
    (out / landscape.POINTS).write_text("\n".join(lines[:-7]) + "\n")  # as if stopped 7 points before the end
    calls = []
    original = landscape.evaluate
    monkeypatch.setattr(landscape, "evaluate", lambda *a, **k: calls.append(1) or original(*a, **k))
    run("landscape", budget="smoke", data=None, out=out)
    assert len(calls) == 7
    assert (out / landscape.POINTS).read_text().splitlines()[0] == lines[0]
    again = json.loads((out / "results.json").read_text())["landscape"]
    first = json.loads((root / "landscape" / "results.json").read_text())["landscape"]
    # The same measurements; the measuring time counts the points of both runs, each point once.
    assert {**again, "measuring_seconds": 0} == {**first, "measuring_seconds": 0}
    rows = [json.loads(line) for line in (out / landscape.POINTS).read_text().splitlines()[1:]]
    assert again["measuring_seconds"] == pytest.approx(sum(row["seconds"] for row in rows)) and all(
        row["seconds"] > 0 for row in rows
    )


def test_a_net_another_experiment_is_still_training_is_not_trained_twice(root: Path, tmp_path: Path) -> None:
    shutil.copytree(root / "degradation", tmp_path / "degradation")
    (tmp_path / "degradation" / "ResNet-20-seed0" / TEST_METRICS).unlink()  # as if still training
    with pytest.raises(UserInputError, match=r"ResNet-20-seed0 is being trained \(or was interrupted\) in .*degrad"):
        run("landscape", budget="smoke", data=None, out=tmp_path / "landscape")
    assert not (tmp_path / "landscape" / "ResNet-20-seed0").exists()


def test_a_grid_given_as_the_experiments_option_replaces_the_budgets(root: Path, tmp_path: Path) -> None:
    shutil.copytree(root / "degradation", tmp_path / "degradation")
    grid = Grid(size=3, span=0.5, images=32, directions=1, line_points=3)
    run("landscape", budget="smoke", data=None, out=tmp_path / "landscape", options={"grid": grid})
    header, *points = (tmp_path / "landscape" / landscape.POINTS).read_text().splitlines()
    assert json.loads(header) == {"grid": dataclasses.asdict(grid)}
    assert len(points) == 2 * (3 * 3 + 3)  # both nets: one 3x3 plane and a 3-point line each


def test_an_option_the_experiment_does_not_declare_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="the degradation experiment has no option grid; leave it out"):
        run("degradation", budget="smoke", data=None, out=tmp_path / "x", options={"grid": Grid()})


def test_the_cli_names_the_landscape_options_when_given_to_another_experiment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["experiment", "depth", "--budget", "smoke", "--grid", "5", "--out", str(tmp_path / "x")]) != 0
    assert "--grid, --span, --images and --directions are the landscape experiment's options" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "x").exists()


def _bowl(net: str, centre: float, edge: float, grid: Grid) -> dict[str, Any]:
    """A measured net as results.json records it: a bowl from `centre` to `edge`, and its initial-to-trained line."""
    span = grid.span**2
    loss = [
        [centre + (edge - centre) * (a * a + b * b) / (2 * span) for b in grid.coordinates()]
        for a in grid.coordinates()
    ]
    line = [
        {"t": t, "loss": edge - (edge - centre) * min(t, 1), "error": 0.9 - 0.5 * min(t, 1)} for t in grid.fractions()
    ]
    return {"net": net, "seed": 0, "planes": [{"directions_seed": 0, "loss": loss, "error": loss}], "line": line}


def test_both_surfaces_are_filled_between_the_same_levels_read_off_one_colour_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = kept(monkeypatch, landscape)
    grid = Grid(size=7, span=1.0, images=8, directions=1, line_points=7)
    measured = [_bowl("plain-56", 1.2, 3.1, grid), _bowl("ResNet-56", 0.33, 9.7, grid)]
    landscape._contours(measured, grid, tmp_path / "landscape.png")
    landscape._line_figure(measured, tmp_path / "interpolation.png")
    contours, line = drawn
    for figure in drawn:
        assert_house_style(figure)
    panels = [axis for axis in contours.axes if axis.get_label() != "<colorbar>"]
    (bar,) = [axis for axis in contours.axes if axis.get_label() == "<colorbar>"]
    filled = [next(c for c in axis.collections if isinstance(c, ContourSet) and c.filled) for axis in panels]
    assert len(filled) == 2 and list(filled[0].levels) == list(filled[1].levels)  # the panels compare
    assert filled[0].levels[0] == pytest.approx(0.33) and filled[0].levels[-1] == pytest.approx(9.7)
    assert "log-spaced levels" in bar.get_xlabel()
    assert [t.get_text() for t in bar.get_xticklabels()] == ["0.5", "1", "2", "5"]  # losses, not 10^x
    assert [t.get_text() for t in line.legends[0].get_texts()] == ["plain-56", "ResNet-56"]
    plt.close("all")
