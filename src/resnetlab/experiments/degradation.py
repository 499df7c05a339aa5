"""`degradation`: [R1] Fig. 6, left and middle. Plain nets of 20-56 layers against ResNets of the same depths and
parameter counts on CIFAR-10, trained with the same recipe.

[R1] Sec. 4.2's claims: the deeper plain nets have *higher training error* (the degradation problem: not
overfitting, since training error rises too); the ResNets overcome it, gaining accuracy with depth.
"""

from __future__ import annotations

from collections.abc import Sequence

from resnetlab.experiments.budget import Budget
from resnetlab.experiments.figures import side_by_side
from resnetlab.experiments.runner import FinishedRun, PlannedRun
from resnetlab.experiments.summary import (
    Context,
    by_label,
    falls_with_depth,
    lower,
    median_of,
    percent,
    rises_with_depth,
    verdict,
)

TITLE = "Degradation: plain nets against ResNets on CIFAR-10 ([R1] Fig. 6)"
# [R1] Table 6, test error (%) after 64k iterations; [R1] gives the plain nets as curves only.
PAPER_RESNET_TEST_ERROR = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97}


def plan(budget: Budget) -> list[PlannedRun]:
    depths = (20, 32) if budget == "smoke" else (20, 32, 44, 56)
    plain = [PlannedRun(f"plain-{d}", f"cifar_plain{d}", "plain", d) for d in depths]
    residual = [PlannedRun(f"ResNet-{d}", f"cifar_resnet{d}", "ResNet", d) for d in depths]
    return plain + residual


def summarize(context: Context, finished: Sequence[FinishedRun]) -> str:
    runs = by_label(finished)
    groups = {
        group: [label for label in runs if runs[label][0].planned.group == group] for group in ("plain", "ResNet")
    }
    figure = side_by_side(
        [(group, [runs[label][0] for label in labels]) for group, labels in groups.items()],
        context.out / "degradation.png",
    )
    train_error = {label: median_of(r, FinishedRun.final_train_error) for label, r in runs.items()}
    test_error = {label: median_of(r, lambda run: run.test_error) for label, r in runs.items()}
    depths = [runs[label][0].planned.depth for label in groups["plain"]]
    lines = [
        context.header(),
        f"![error against iterations, plain nets left, ResNets right]({figure.name})",
        "",
        "Training error (dashed: on the augmented training batches, per logged window) and test error (solid). "
        "The table's training error is over each run's last epoch (the figure's last windows are noisier).",
        "",
        "| depth | plain: training error | plain: test error | ResNet: training error | ResNet: test error "
        "| [R1] ResNet test error (64k iterations) |",
        "|---|---|---|---|---|---|",
    ]
    for depth in depths:
        plain, residual = f"plain-{depth}", f"ResNet-{depth}"
        paper = PAPER_RESNET_TEST_ERROR.get(depth)
        lines.append(
            f"| {depth} | {percent(train_error[plain])} | {percent(test_error[plain])} | "
            f"{percent(train_error[residual])} | {percent(test_error[residual])} | "
            f"{f'{paper:.2f}%' if paper else '-'} |"
        )
    plain_train = [train_error[f"plain-{d}"] for d in depths]
    residual_test = [test_error[f"ResNet-{d}"] for d in depths]
    better = [lower(train_error[f"ResNet-{d}"], than=train_error[f"plain-{d}"]) for d in depths]
    lines += [
        "",
        "## The paper's claims against this run",
        "",
        f"- Deeper plain nets have higher training error (the degradation problem): "
        f"{verdict(rises_with_depth(plain_train))}; last-epoch training error by depth "
        f"{', '.join(percent(e) for e in plain_train)}.",
        f"- ResNets gain accuracy from depth: {verdict(falls_with_depth(residual_test))}; test error by depth "
        f"{', '.join(percent(e) for e in residual_test)}.",
        f"- At every depth the ResNet trains to a lower error than the plain net: {verdict(all(better))} "
        f"({sum(better)} of {len(depths)} depths).",
        "",
    ]
    return "\n".join(lines)
