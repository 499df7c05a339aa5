"""A run's PNG plots: error against iterations (training dashed, held out solid), loss and learning rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from resnetlab.runs import plots

STEPS = [
    {"kind": "iteration", "iteration": i, "train_error": 0.9 - 0.1 * i, "train_loss": 2.0 - 0.2 * i, "lr": 0.1 / i}
    for i in range(1, 5)
]


def _drawn(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """The figures `plot_run` finishes, saved as it would but kept open to read their curves."""
    figures: list[Figure] = []

    def keep(figure: Figure, path: Path) -> Path:
        figure.savefig(path)
        figures.append(figure)
        return path

    monkeypatch.setattr(plots, "_save", keep)
    return figures


def _curves(figure: Figure) -> list[dict[str, Any]]:
    return [
        {
            "axis": axis.get_title(),
            "label": line.get_label(),
            "style": line.get_linestyle(),
            "x": list(line.get_xdata()),
            "y": [round(float(y), 9) for y in line.get_ydata()],
        }
        for axis in figure.axes
        for line in axis.get_lines()
    ]


def test_both_plots_are_written_as_png_files(tmp_path: Path) -> None:
    epochs = [{"kind": "epoch", "iteration": 4, "test_top1": 0.5, "test_loss": 1.2}]
    written = plots.plot_run(STEPS + epochs, tmp_path, "cifar_resnet20 on digits")
    assert written == [tmp_path / "error.png", tmp_path / "loss_lr.png"]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in written)


def test_the_error_is_in_percent_training_dashed_and_test_solid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = _drawn(monkeypatch)
    epochs = [
        {"kind": "epoch", "iteration": 2, "test_top1": 0.6, "test_loss": 1.5},
        {"kind": "epoch", "iteration": 4, "test_top1": 0.75, "test_loss": 1.0},
    ]
    plots.plot_run(STEPS + epochs, tmp_path, "the title")
    error, loss_lr = drawn
    assert error.axes[0].get_title() == "the title"
    training, test = _curves(error)
    assert (training["label"], training["style"]) == ("training", "--")
    assert training["x"] == [1, 2, 3, 4] and training["y"] == [round(100 * r["train_error"], 9) for r in STEPS]
    assert (test["label"], test["style"], test["x"]) == ("test", "-", [2, 4])
    assert test["y"] == [40.0, 25.0]
    loss = [c for c in _curves(loss_lr) if c["axis"] == "loss"]
    assert [(c["label"], c["y"]) for c in loss] == [
        ("training", [round(r["train_loss"], 9) for r in STEPS]),
        ("test", [1.5, 1.0]),
    ]
    (lr,) = [c for c in _curves(loss_lr) if c["axis"] == "learning rate"]
    assert lr["x"] == [1, 2, 3, 4] and lr["y"] == [round(r["lr"], 9) for r in STEPS]
    plt.close("all")


def test_with_a_validation_split_the_held_out_curve_is_the_validation_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = _drawn(monkeypatch)
    epochs = [
        {"kind": "epoch", "iteration": 2, "val_top1": 0.5, "val_loss": 1.4},
        {"kind": "epoch", "iteration": 4, "val_top1": 0.8, "val_loss": 0.9},
        {"kind": "epoch", "iteration": 4, "test_top1": 0.7, "test_loss": 1.1},  # the final test: not on the curve
    ]
    plots.plot_run(STEPS + epochs, tmp_path, "with val")
    error, loss_lr = drawn
    held_out = _curves(error)[1]
    assert (held_out["label"], held_out["x"], held_out["y"]) == ("val", [2, 4], [50.0, 20.0])
    assert [c["y"] for c in _curves(loss_lr) if c["label"] == "val"] == [[1.4, 0.9]]
    plt.close("all")
