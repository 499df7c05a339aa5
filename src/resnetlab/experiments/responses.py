"""`responses`: [R1] Fig. 7. The standard deviation of each 3x3 layer's response in trained plain nets and ResNets,
in layer order and sorted in descending order.

[R1] Sec. 4.2's claims: ResNets have generally smaller responses than their plain counterparts (the residual
functions are closer to zero than unreferenced ones), and the deeper the ResNet, the smaller its responses
(each layer modifies the signal less).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from resnetlab.analysis.responses import LayerResponse, layer_responses
from resnetlab.experiments.budget import Budget, warm_up
from resnetlab.experiments.figures import WIDTH, finish, legend_below, line_style, net_colours, styled
from resnetlab.experiments.runner import FinishedRun, PlannedRun
from resnetlab.experiments.summary import Context, by_label, not_recorded, percent_spread, scalar_spread, spread_of
from resnetlab.experiments.verdict import Spread, all_of, falls_with_depth, lower
from resnetlab.inference.evaluate_run import open_trained, sample_images
from resnetlab.models.network import ResNet

TITLE = "Layer responses: plain nets against ResNets on CIFAR-10 ([R1] Fig. 7)"
IMAGES = 1000  # held-out test images the responses are measured on


def plan(budget: Budget) -> list[PlannedRun]:
    plain = (20,) if budget == "smoke" else (20, 56)
    residual = (20,) if budget == "smoke" else (20, 56, 110)
    return [PlannedRun(f"plain-{d}", f"cifar_plain{d}", "plain", d) for d in plain] + [
        PlannedRun(f"ResNet-{d}", f"cifar_resnet{d}", "ResNet", d, warm_up(d)) for d in residual
    ]


def measure(run: FinishedRun) -> list[LayerResponse]:
    opened = open_trained(run.run_dir, torch.device("cpu"))
    images, _ = sample_images(opened, "test", IMAGES, "responses")
    model = opened.trained.model
    assert isinstance(model, ResNet)  # every registered network is one
    return layer_responses(model, images)


@styled
def _figure(curves: dict[str, list[float]], path: Path) -> Path:
    figure, (ordered, ranked) = plt.subplots(2, 1, figsize=(WIDTH, 6.8), sharey=True)
    colours = net_colours(curves)
    for label, stds in curves.items():
        style = {"linestyle": line_style(label), "color": colours[label], "label": label}
        ordered.plot(range(1, len(stds) + 1), stds, **style)
        ranked.plot(range(1, len(stds) + 1), sorted(stds, reverse=True), **style)
    ordered.set(xlabel="layer index (original order)", ylabel="std")
    ranked.set(xlabel="layer index (sorted by magnitude)", ylabel="std")
    legend_below(figure, columns=3)  # below the panels: inside, it hid plain-56's curve
    return finish(figure, path)


def _measured(context: Context, trained: Sequence[FinishedRun]) -> dict[tuple[str, int], list[float]] | None:
    """Each net's response std per 3x3 layer, measured on its trained network and recorded in results.json; read
    back from there when summarised again. None: summarised again from a results.json that does not hold them."""
    if context.recorded:
        rows = context.recorded.get("responses")
        return None if rows is None else {(r["net"], r["seed"]): r["std"] for r in rows}
    measured = {(run.planned.label, run.seed): [r.std for r in measure(run)] for run in trained}
    context.measurements["responses"] = [
        {"net": net, "seed": seed, "std": std} for (net, seed), std in measured.items()
    ]
    return measured


def summarize(context: Context, finished: Sequence[FinishedRun]) -> str:
    # A diverged run has no trained network to measure (the header names it).
    trained = [run for run in finished if run.diverged is None]
    runs = by_label(trained)
    measured = _measured(context, trained)
    if measured is None:
        return not_recorded(context, finished, "layer responses")
    # The first seed's network draws the curves; the table takes each network's mean std over its layers, per seed.
    curves = {label: measured[label, seed_runs[0].seed] for label, seed_runs in runs.items()}
    mean_std = {
        label: Spread(tuple(statistics.fmean(measured[label, run.seed]) for run in seed_runs))
        for label, seed_runs in runs.items()
    }
    lines = [
        context.header(),
        *context.figure(
            "responses.png",
            "std of the layer responses, in layer order (top) and sorted (bottom)",
            lambda path: _figure(curves, path),
        ),
    ]
    lines += [
        f"Each point: one 3x3 layer's output after BN (before ReLU / addition), the std of each channel over "
        f"{IMAGES:,} test images and all positions, averaged over the channels; seed 0's networks. Plain nets "
        "dashed, ResNets solid. The table's mean std is over a network's layers, per seed.",
        "",
        "| network | 3x3 layers | mean std | largest std (seed 0) | test error |",
        "|---|---|---|---|---|",
    ]
    for label, seed_runs in runs.items():
        test_error = spread_of(seed_runs, lambda r: r.test_error)
        lines.append(
            f"| {label} | {len(curves[label])} | {scalar_spread(mean_std[label])} | {max(curves[label]):.3f} | "
            f"{percent_spread(test_error)} |"
        )
    pairs = [(d, f"plain-{d}", f"ResNet-{d}") for d in (20, 56) if f"plain-{d}" in runs and f"ResNet-{d}" in runs]
    # Pooled over both families where a comparison crosses them, over the ResNets for the ResNets' chain (nothing
    # measures this scalar at a budget: with one seed each, within noise).
    noise = context.noise(mean_std.values(), "mean_std")
    smaller = [lower(mean_std[res].values, than=mean_std[plain].values, noise=noise) for _, plain, res in pairs]
    residual = {runs[label][0].planned.depth: mean_std[label].values for label in runs if label.startswith("ResNet")}
    lines += ["", "## The paper's claims against this run", ""]
    if pairs:
        lines.append(
            context.claim(
                "ResNets have smaller responses than plain nets of the same depth",
                all_of(smaller),
                "; ".join(
                    f"depth {d}: {mean_std[r].median:.3f} vs {mean_std[p].median:.3f}, {v.outcome}, "
                    f"{v.describe(scale=1, unit='')}"
                    for (d, p, r), v in zip(pairs, smaller, strict=True)
                ),
                {f"depth {d}": v for (d, _, _), v in zip(pairs, smaller, strict=True)},
            )
        )
    if len(residual) > 1:
        residual_noise = context.noise([mean_std[f"ResNet-{d}"] for d in residual], "mean_std")
        chain = falls_with_depth(residual, endpoints=[max(residual)], noise=residual_noise)
        lines.append(
            context.claim(
                f"The deeper the ResNet, the smaller its responses (decided at {min(residual)} against "
                f"{max(residual)} layers)",
                chain.outcome,
                f"{chain.endpoints[max(residual)].describe(scale=1, unit='')}; "
                + ", ".join(f"ResNet-{d} {Spread(v).median:.3f}" for d, v in residual.items())
                + f"; {chain.describe_order()}",
                {f"{min(residual)} against {max(residual)}": chain.endpoints[max(residual)]},
            )
        )
    lines.append("")
    return "\n".join(lines)
