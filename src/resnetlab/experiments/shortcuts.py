"""`shortcuts`: the CIFAR analogue of [R1] Table 3. Options A (identity, zero-padded where the width grows), B
(projections only where it grows) and C (projections everywhere) on the CIFAR ResNets.

[R1] Sec. 3.3 / 4.1's claims on ImageNet (ResNet-34, top-1 error 25.03 / 24.52 / 24.19): all three are
considerably better than the plain net; B is slightly better than A (A's zero-padded channels learn no residual); C
is marginally better than B, which [R1] credits to the extra parameters of the projections and finds not essential.
"""

from __future__ import annotations

from collections.abc import Sequence

from resnetlab.experiments.budget import Budget
from resnetlab.experiments.runner import FinishedRun, PlannedRun
from resnetlab.experiments.summary import Context, by_label, percent_spread, spread_of, test_images
from resnetlab.experiments.verdict import all_of, lower

TITLE = "Shortcut options A, B and C on CIFAR-10 ResNets (the CIFAR analogue of [R1] Table 3)"
OPTIONS = ("A", "B", "C")
# [R1] Table 3, ImageNet ResNet-34 top-1 error (%), 10-crop testing: the paper's only A/B/C comparison.
PAPER_RESNET34_TOP1 = {"A": 25.03, "B": 24.52, "C": 24.19}


def plan(budget: Budget) -> list[PlannedRun]:
    depths = (20,) if budget == "smoke" else (20, 32, 56)
    # Option A is the CIFAR nets' own ([R1] Sec. 4.2), so it needs no override, and its runs are the very runs of the
    # other experiments (which a sibling experiment folder may then lend; see runner).
    return [
        PlannedRun(f"ResNet-{d}-{o}", f"cifar_resnet{d}", o, d, options=() if o == "A" else (("shortcut", o),))
        for d in depths
        for o in OPTIONS
    ]


def summarize(context: Context, finished: Sequence[FinishedRun]) -> str:
    runs = by_label(finished)
    depths = sorted({seed_runs[0].planned.depth for seed_runs in runs.values()})
    error = {label: spread_of(seed_runs, lambda r: r.test_error) for label, seed_runs in runs.items()}
    images = test_images(finished)
    noise = context.noise(error.values(), "test_error")
    lines = [
        context.header(),
        "Option C here is [R1]'s: a projection shortcut (1x1 convolution with BN) in every unit. [R2]'s "
        '"1x1 convolution shortcut" (identity-mappings experiment) is another network: a 1x1 convolution without BN.',
        "",
        "| depth | option | parameters | test error |",
        "|---|---|---|---|",
    ]
    for depth in depths:
        for option in OPTIONS:
            params = runs[f"ResNet-{depth}-{option}"][0].parameters()
            lines.append(f"| {depth} | {option} | {params:,} | {percent_spread(error[f'ResNet-{depth}-{option}'])} |")
    # [R1]'s numbers are of another network on another dataset: beside the table, not in its CIFAR rows.
    lines += [
        "",
        "[R1] Table 3 (ImageNet ResNet-34, 10-crop top-1 error): "
        + ", ".join(f"{option} {PAPER_RESNET34_TOP1[option]:.2f}%" for option in OPTIONS)
        + ".",
    ]

    def better(option: str, than: str) -> str:
        verdicts = [
            lower(
                error[f"ResNet-{d}-{option}"].values,
                than=error[f"ResNet-{d}-{than}"].values,
                images=images,
                noise=noise,
            )
            for d in depths
        ]
        return context.claim(
            f"{option} is better than {than} (at every depth)",
            all_of(verdicts),
            "; ".join(f"depth {d}: {v.outcome}, {v.describe()}" for d, v in zip(depths, verdicts, strict=True)),
            {f"depth {d}": v for d, v in zip(depths, verdicts, strict=True)},
        )

    paper_spread = max(PAPER_RESNET34_TOP1.values()) - min(PAPER_RESNET34_TOP1.values())
    lines += [
        "",
        "## The paper's claims against this run",
        "",
        better("B", "A"),
        better("C", "B"),
        f"- [R1] finds the differences small ({paper_spread:.2f} points of top-1 between the options on ImageNet, "
        "one run each) and the options not essential to addressing degradation; the verdicts above say which "
        "differences here exceed the noise.",
        "",
    ]
    return "\n".join(lines)
