"""`landscape`: the loss surface of a plain net and its ResNet around their trained weights (Li et al., NeurIPS 2018,
Fig. 5: "chaotic" without skip connections, smooth and nearly convex with them), and the loss along the line from
each net's initial to its trained weights (Goodfellow et al., ICLR 2015).

It measures trained networks and trains none of its own when they exist: plain-56 and ResNet-56 are the degradation
experiment's runs at the same budget (copied from a finished `degradation` folder beside this one), plain-20 and
ResNet-20 at the smoke budget. It refuses to start a second training of a net another experiment beside it is still
training. The grid is computed point by point into `points.jsonl`, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import LogNorm
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from resnetlab.analysis.landscape import (
    Direction,
    Grid,
    Point,
    centre_curvature,
    evaluate,
    filter_normalized_direction,
    interpolate,
    monotone_share,
    moved,
    reestimate_bn,
)
from resnetlab.errors import UserInputError
from resnetlab.experiments.budget import Budget
from resnetlab.experiments.figures import WIDTH, finish, legend_below, line_style, net_colours, styled
from resnetlab.experiments.runner import FinishedRun, PlannedRun
from resnetlab.experiments.summary import Context, by_label, not_recorded, scalar_spread
from resnetlab.experiments.verdict import Spread, higher, lower
from resnetlab.inference.evaluate_run import open_trained, sample_images
from resnetlab.train.prepare import initial_model

TITLE = "Loss landscape: a plain net and its ResNet around their trained weights (Li et al. 2018, Fig. 5)"
OPTIONS = ("grid",)  # a Grid instead of the budget's
TRAINS_TWINS = False  # it measures the degradation experiment's nets: never a second training of one
POINTS = "points.jsonl"
BATCH = 250
GRIDS: dict[Budget, Grid] = {
    "smoke": Grid(size=5, span=1.0, images=64, directions=2, line_points=5),
    "quick": Grid(),
    "standard": Grid(),
    "paper": Grid(size=51, images=10_000),  # finer, on more images: hours, for a closer look
}


def recorded_options(results: dict[str, Any]) -> dict[str, Any]:
    """The options a results.json was measured with (`resnetlab experiment ... --resummarize` keeps them)."""
    return {"grid": Grid(**results["landscape"]["grid"])} if "landscape" in results else {}


def plan(budget: Budget) -> list[PlannedRun]:
    """The degradation experiment's deepest pair at this budget (the same runs, so they are copied, not trained)."""
    depth = 20 if budget == "smoke" else 56
    return [
        PlannedRun(f"plain-{depth}", f"cifar_plain{depth}", "plain", depth),
        PlannedRun(f"ResNet-{depth}", f"cifar_resnet{depth}", "ResNet", depth),
    ]


class _Points:
    """The measured points of one experiment folder: read back on a restart, appended one by one (flushed each)."""

    def __init__(self, path: Path, grid: Grid) -> None:
        self.path = path
        self.done: dict[tuple[Any, ...], Point] = {}
        self.times: dict[tuple[Any, ...], float] = {}  # each point's measuring time, this run's and earlier runs'
        self.used: set[tuple[Any, ...]] = set()
        header = {"grid": dataclasses.asdict(grid)}
        if path.exists():
            lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            if lines and lines[0] != header:
                raise UserInputError(
                    f"{path} holds points of another grid ({lines[0].get('grid')}); use another --out or that grid"
                )
            for row in lines[1:]:
                self.done[tuple(row["key"])] = Point(row["loss"], row["error"])
                self.times[tuple(row["key"])] = row.get("seconds", 0.0)  # an older resnetlab's points carry none
        else:
            path.write_text(json.dumps(header) + "\n")

    def get(self, key: tuple[Any, ...], measure: Callable[[], Point]) -> Point:
        if key not in self.done:
            start = time.perf_counter()
            point = measure()
            seconds = time.perf_counter() - start
            with self.path.open("a") as file:
                row = {"key": list(key), "loss": point.loss, "error": point.error, "seconds": seconds}
                file.write(json.dumps(row) + "\n")
            self.done[key] = point
            self.times[key] = seconds
        self.used.add(key)
        return self.done[key]

    @property
    def seconds(self) -> float:
        """The measuring time of the points asked for (not of stale ones the file may also hold)."""
        return sum(self.times[key] for key in self.used)


