"""Figures in [R1]'s style: error (%) against iterations, training error dashed, test error solid (Fig. 6); with
several seeds, the median and a band over the seeds."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from resnetlab.experiments.runner import FinishedRun


def finish(axes: Sequence[Axes], figure: Figure, path: Path) -> Path:
    """The house style (a light grid, a small legend) on every panel, then the PNG: small, for docs/results/."""
    for axis in axes:
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def line_style(label: str) -> str:
    """Plain nets dashed, residual nets solid, in every figure that shows both."""
    return "--" if label.startswith("plain") else "-"


def _by_iteration(
    runs: Sequence[FinishedRun], points: Callable[[FinishedRun], dict[int, float]]
) -> dict[int, list[float]]:
    """Each logged iteration's values over the seeds that logged it."""
    merged: dict[int, list[float]] = {}
    for run in runs:
        for iteration, value in points(run).items():
            merged.setdefault(iteration, []).append(value)
    return dict(sorted(merged.items()))


def _training(run: FinishedRun) -> dict[int, float]:
    return {r["iteration"]: 100 * r["train_error"] for r in run.records if r.get("kind") == "iteration"}


def _tested(run: FinishedRun) -> dict[int, float]:
    # Per-epoch evaluations and the final one (a run may end mid-epoch); one point per iteration.
    return {r["iteration"]: 100 * (1 - r["test_top1"]) for r in run.records if "test_top1" in r}


def error_curves(axis: Axes, nets: Sequence[Sequence[FinishedRun]], title: str) -> None:
    """One colour per net: the median over its seeds of the training error per logged window (dashed) and of the
    test error per evaluation (solid), with a band from the lowest to the highest seed's test error."""
    colours = plt.get_cmap("viridis")
    for index, seeds in enumerate(nets):
        colour = colours(index / max(len(nets) - 1, 1))
        training, tested = _by_iteration(seeds, _training), _by_iteration(seeds, _tested)
        axis.plot(list(training), [statistics.median(v) for v in training.values()], "--", color=colour, lw=1)
        axis.plot(
            list(tested),
            [statistics.median(v) for v in tested.values()],
            "-",
            color=colour,
            lw=2,
            label=seeds[0].planned.label,
        )
        if len(seeds) > 1:
            axis.fill_between(
                list(tested),
                [min(v) for v in tested.values()],
                [max(v) for v in tested.values()],
                color=colour,
                alpha=0.2,
                lw=0,
            )
    axis.set(xlabel="iteration", ylabel="error (%)", title=title)


def side_by_side(panels: Sequence[tuple[str, Sequence[Sequence[FinishedRun]]]], path: Path) -> Path:
    """One panel per group (e.g. plain | ResNet), each net with all its seeds, sharing the error axis so the panels
    compare at a glance."""
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), sharey=True, squeeze=False)
    for axis, (title, nets) in zip(axes[0], panels, strict=True):
        error_curves(axis, nets, title)
    return finish(axes[0], figure, path)
