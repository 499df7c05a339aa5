"""`identity-mappings`: [R2] Tables 1 and 2. What the shortcut does to the signal (identity, scaling, gating, 1x1
convolution, dropout) and where BN and ReLU sit in the unit (original, BN after addition, ReLU before addition,
ReLU-only pre-activation, full pre-activation), on one CIFAR-10 ResNet.

[R2]'s claims (ResNet-110): the identity shortcut is best; every multiplicative manipulation of it (scaling, gating,
1x1 convolution, dropout) hampers optimisation and gives higher error. Full pre-activation (BN and ReLU before each
convolution, nothing after the addition) is better than the original unit.

Budgets: paper trains ResNet-110 as [R2] does; quick and standard train ResNet-56, whose step takes about half of
ResNet-110's on a CPU, so that ten variants fit the budget; smoke trains ResNet-20 on digits.
"""

from __future__ import annotations

from collections.abc import Sequence

from resnetlab.experiments.budget import Budget, warm_up
from resnetlab.experiments.runner import FinishedRun, PlannedRun
from resnetlab.experiments.summary import Context, by_label, percent, percent_spread, spread_of, test_images
from resnetlab.experiments.verdict import all_of, lower

TITLE = "Identity mappings: shortcut types and unit orderings on a CIFAR-10 ResNet ([R2] Tables 1 and 2)"

# (label, table, what it is, model options, [R2] ResNet-110 test error % or None for "fail": above 20%)
VARIANTS: tuple[tuple[str, str, str, dict[str, object], float | None], ...] = (
    ("original", "1, 2", "identity shortcut, original unit", {}, 6.61),
    (
        "constant-scaling",
        "1",
        "shortcut and residual both scaled by 0.5",
        {"shortcut_mapping": "scaling", "shortcut_scale": 0.5, "residual_scale": 0.5},
        12.35,
    ),
    (
        "exclusive-gating",
        "1",
        "exclusive gating, b_g = -6",
        {"shortcut_mapping": "exclusive_gating", "gate_bias": -6},
        8.70,
    ),
    (
        "shortcut-gating",
        "1",
        "shortcut-only gating, b_g = -6",
        {"shortcut_mapping": "shortcut_gating", "gate_bias": -6},
        6.91,
    ),
    ("conv1x1-shortcut", "1", "1x1 convolution shortcut", {"shortcut_mapping": "conv1x1"}, 12.22),
    (
        "dropout-shortcut",
        "1",
        "dropout 0.5 on the shortcut",
        {"shortcut_mapping": "dropout", "shortcut_dropout": 0.5},
        None,
    ),
    ("bn-after-add", "2", "BN after addition", {"unit_order": "bn_after_add"}, 8.17),
    ("relu-before-add", "2", "ReLU before addition", {"unit_order": "relu_before_add"}, 7.84),
    ("relu-preact", "2", "ReLU-only pre-activation", {"unit_order": "relu_preact"}, 6.71),
    ("full-preact", "2", "full pre-activation", {"unit_order": "full_preact"}, 6.37),
)
_DEPTH = {"smoke": 20, "quick": 56, "standard": 56, "paper": 110}


def plan(budget: Budget) -> list[PlannedRun]:
    depth = _DEPTH[budget]
    return [
        PlannedRun(label, f"cifar_resnet{depth}", table, depth, warm_up(depth), tuple(options.items()))
        for label, table, _, options, _ in VARIANTS
    ]


def summarize(context: Context, finished: Sequence[FinishedRun]) -> str:
    runs = by_label(finished)
    depth = next(iter(runs.values()))[0].planned.depth
    error = {label: spread_of(seed_runs, lambda r: r.test_error) for label, seed_runs in runs.items()}
    images = test_images(finished)
    noise = context.noise(error.values(), "test_error")
    lines = [
        context.header(),
        f"Network: ResNet-{depth} ([R2] used ResNet-110). [R2]'s 1x1 convolution shortcut has no BN: it is not "
        "[R1]'s option C (a projection with BN, shortcuts experiment).",
        "",
        "| [R2] table | variant | test error | [R2] ResNet-110 test error |",
        "|---|---|---|---|",
    ]
    for label, table, description, _, paper in VARIANTS:
        lines.append(
            f"| {table} | {description} | {percent_spread(error[label])} | "
            f"{f'{paper:.2f}%' if paper else 'fail (> 20%)'} |"
        )
    shortcut_types = [label for label, table, *_ in VARIANTS if table == "1" and label != "original"]
    identity = {
        label: lower(error["original"].values, than=error[label].values, images=images, noise=noise)
        for label in shortcut_types
    }
    preact = lower(error["full-preact"].values, than=error["original"].values, images=images, noise=noise)
    lines += [
        "",
        "## The paper's claims against this run",
        "",
        context.claim(
            "The identity shortcut has a lower error than every other shortcut type",
            all_of(list(identity.values())),
            f"identity {percent(error['original'].median)}; "
            + "; ".join(
                f"{label} {percent(error[label].median)}: {v.outcome}, {v.describe()}" for label, v in identity.items()
            ),
            identity,
        ),
        context.claim(
            "Full pre-activation is better than the original unit",
            preact.outcome,
            f"{percent(error['full-preact'].median)} against {percent(error['original'].median)}; {preact.describe()}",
            {"full-preact against original": preact},
        ),
        "",
    ]
    return "\n".join(lines)
