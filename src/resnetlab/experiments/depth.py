"""`depth`: [R1] Table 6. CIFAR-10 test error of ResNet-20, 32, 44, 56 and 110 (and 1202 at the paper budget),
beside the paper's numbers.

[R1] Sec. 4.2's claim: the ResNets gain accuracy as depth increases (8.75% at 20 layers down to 6.43% at 110);
the 1202-layer net is worse than the 110 (7.93%), which [R1] attributes to overfitting a small dataset.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import yaml

from resnetlab.experiments.budget import Budget, warm_up
from resnetlab.experiments.figures import NEUTRAL, WIDTH, finish, styled
from resnetlab.experiments.runner import FinishedRun, PlannedRun
from resnetlab.experiments.summary import Context, by_label, percent, percent_spread, spread_of, test_images
from resnetlab.experiments.verdict import Chain, Noise, Spread, falls_with_depth, higher, lower, pooled, seeds_needed
from resnetlab.models import create_model
from resnetlab.runs.run_dir import CONFIG_FILE

TITLE = "Depth: CIFAR-10 ResNets of 20 to 110 layers ([R1] Table 6)"
# [R1] Table 6, test error (%), 64k iterations; for 110 layers the best of 5 runs (their mean: 6.61 +- 0.16).
PAPER_TEST_ERROR = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43, 1202: 7.93}


def plan(budget: Budget) -> list[PlannedRun]:
    depths = {
        "smoke": (20, 32),
        "quick": (20, 32, 44, 56, 110),
        # The held-out confirmation of [R1]'s depth claim: the endpoints and ResNet-110 (32 and 44 are in the
        # degradation experiment's standard runs, the set that chose the budget).
        "standard": (20, 56, 110),
        "paper": (20, 32, 44, 56, 110, 1202),
    }[budget]
    return [PlannedRun(f"ResNet-{d}", f"cifar_resnet{d}", "ResNet", d, warm_up(d)) for d in depths]


@styled
def _figure(depths: list[int], error: dict[int, Spread], path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(WIDTH, 4.6))
    medians = [100 * error[d].median for d in depths]
    below = [m - 100 * error[d].low for m, d in zip(medians, depths, strict=True)]
    above = [100 * error[d].high - m for m, d in zip(medians, depths, strict=True)]
    axis.errorbar(depths, medians, yerr=[below, above], fmt="o-", capsize=4, label="this run (median, seed range)")
    axis.plot(
        depths, [PAPER_TEST_ERROR[d] for d in depths], "s--", color=NEUTRAL, label="[R1] Table 6 (64k iterations)"
    )
    axis.set(xscale="log", xlabel="depth (layers)", ylabel="test error (%)", title="CIFAR-10 ResNets")
    axis.set_xticks(depths, [str(d) for d in depths])
    axis.minorticks_off()  # the log axis' own minor labels (3x10^1, ...) would print over 32, 44 and 56
    handles, labels = axis.get_legend_handles_labels()  # the error bars (a container) come after the line
    figure.legend(handles[::-1], labels[::-1], loc="outside lower center", ncols=1)
    return finish(figure, path)


def summarize(context: Context, finished: Sequence[FinishedRun]) -> str:
    runs = by_label(finished)
    depths = [seed_runs[0].planned.depth for seed_runs in runs.values()]
    error = {d: spread_of(runs[f"ResNet-{d}"], lambda r: r.test_error) for d in depths}
    images = test_images(finished)
    selection = _selection(context)
    lines = [
        context.header(),
        *context.figure(
            "depth.png",
            "test error against depth, this run and [R1] Table 6",
            lambda path: _figure(depths, error, path),
        ),
        *_table(runs, depths, error, selection),
    ]
    noise = context.noise(error.values(), "test_error")
    up_to_110 = {d: error[d].values for d in depths if d <= 110}
    ends: list[int] = [d for d in (56, 110) if d in up_to_110] or [max(up_to_110)]  # smoke stops at 32 layers
    chain = falls_with_depth(up_to_110, endpoints=ends, images=images, noise=noise)
    shallowest = min(up_to_110)
    held_out = " on the held-out confirmation set (the selection set above chose the budget)" if selection else ""
    lines += [
        "",
        "## The paper's claims against this run",
        "",
        '"Deeper is better" is decided at the endpoints: the shallowest net against ResNet-56 and against '
        "ResNet-110, each under the rule, both needed for **shown**. The rank order over all depths is reported "
        "beside it: [R1]'s adjacent depths differ by 0.2 to 1.2 points, which a short run can read as within noise.",
        "",
        context.claim(
            f"Test error falls as depth grows (to 110 layers){held_out}",
            chain.outcome,
            "; ".join(f"{shallowest} against {d}: {v.outcome}, {v.describe()}" for d, v in chain.endpoints.items())
            + f"; {chain.describe_order()}; "
            + ", ".join(f"{d}: {percent(error[d].median)}" for d in up_to_110),
            {f"{shallowest} against {d}": v for d, v in chain.endpoints.items()},
        ),
    ]
    lines += _needed(chain, noise, error, images)
    if 1202 in error and 110 in error:
        overfit = higher(error[1202].values, than=error[110].values, images=images, noise=noise)
        lines.append(
            context.claim(
                "The 1202-layer net tests worse than the 110-layer one ([R1]: overfitting)",
                overfit.outcome,
                f"{overfit.describe()}; {percent(error[1202].median)} against {percent(error[110].median)}",
                {"1202 against 110": overfit},
            )
        )
    if selection:
        lines += _selection_reading(selection, images)
    lines.append("")
    return "\n".join(lines)


def _table(
    runs: dict[str, list[FinishedRun]], depths: list[int], error: dict[int, Spread], selection: list[dict[str, Any]]
) -> list[str]:
    """Each net's test error beside [R1]'s; with a selection set, its nets first, each row naming its set, seeds and
    precision."""
    rows = [
        "| network | set | seeds | precision | parameters | test error | [R1] Table 6 test error |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, chosen in _by_label(selection).items():
        depth = int(label.removeprefix("ResNet-"))
        spread = Spread(tuple(r["test_error"] for r in chosen))
        role = "selection (chose the budget)" if depth in SEARCHED else "selection (same runs, same seeds)"
        rows.append(
            f"| {label} | {role} | {_seeds(chosen)} | {_precisions(chosen)} | "
            f"{_parameters(depth):,} | {percent_spread(spread)} | {_paper(depth)} |"
        )
    name = "confirmation (held out)" if selection else "this run"
    for depth in depths:
        seed_runs = runs[f"ResNet-{depth}"]
        recorded = [{"seed": r.seed, "precision": r.precision()} for r in seed_runs]
        rows.append(
            f"| ResNet-{depth} | {name} | {_seeds(recorded)} | {_precisions(recorded)} | "
            f"{seed_runs[0].parameters():,} | {percent_spread(error[depth])} | {_paper(depth)} |"
        )
    return rows


def _paper(depth: int) -> str:
    return f"{PAPER_TEST_ERROR[depth]:.2f}%" + (" (best of 5; mean 6.61 ± 0.16)" if depth == 110 else "")


def _parameters(depth: int) -> int:
    return sum(p.numel() for p in create_model(f"cifar_resnet{depth}").parameters())


def _seeds(rows: Sequence[dict[str, Any]]) -> str:
    return ", ".join(str(r["seed"]) for r in rows)


def _precisions(rows: Sequence[dict[str, Any]]) -> str:
    return ", ".join(sorted({str(r.get("precision", "unknown")) for r in rows}))


def _by_label(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["label"], []).append(row)
    return grouped


# The standard budget's length was chosen on the degradation experiment's ResNets (seeds 0 and 1): the first length at
# which ResNet-56 beat ResNet-20 on test error (experiments/budget_search.py). Their verdict is not evidence for
# the depth claim (it selected the budget); the depth experiment trains other seeds and decides on those.
SELECTION_FOLDER = "degradation-standard"
SEARCHED = (20, 56)  # the depths whose comparison chose the length


def _selection(context: Context) -> list[dict[str, Any]]:
    """The ResNet runs that chose the standard budget, as results.json rows with their precision: recorded in the
    results.json summarised again, else read from the degradation experiment's folder beside this one (with each run's
    precision from its config.yaml); none at other budgets or when that folder is not there."""
    if context.budget != "standard":
        return []
    if "selection" in context.recorded:
        return list(context.recorded["selection"]["runs"])
    source = context.out.parent / SELECTION_FOLDER / "results.json"
    if not source.is_file():
        return []
    rows = [
        row
        for row in json.loads(source.read_text())["runs"]
        if row["group"] == "ResNet" and row["seed"] in (0, 1) and row["diverged"] is None
    ]
    for row in rows:
        config = source.parent / row["run_dir"] / CONFIG_FILE
        if config.exists():
            row["precision"] = yaml.safe_load(config.read_text())["runtime"]["precision"]
    context.measurements["selection"] = {"source": SELECTION_FOLDER, "runs": rows}
    return rows


def _selection_reading(selection: list[dict[str, Any]], images: int | None) -> list[str]:
    """The selection set's own reading of 20 against 56, shown beside the claim, not counted as one."""
    chosen = {label: Spread(tuple(r["test_error"] for r in rows)) for label, rows in _by_label(selection).items()}
    if not {"ResNet-20", "ResNet-56"} <= set(chosen):
        return []
    verdict = lower(
        chosen["ResNet-56"].values, than=chosen["ResNet-20"].values, images=images, noise=pooled(chosen.values())
    )
    return [
        "",
        f"- Beside it, not a claim: the selection set ({_precisions(selection)}, seeds {_seeds(selection[:2])}), the "
        f"runs that chose the budget because 56 beat 20 on them, reads 20 against 56 as **{verdict.outcome}** under "
        f"this rule ({verdict.describe()}). A budget chosen where a comparison first came out in favour tends to "
        "flatter that comparison on the same runs: only the confirmation set above decides the claim.",
    ]


def _needed(chain: Chain, noise: Noise | None, error: dict[int, Spread], images: int | None) -> list[str]:
    """For an endpoint that reads within noise with the deeper net ahead: at how many seeds a side the margin would
    shrink below the gap measured, were the gap and the run-to-run noise what this run measured (at that count a true
    gap of this size would clear the margin about half of the time)."""
    lines = []
    shallowest = min(error)
    for depth, verdict in chain.endpoints.items():
        if verdict.outcome != "within noise" or noise is None or not verdict.gap > 0:
            continue
        needed = seeds_needed(verdict.gap, noise, error[depth].mean, error[shallowest].mean, images)
        at = f"at the measured gap ({100 * verdict.gap:.2f} points) and spread ({100 * noise.sd:.2f} points a seed)"
        lines.append(
            f"- {shallowest} against {depth} is within noise: {at}, the margin would fall below the gap at "
            + (
                f"{needed} seeds a side, where a true gap of this size clears it about half of the time."
                if needed
                else "more than 20 seeds a side."
            )
        )
    return lines
