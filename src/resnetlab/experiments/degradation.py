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
    percent,
    percent_spread,
    spread_of,
    test_images,
    train_images,
)
from resnetlab.experiments.verdict import Spread, all_of, falls_with_depth, lower, rises_with_depth

TITLE = "Degradation: plain nets against ResNets on CIFAR-10 ([R1] Fig. 6)"
# [R1] Table 6, test error (%) after 64k iterations; [R1] gives the plain nets as curves only.
PAPER_RESNET_TEST_ERROR = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97}


# The standard budget's length was chosen on this experiment's ResNet-20 and ResNet-56 (seeds 0 and 1), as the first at
# which 56 beat 20 (experiments/budget_search.py): on these runs the claim is not independent evidence.
SELECTED = (
    "; on the runs that chose the standard budget, which flatters it: the depth experiment decides it on held-out seeds"
)


def plan(budget: Budget) -> list[PlannedRun]:
    depths = (20, 32) if budget == "smoke" else (20, 32, 44, 56)
    plain = [PlannedRun(f"plain-{d}", f"cifar_plain{d}", "plain", d) for d in depths]
    residual = [PlannedRun(f"ResNet-{d}", f"cifar_resnet{d}", "ResNet", d) for d in depths]
    return plain + residual


def _values(spreads: dict[str, Spread], group: str, depths: list[int]) -> dict[int, tuple[float, ...]]:
    return {d: spreads[f"{group}-{d}"].values for d in depths}


def summarize(context: Context, finished: Sequence[FinishedRun]) -> str:
    runs = by_label(finished)
    groups = {
        group: [label for label in runs if runs[label][0].planned.group == group] for group in ("plain", "ResNet")
    }
    panels = [(group, [runs[label] for label in labels]) for group, labels in groups.items()]
    lines = [
        context.header(),
        *context.figure(
            "degradation.png",
            "error against iterations, plain nets left, ResNets right",
            lambda path: side_by_side(panels, path),
        ),
    ]
    train_error = {label: spread_of(r, FinishedRun.final_train_error) for label, r in runs.items()}
    test_error = {label: spread_of(r, lambda run: run.test_error) for label, r in runs.items()}
    depths = [runs[label][0].planned.depth for label in groups["plain"]]
    # Where the last epoch's image count is not recorded (summarised again from results.json), the test set's count
    # stands in: fewer images than an epoch's, so a wider margin, never a narrower one.
    tested, trained = test_images(finished), train_images(finished) or test_images(finished)
    lines += [
        "Training error (dashed: on the augmented training batches, per logged window) and test error (solid; with "
        "several seeds, the median and a band from the lowest to the highest seed). The table's training error is "
        "over each run's last epoch (the figure's last windows are noisier).",
        "",
        "| depth | plain: training error | plain: test error | ResNet: training error | ResNet: test error "
        "| [R1] ResNet test error (64k iterations) |",
        "|---|---|---|---|---|---|",
    ]
    for depth in depths:
        plain, residual = f"plain-{depth}", f"ResNet-{depth}"
        paper = PAPER_RESNET_TEST_ERROR.get(depth)
        lines.append(
            f"| {depth} | {percent_spread(train_error[plain])} | {percent_spread(test_error[plain])} | "
            f"{percent_spread(train_error[residual])} | {percent_spread(test_error[residual])} | "
            f"{f'{paper:.2f}%' if paper else '-'} |"
        )
    deepest = max(depths)
    # The run-to-run noise pooled over the nets of one family (the deep plain nets spread several times more than the
    # ResNets), over both families where a comparison crosses them; measured at the budget where one seed each.
    plain_noise = context.noise([train_error[f"plain-{d}"] for d in depths], "final_train_error")
    residual_noise = context.noise([test_error[f"ResNet-{d}"] for d in depths], "test_error")
    train_noise = context.noise(train_error.values(), "final_train_error")
    plain_chain = rises_with_depth(
        _values(train_error, "plain", depths), endpoints=[deepest], images=trained, noise=plain_noise
    )
    residual_chain = falls_with_depth(
        _values(test_error, "ResNet", depths), endpoints=[deepest], images=tested, noise=residual_noise
    )
    per_depth = [
        lower(
            train_error[f"ResNet-{d}"].values, than=train_error[f"plain-{d}"].values, images=trained, noise=train_noise
        )
        for d in depths
    ]
    shallow, deep = f"{min(depths)}", f"{deepest}"
    lines += [
        "",
        "## The paper's claims against this run",
        "",
        context.claim(
            f"Deeper plain nets have higher training error (the degradation problem; decided at {shallow} against "
            f"{deep} layers)",
            plain_chain.outcome,
            f"{plain_chain.endpoints[deepest].describe()}; last-epoch training error by depth "
            f"{', '.join(percent(train_error[f'plain-{d}'].median) for d in depths)}; {plain_chain.describe_order()}",
            {f"{shallow} against {deep}": plain_chain.endpoints[deepest]},
        ),
        context.claim(
            f"ResNets gain accuracy from depth (test error, decided at {shallow} against {deep} layers)"
            + (SELECTED if context.budget == "standard" else ""),
            residual_chain.outcome,
            f"{residual_chain.endpoints[deepest].describe()}; test error by depth "
            f"{', '.join(percent(test_error[f'ResNet-{d}'].median) for d in depths)}; "
            f"{residual_chain.describe_order()}",
            {f"{shallow} against {deep}": residual_chain.endpoints[deepest]},
        ),
        context.claim(
            "At every depth the ResNet trains to a lower error than the plain net",
            all_of(per_depth),
            "; ".join(f"depth {d}: {v.outcome}, {v.describe()}" for d, v in zip(depths, per_depth, strict=True)),
            {f"depth {d}": v for d, v in zip(depths, per_depth, strict=True)},
        ),
        "",
    ]
    return "\n".join(lines)