def _at(
    model: torch.nn.Module,
    centre: Direction,
    steps: list[tuple[float, Direction]],
    images: torch.Tensor,
    labels: torch.Tensor,
    precision: str,
) -> Point:
    with moved(model, centre, steps) as shifted:
        return evaluate(shifted, images, labels, BATCH, precision)


def _on_line(
    model: torch.nn.Module,
    initial: Direction,
    trained: Direction,
    t: float,
    images: torch.Tensor,
    labels: torch.Tensor,
    precision: str,
) -> Point:
    # BN's statistics measured at each t on the same images (see `interpolate`)
    return interpolate(
        model,
        initial,
        trained,
        [t],
        lambda m: evaluate(m, images, labels, BATCH, precision),
        lambda m: reestimate_bn(m, images, BATCH),
    )[0]


@dataclasses.dataclass(frozen=True)
class _Opened:
    """What measuring a net's points needs: the trained model, its weights, the images and the run's precision."""

    model: torch.nn.Module
    centre: Direction
    initial: Direction
    trained: Direction
    images: torch.Tensor
    labels: torch.Tensor
    precision: str  # as the run resolved it: bf16 where the CPU computes it natively


def _open(run: FinishedRun, grid: Grid) -> _Opened:
    opened = open_trained(run.run_dir, torch.device("cpu"))
    images, labels = sample_images(opened, "train", grid.images, "landscape")
    model = opened.trained.model
    return _Opened(
        model,
        {name: p.detach().clone() for name, p in model.named_parameters()},
        {k: v.cpu() for k, v in initial_model(opened.config).state_dict().items()},
        {k: v.detach().clone() for k, v in model.state_dict().items()},
        images,
        labels,
        opened.config.runtime.precision,
    )


def measure(run: FinishedRun, grid: Grid, points: _Points) -> dict[str, Any]:
    """One trained net's planes (one per direction seed) and its initial-to-trained line. The trained net is opened
    only for a point that points.jsonl does not hold yet: a folder whose points are all measured (a committed one,
    whose checkpoints are not committed) is summarised again from them alone."""
    net = functools.cache(lambda: _open(run, grid))
    coordinates = grid.coordinates()
    planes = []
    for seed in range(grid.directions):
        directions = functools.cache(lambda seed=seed: _directions(net().model, seed))
        loss = [[0.0] * grid.size for _ in range(grid.size)]
        error = [[0.0] * grid.size for _ in range(grid.size)]
        for i, a in enumerate(coordinates):
            for j, b in enumerate(coordinates):

                def at_point(
                    a: float = a, b: float = b, directions: Callable[[], tuple[Direction, Direction]] = directions
                ) -> Point:
                    first, second = directions()
                    return _at(
                        net().model,
                        net().centre,
                        [(a, first), (b, second)],
                        net().images,
                        net().labels,
                        net().precision,
                    )

                point = points.get((run.run_dir.name, "plane", seed, i, j), at_point)
                loss[i][j], error[i][j] = point.loss, point.error
        planes.append({"directions_seed": seed, "loss": loss, "error": error})
    line = []
    for k, t in enumerate(grid.fractions()):

        def on_line(t: float = t) -> Point:
            n = net()
            return _on_line(n.model, n.initial, n.trained, t, n.images, n.labels, n.precision)

        # "line-bn": points with BN re-estimated, never mixed with those of an older resnetlab (interpolated BN)
        line.append(dataclasses.asdict(points.get((run.run_dir.name, "line-bn", k), on_line)) | {"t": t})
    return {"net": run.planned.label, "seed": run.seed, "planes": planes, "line": line}


