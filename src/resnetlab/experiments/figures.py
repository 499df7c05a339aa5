"""Figures in [R1]'s style: error (%) against iterations, training error dashed, test error solid (Fig. 6)."""

from __future__ import annotations

from collections.abc import Sequence
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


def error_curves(axis: Axes, runs: Sequence[FinishedRun], title: str) -> None:
    """One colour per run: training error per logged window (dashed), test error per evaluation (solid)."""
    colours = plt.get_cmap("viridis")
    for index, run in enumerate(runs):
        colour = colours(index / max(len(runs) - 1, 1))
        steps = [r for r in run.records if r.get("kind") == "iteration"]
        # Per-epoch evaluations and the final one (a run may end mid-epoch); one point per iteration.
        tested = {r["iteration"]: 100 * (1 - r["test_top1"]) for r in run.records if "test_top1" in r}
        axis.plot([r["iteration"] for r in steps], [100 * r["train_error"] for r in steps], "--", color=colour, lw=1)
        axis.plot(sorted(tested), [tested[i] for i in sorted(tested)], "-", color=colour, lw=2, label=run.planned.label)
    axis.set(xlabel="iteration", ylabel="error (%)", title=title)


def side_by_side(panels: Sequence[tuple[str, Sequence[FinishedRun]]], path: Path) -> Path:
    """One panel per group (e.g. plain | ResNet), sharing the error axis so the panels compare at a glance."""
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), sharey=True, squeeze=False)
    for axis, (title, runs) in zip(axes[0], panels, strict=True):
        error_curves(axis, runs, title)
    return finish(axes[0], figure, path)
