"""`gradients`: is the degradation of deep plain nets a matter of vanishing gradients? The loss gradient's size at
each 3x3 layer, from the last layer back to the first, in plain nets and ResNets, freshly initialised and trained.

A common explanation says the backward signal dies out in deep plain nets. [R1] Sec. 4.1 disagrees for nets with
BN: the forward signals have non-zero variances and "the backward propagated gradients exhibit healthy norms with
BN", so "this optimization difficulty is unlikely to be caused by vanishing gradients".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from resnetlab.analysis.gradients import LayerGradient, response_gradients
from resnetlab.experiments.budget import Budget
from resnetlab.experiments.figures import WIDTH, finish, legend_below, line_style, net_colours, styled
from resnetlab.experiments.runner import FinishedRun, PlannedRun
from resnetlab.experiments.summary import Context, by_label, not_recorded
from resnetlab.experiments.verdict import Spread, all_of, higher, pooled
from resnetlab.inference.evaluate_run import open_trained, sample_images
from resnetlab.models.network import ResNet
from resnetlab.train.prepare import initial_model

TITLE = "Gradients: the backward signal per layer in plain nets and ResNets (testing 'vanishing gradients')"
BATCH = 128  # training images, one batch as in training
VANISHED = 0.1  # a first layer getting under a tenth of the last layer's gradient counts as vanishing
Phases = tuple[list[float], list[float]]  # RMS per layer, input to output: at initialisation, after training


def plan(budget: Budget) -> list[PlannedRun]:
    depths = (20,) if budget == "smoke" else (20, 56)
    return [PlannedRun(f"plain-{d}", f"cifar_plain{d}", "plain", d) for d in depths] + [
        PlannedRun(f"ResNet-{d}", f"cifar_resnet{d}", "ResNet", d) for d in depths
    ]


def measure(run: FinishedRun) -> tuple[list[LayerGradient], list[LayerGradient]]:
    """(at initialisation, after training): the initial network rebuilt as the run built it."""
    opened = open_trained(run.run_dir, torch.device("cpu"))
    images, labels = sample_images(opened, "train", BATCH, "gradients")
    trained = opened.trained.model
    initial = initial_model(opened.config)  # the run's own initial weights, rebuilt from its config and seed
    assert isinstance(trained, ResNet) and isinstance(initial, ResNet)
    return response_gradients(initial, images, labels), response_gradients(trained, images, labels)


@styled
def _figure(curves: dict[str, tuple[list[float], list[float]]], path: Path) -> Path:
    figure, axes = plt.subplots(1, 2, figsize=(WIDTH, 4.8), sharey=True)
    colours = net_colours(curves)
    for label, pair in curves.items():
        for axis, values in zip(axes, pair, strict=True):
            axis.plot(range(1, len(values) + 1), values, line_style(label), color=colours[label], label=label)
    for axis, when in zip(axes, ("at initialisation", "after training"), strict=True):
        axis.set(yscale="log", xlabel="layer (input to output)", title=when)
    axes[0].set_ylabel("RMS of d loss / d response")
    legend_below(figure, columns=4)
    return finish(figure, path)


def _measured(context: Context, trained: Sequence[FinishedRun]) -> dict[tuple[str, int], Phases] | None:
    """Each net's RMS per layer (at initialisation, after training), measured on its trained network and recorded in
    results.json; read back from there when summarised again. None: summarised again from a results.json that does
    not hold them (the networks are not at hand either)."""
    if context.recorded:
        rows = context.recorded.get("gradients")
        return None if rows is None else {(r["net"], r["seed"]): (r["initial"], r["trained"]) for r in rows}
    measured = {}
    for run in trained:
        start, end = measure(run)
        measured[run.planned.label, run.seed] = ([g.rms for g in start], [g.rms for g in end])
    context.measurements["gradients"] = [
        {"net": net, "seed": seed, "initial": initial, "trained": after}
        for (net, seed), (initial, after) in measured.items()
    ]
    return measured


def summarize(context: Context, finished: Sequence[FinishedRun]) -> str:
    trained = [run for run in finished if run.diverged is None]  # diverged: nothing to measure
    measured = _measured(context, trained)
    if measured is None:
        return not_recorded(context, finished, "per-layer gradients")
    # (initial, trained) RMS per layer of each network's first seed: the figure and the table's rows.
    curves = {label: measured[label, runs[0].seed] for label, runs in by_label(trained).items()}
    lines = [
        context.header(),
        *context.figure(
            "gradients.png",
            "gradient size per layer, at initialisation and after training",
            lambda path: _figure(curves, path),
        ),
    ]
    lines += [
        f"Each point: the root-mean-square of the loss gradient at one 3x3 layer's response (after BN), on {BATCH} "
        "training images in training mode; seed 0's networks (the initial one drawn afresh with the run's seed). "
        "Plain nets dashed, ResNets solid.",
        "",
        "| network | first / last layer, initial | smallest / last, initial | first / last layer, trained "
        "| smallest / last, trained |",
        "|---|---|---|---|---|",
    ]
    for label, (initial, at_end) in curves.items():
        ratios = [(values[0] / values[-1], min(values) / values[-1]) for values in (initial, at_end)]
        lines.append(f"| {label} | " + " | ".join(f"{a:.3g} | {b:.3g}" for a, b in ratios) + " |")
    # The claim in decades (log10 of first / last layer), every seed of every plain net against the threshold.
    verdicts, details, names = [], [], []
    for label, runs in by_label(trained).items():
        if not label.startswith("plain"):
            continue
        for phase, when in enumerate(("initial", "trained")):
            decades = [math.log10(measured[label, r.seed][phase][0] / measured[label, r.seed][phase][-1]) for r in runs]
            # The threshold is a constant: the noise is the net's own seeds' (None with one seed: within noise).
            verdict = higher(decades, than=[math.log10(VANISHED)] * len(decades), noise=pooled([decades]))
            verdicts.append(verdict)
            names.append(f"{label} {when}")
            details.append(
                f"{label} {when}: first / last {10 ** Spread(tuple(decades)).median:.3g}, {verdict.outcome}, "
                f"{verdict.describe(scale=1, unit=' decades')}"
            )
    lines += ["", "## The claims against this run", ""]
    if verdicts:
        lines.append(
            context.claim(
                f"[R1]: with BN, plain nets' gradients do not vanish (the first layer gets more than {VANISHED:g} of "
                "the last layer's gradient, at initialisation and after training)",
                all_of(verdicts),
                "; ".join(details),
                dict(zip(names, verdicts, strict=True)),
            )
        )
    lines += [
        "- If they do not vanish while the deeper plain nets still train worse (`resnetlab experiment degradation`), "
        "the degradation is an optimisation difficulty, as [R1] argues, not vanishing gradients.",
        "",
    ]
    return "\n".join(lines)
