"""`shortcuts`: the CIFAR analogue of [R1] Table 3. Options A (identity, zero-padded where the width grows), B
(projections only where it grows) and C (projections everywhere) on the CIFAR ResNets.

[R1] Sec. 3.3 / 4.1's claims on ImageNet (ResNet-34, top-1 error 25.03 / 24.52 / 24.19): all three are
considerably better than the plain net; B is slightly better than A (A's zero-padded channels learn no residual); C
is marginally better than B, which [R1] credits to the extra parameters of the projections and finds not essential.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from resnetlab.experiments.budget import Budget
from resnetlab.experiments.runner import FinishedRun, PlannedRun
from resnetlab.experiments.summary import Context, by_label, lower, median_of, percent, verdict

TITLE = "Shortcut options A, B and C on CIFAR-10 ResNets (the CIFAR analogue of [R1] Table 3)"
OPTIONS = ("A", "B", "C")
# [R1] Table 3, ImageNet ResNet-34 top-1 error (%), 10-crop testing: the paper's only A/B/C comparison.
PAPER_RESNET34_TOP1 = {"A": 25.03, "B": 24.52, "C": 24.19}


def plan(budget: Budget) -> list[PlannedRun]:
    depths = (20,) if budget == "smoke" else (20, 32, 56)
    # Option A is the CIFAR nets' own ([R1] Sec. 4.2), so it needs no override, and its runs are the very runs of the
    # other experiments (which a sibling experiment folder may then lend; see runner).
    return [
        PlannedRun(f"ResNet-{d}-{o}", f"cifar_resnet{d}", o, d, () if o == "A" else (f"model.options.shortcut={o}",))
        for d in depths
        for o in OPTIONS
    ]


def summarize(context: Context, finished: Sequence[FinishedRun]) -> str:
    runs = by_label(finished)
    depths = sorted({seed_runs[0].planned.depth for seed_runs in runs.values()})
    error = {label: median_of(seed_runs, lambda r: r.test_error) for label, seed_runs in runs.items()}
    lines = [
        context.header(),
        "| depth | option | parameters | test error | [R1] Table 3 (ImageNet ResNet-34, top-1) |",
        "|---|---|---|---|---|",
    ]
    for depth in depths:
        for option in OPTIONS:
            params = runs[f"ResNet-{depth}-{option}"][0].parameters()
            paper = f"{PAPER_RESNET34_TOP1[option]:.2f}%" if depth == depths[0] else ""
            lines.append(
                f"| {depth} | {option} | {params:,} | {percent(error[f'ResNet-{depth}-{option}'])} | {paper} |"
            )
    b_beats_a = [lower(error[f"ResNet-{d}-B"], than=error[f"ResNet-{d}-A"]) for d in depths]
    c_beats_b = [lower(error[f"ResNet-{d}-C"], than=error[f"ResNet-{d}-B"]) for d in depths]
    # max and min of a list holding NaN depend on where it sits: a depth where an option diverged has no spread.
    spread = [
        max(errors) - min(errors) if not any(map(math.isnan, errors)) else math.nan
        for errors in ([error[f"ResNet-{d}-{o}"] for o in OPTIONS] for d in depths)
    ]
    spread_text = ["a run diverged" if math.isnan(points) else f"{100 * points:.2f}" for points in spread]
    paper_spread = max(PAPER_RESNET34_TOP1.values()) - min(PAPER_RESNET34_TOP1.values())
    lines += [
        "",
        "## The paper's claims against this run",
        "",
        f"- B is better than A: {verdict(all(b_beats_a))} ({sum(b_beats_a)} of {len(depths)} depths).",
        f"- C is better than B: {verdict(all(c_beats_b))} ({sum(c_beats_b)} of {len(depths)} depths).",
        f"- [R1] finds the differences small ({paper_spread:.2f} points of top-1 between the options on ImageNet) and "
        f"the options not essential to addressing degradation; here the spread between the options at each depth is "
        f"{', '.join(spread_text)} points.",
        "",
    ]
    if context.seeds == 1:
        lines += [
            "One run per network: how far another seed would move these errors is not measured here (`--seeds 3` "
            "gives medians).",
            "",
        ]
    return "\n".join(lines)
