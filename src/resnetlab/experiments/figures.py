"""The site's one figure style, and [R1]'s error curves drawn in it.

Every experiment figure is a PNG on the documentation site, which a phone shows 390 px wide. So a figure is WIDTH
inches at DPI (640 px, shown at about 0.6x: an 11 pt tick label still reads as some 9 px), its colours come from
Okabe and Ito's colour-blind-safe palette without its yellow (a thin yellow line all but vanishes on white), and its
legend sits outside the data area, below the panels, where it hides no curve. `styled` puts a drawing function under
that style; `finish` writes the PNG.

[R1]'s figures: error (%) against iterations, training error dashed, test error solid (Fig. 6); with several seeds,
the median and a band over the seeds.
"""

from __future__ import annotations

import functools
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.typing import LineStyleType, RcKeyType

from resnetlab.experiments.runner import FinishedRun

# Okabe & Ito (2008), "Color universal design": told apart with every common colour-vision deficiency. Their yellow
# (#F0E442, contrast 1.3:1 on white) is left out. The first five stand out from white at least 3:1 (WCAG's contrast for
# graphics); their orange and sky blue (2.3:1) come last, for a sixth and seventh net.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9")
NEUTRAL = "#555555"  # what is not a net: the line-style keys of a legend, the paper's numbers
WIDTH = 6.4  # inches: 640 px at DPI, every figure the same width so the pages' figures share one text size
DPI = 100
STYLE: dict[RcKeyType, Any] = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.constrained_layout.use": True,  # room for the legends and colour bars outside the panels
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.frameon": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 2.0,
    "image.cmap": "viridis",  # perceptually uniform and colour-blind safe; for filled areas, where its yellow shows
}

P = ParamSpec("P")
R = TypeVar("R")


def styled(draw: Callable[P, R]) -> Callable[P, R]:
    """`draw` run under the site's STYLE (and nothing else's: the style is put back afterwards)."""

    @functools.wraps(draw)
    def drawn(*args: P.args, **kwargs: P.kwargs) -> R:
        with plt.rc_context(STYLE):
            return draw(*args, **kwargs)

    return drawn


def finish(figure: Figure, path: Path) -> Path:
    """The PNG at the style's DPI, for docs/results/; the figure closed."""
    figure.savefig(path)
    plt.close(figure)
    return path


def legend_below(figure: Figure, columns: int, extra: Sequence[Line2D] = ()) -> None:
    """One legend under all the panels: each labelled line of the figure once, then `extra` keys."""
    labelled: dict[str, Any] = {}
    for axis in figure.axes:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            labelled.setdefault(label, handle)
    handles = [*labelled.values(), *extra]
    figure.legend(handles, [h.get_label() for h in handles], loc="outside lower center", ncols=columns)


def key(style: LineStyleType, label: str, width: float = 2.0) -> Line2D:
    """A legend entry for a line style alone (e.g. dashed: training error), in the neutral colour."""
    return Line2D([], [], color=NEUTRAL, linestyle=style, linewidth=width, label=label)


def line_style(label: str) -> str:
    """Plain nets dashed, residual nets solid, in every figure that shows both."""
    return "--" if label.startswith("plain") else "-"


def net_colours(labels: Iterable[str]) -> dict[str, str]:
    """One colour per depth, in the order the depths come, so a plain net and the ResNet of its depth share one (told
    apart by `line_style`); where every net has the same depth (a plain net against its ResNet), one colour per net."""
    names = list(dict.fromkeys(labels))
    depths = [match.group() if (match := re.search(r"\d+", name)) else name for name in names]
    keys = names if len(set(depths)) == 1 else depths
    order = list(dict.fromkeys(keys))
    return {name: PALETTE[order.index(k) % len(PALETTE)] for name, k in zip(names, keys, strict=True)}


# Iterations in thousands ("2k") once a run reaches them: four labels fit a panel half a phone wide.
THOUSANDS = FuncFormatter(lambda value, _: f"{value / 1000:g}k" if value else "0")


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


def error_curves(axis: Axes, nets: Sequence[Sequence[FinishedRun]], title: str, colours: dict[int, str]) -> None:
    """One colour per depth: the median over a net's seeds of the training error per logged window (dashed, thinner)
    and of the test error per evaluation (solid), with a band from the lowest to the highest seed's test error."""
    for seeds in nets:
        colour = colours[seeds[0].planned.depth]
        training, tested = _by_iteration(seeds, _training), _by_iteration(seeds, _tested)
        axis.plot(list(training), [statistics.median(v) for v in training.values()], "--", color=colour, lw=1.3)
        axis.plot(list(tested), [statistics.median(v) for v in tested.values()], "-", color=colour)
        if len(seeds) > 1:
            axis.fill_between(
                list(tested),
                [min(v) for v in tested.values()],
                [max(v) for v in tested.values()],
                color=colour,
                alpha=0.2,
                lw=0,
            )
    axis.set(xlabel="iteration", title=title)
    axis.xaxis.set_major_locator(MaxNLocator(4))
    if axis.get_xlim()[1] >= 1000:
        axis.xaxis.set_major_formatter(THOUSANDS)


@styled
def side_by_side(panels: Sequence[tuple[str, Sequence[Sequence[FinishedRun]]]], path: Path) -> Path:
    """One panel per group (e.g. plain | ResNet), each net with all its seeds, sharing the error axis so the panels
    compare at a glance. The nets of a panel differ in depth: one colour per depth in every panel, as [R1] Fig. 6,
    and one legend below the panels naming the depths and the line styles."""
    figure, axes = plt.subplots(1, len(panels), figsize=(WIDTH, 4.8), sharey=True, squeeze=False)
    depths = dict.fromkeys(seeds[0].planned.depth for _, nets in panels for seeds in nets)
    colours = {depth: PALETTE[i % len(PALETTE)] for i, depth in enumerate(depths)}
    for axis, (title, nets) in zip(axes[0], panels, strict=True):
        error_curves(axis, nets, title, colours)
    axes[0][0].set_ylabel("error (%)")
    several = any(len(seeds) > 1 for _, nets in panels for seeds in nets)
    keys = [Line2D([], [], color=colour, label=f"{depth} layers") for depth, colour in colours.items()]
    keys += [key("--", "training error", 1.3), key("-", "test error" + (" (band: seed range)" if several else ""))]
    figure.legend(handles=keys, loc="outside lower center", ncols=3)
    return finish(figure, path)