def _directions(model: torch.nn.Module, seed: int) -> tuple[Direction, Direction]:
    """Direction seed `seed`'s two filter-normalised directions (Li et al. Sec. 4), drawn in this order."""
    generator = torch.Generator().manual_seed(seed)
    return filter_normalized_direction(model, generator), filter_normalized_direction(model, generator)


@styled
def _contours(measured: list[dict[str, Any]], grid: Grid, path: Path) -> Path:
    """The first direction seed's loss surfaces side by side, filled between the same log-spaced levels in every panel
    and read off one colour bar: how steep a surface is shows as how fast its colour changes, the same colour meaning
    the same loss in both panels. (Lines alone at log-spaced levels crowd where the loss is low, so the net with the
    lower minimum looked the steeper.)"""
    surfaces = [np.array(m["planes"][0]["loss"]) for m in measured]
    low, high = max(min(s.min() for s in surfaces), 1e-4), max(s.max() for s in surfaces)
    levels = np.geomspace(low, high, 21)
    scale = LogNorm(low, high)
    coordinates = grid.coordinates()
    figure, axes = plt.subplots(1, len(measured), figsize=(WIDTH, 4.6), sharey=True, squeeze=False)
    for axis, surface, m in zip(axes[0], surfaces, measured, strict=True):
        filled = axis.contourf(coordinates, coordinates, surface.T, levels=levels, norm=scale)
        axis.contour(coordinates, coordinates, surface.T, levels=levels, colors="white", linewidths=0.4, alpha=0.6)
        axis.plot([0], [0], "+", color="white", markersize=12, markeredgewidth=2)
        axis.set(title=m["net"], xlabel="direction 1", aspect="equal")
        axis.set_xticks([-grid.span / 2, 0, grid.span / 2])  # not at the edges, where two panels' labels meet
        axis.set_yticks([-grid.span / 2, 0, grid.span / 2])
        axis.grid(False)
    axes[0][0].set_ylabel("direction 2")
    bar = figure.colorbar(filled, ax=axes[0], location="bottom", shrink=0.8)
    bar.set_label("training loss (the same log-spaced levels in both panels)")
    ticks = [v for v in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if low <= v <= high]
    if len(ticks) < 2:  # a narrow range (a smoke run's nets): a tick at each end
        ticks = [float(f"{low:.2g}"), float(f"{high:.2g}")]
    bar.set_ticks(ticks, labels=[f"{v:g}" for v in ticks])
    bar.ax.minorticks_off()
    return finish(figure, path)


@styled
def _line_figure(measured: list[dict[str, Any]], path: Path) -> Path:
    figure, axes = plt.subplots(1, 2, figsize=(WIDTH, 4.2))
    colours = net_colours(m["net"] for m in measured)
    for m in measured:
        ts = [p["t"] for p in m["line"]]
        style = {"linestyle": line_style(m["net"]), "color": colours[m["net"]], "label": m["net"]}
        axes[0].plot(ts, [p["loss"] for p in m["line"]], **style)
        axes[1].plot(ts, [100 * p["error"] for p in m["line"]], **style)
    axes[0].set(yscale="log", ylabel="training loss")
    axes[0].yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes[0].yaxis.set_minor_formatter(NullFormatter())
    axes[1].set(ylabel="training error (%)")
    for axis in axes:
        axis.set_xlabel("t (0: initial, 1: trained)")
    legend_below(figure, columns=2)
    return finish(figure, path)


def summarize(context: Context, finished: Sequence[FinishedRun]) -> str:
    grid = context.options.get("grid") or GRIDS[context.budget]
    if context.recorded and not (context.out / POINTS).exists():
        return not_recorded(context, finished, f"loss surfaces ({POINTS})")
    points = _Points(context.out / POINTS, grid)
    runs = {label: runs[0] for label, runs in by_label(finished).items() if runs[0].diverged is None}
    if len(runs) < 2:
        raise UserInputError("a landscape needs both trained nets; one diverged: train it again in its experiment")
    measured = [measure(run, grid, points) for run in runs.values()]
    context.measurements["landscape"] = {
        "grid": dataclasses.asdict(grid),
        "coordinates": grid.coordinates(),
        "nets": measured,
        "measuring_seconds": points.seconds,  # the grids and lines of both nets, on this machine
    }
    step = grid.coordinates()[1] - grid.coordinates()[0]
    shares = {m["net"]: Spread(tuple(monotone_share(p["loss"]) for p in m["planes"])) for m in measured}
    curvature = {
        m["net"]: Spread(tuple(sum(centre_curvature(p["loss"], step)) / 2 for p in m["planes"])) for m in measured
    }
    plain, residual = (m["net"] for m in measured)
    lines = [
        context.header(),
        *context.figure(
            "landscape.png",
            "training-loss contours around the trained weights, same levels",
            lambda path: _contours(measured, grid, path),
        ),
        *context.figure(
            "interpolation.png",
            "training loss and error from the initial to the trained weights",
            lambda path: _line_figure(measured, path),
        ),
        f"Each surface: {grid.size} x {grid.size} points from -{grid.span:g} to {grid.span:g} along two random "
        f"filter-normalised directions (Li et al. Sec. 4; BN parameters and biases not moved, BN in eval mode), the "
        f"mean cross-entropy on the same {grid.images:,} training images; the figure shows direction seed 0, the "
        f"measures use {grid.directions} direction seeds. Seed 0's trained networks. Measuring the points of both nets "
        f"took {points.seconds / 60:.0f} min here (the sum of each point's time, `measuring_seconds` in results.json).",
        "",
        "| network | rising along every ray (share of points) | curvature at the centre | loss at the centre |",
        "|---|---|---|---|",
    ]
    context.measurements["landscape"]["measures"] = [  # the table's numbers, for the pages that quote them
        {
            "net": m["net"],
            "convex_share": list(shares[m["net"]].values),
            "curvature": list(curvature[m["net"]].values),
            "centre_loss": m["planes"][0]["loss"][grid.size // 2][grid.size // 2],
        }
        for m in measured
    ]
    for m in measured:
        centre = m["planes"][0]["loss"][grid.size // 2][grid.size // 2]
        lines.append(
            f"| {m['net']} | {scalar_spread(shares[m['net']])} | {scalar_spread(curvature[m['net']], 2)} | "
            f"{centre:.3f} |"
        )
    # A claim is about the architectures, so its noise is the training runs': each net's value is the mean over the
    # direction pairs (their spread is the measurement's, of one trained net); with one training seed a net, and no
    # run-to-run noise of these measures measured, the verdicts read within noise.
    share_runs = {net: Spread((spread.mean,)) for net, spread in shares.items()}
    curvature_runs = {net: Spread((spread.mean,)) for net, spread in curvature.items()}
    more_convex = higher(
        share_runs[residual].values,
        than=share_runs[plain].values,
        noise=context.noise(share_runs.values(), "convex_share"),
    )
    flatter = lower(
        curvature_runs[residual].values,
        than=curvature_runs[plain].values,
        noise=context.noise(curvature_runs.values(), "curvature"),
    )
    lines += [
        "",
        "Rising along every ray: the share of grid points whose loss rises at each grid point on the straight line "
        "out from the centre (1 for a bowl; walls and pits on the way out lower it). Curvature: the second difference "
        "of the loss at the centre, averaged over the two directions, per unit step squared. The ranges are over the "
        "direction pairs: how much the measure of one trained net depends on the directions drawn. A claim is about "
        "the architectures, so the verdicts take the training runs' spread: one trained net of each gives none.",
        "",
        "## The claims against this run",
        "",
        context.claim(
            f"Li et al.: the surface of {residual} is closer to convex than that of {plain} (a higher share of points "
            "rises along every ray)",
            more_convex.outcome,
            more_convex.describe(scale=1, unit=""),
            {"convex share": more_convex},
        ),
        context.claim(
            f"resnetlab's second measure: {residual}'s minimum is flatter than {plain}'s (lower curvature at the "
            "centre)",
            flatter.outcome,
            flatter.describe(scale=1, unit=""),
            {"curvature": flatter},
        ),
    ]
    return "\n".join(lines) + "\n"
