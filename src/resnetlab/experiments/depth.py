"""`depth`: [R1] Table 6. CIFAR-10 test error of ResNet-20, 32, 44, 56 and 110 (and 1202 at the paper budget),
beside the paper's numbers.

[R1] Sec. 4.2's claim: the ResNets gain accuracy as depth increases (8.75% at 20 layers down to 6.43% at 110);
the 1202-layer net is worse than the 110 (7.93%), which [R1] attributes to overfitting a small dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from resnetlab.experiments.budget import Budget, warm_up
from resnetlab.experiments.figures import finish
from resnetlab.experiments.runner import FinishedRun, PlannedRun
from resnetlab.experiments.summary import Context, by_label, falls_with_depth, lower, median_of, percent, verdict

TITLE = "Depth: CIFAR-10 ResNets of 20 to 110 layers ([R1] Table 6)"
# [R1] Table 6, test error (%), 64k iterations; for 110 layers the best of 5 runs (their mean: 6.61 +- 0.16).
PAPER_TEST_ERROR = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43, 1202: 7.93}


def plan(budget: Budget) -> list[PlannedRun]:
    depths = {"smoke": (20, 32), "quick": (20, 32, 44, 56, 110), "paper": (20, 32, 44, 56, 110, 1202)}[budget]
    return [PlannedRun(f"ResNet-{d}", f"cifar_resnet{d}", "ResNet", d, warm_up(d)) for d in depths]


def _figure(depths: list[int], error: dict[int, float], path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(depths, [100 * error[d] for d in depths], "o-", label="this run")
    axis.plot(depths, [PAPER_TEST_ERROR[d] for d in depths], "s--", label="[R1] Table 6 (64k iterations)")
    axis.set(xscale="log", xlabel="depth (layers)", ylabel="test error (%)", title="CIFAR-10 ResNets")
    axis.set_xticks(depths, [str(d) for d in depths])
    axis.minorticks_off()  # the log axis' own minor labels (3x10^1, ...) would print over 32, 44 and 56
    return finish([axis], figure, path)


def summarize(context: Context, finished: Sequence[FinishedRun]) -> str:
    runs = by_label(finished)
    depths = [seed_runs[0].planned.depth for seed_runs in runs.values()]
    error = {d: median_of(runs[f"ResNet-{d}"], lambda r: r.test_error) for d in depths}
    figure = _figure(depths, error, context.out / "depth.png")
    lines = [
        context.header(),
        f"![test error against depth, this run and [R1] Table 6]({figure.name})",
        "",
        "| network | parameters | test error | [R1] Table 6 test error |",
        "|---|---|---|---|",
    ]
    for depth in depths:
        params = runs[f"ResNet-{depth}"][0].parameters()
        lines.append(f"| ResNet-{depth} | {params:,} | {percent(error[depth])} | {PAPER_TEST_ERROR[depth]:.2f}% |")
    up_to_110 = [error[d] for d in depths if d <= 110]
    falls = falls_with_depth(up_to_110)
    lines += [
        "",
        "## The paper's claims against this run",
        "",
        f"- Test error falls as depth grows (to 110 layers): {verdict(falls)} "
        f"({', '.join(f'{d}: {percent(error[d])}' for d in depths if d <= 110)}).",
    ]
    if 1202 in error and 110 in error:
        lines.append(
            f"- The 1202-layer net tests worse than the 110-layer one ([R1]: overfitting): "
            f"{verdict(lower(error[110], than=error[1202]))} ({percent(error[1202])} against {percent(error[110])})."
        )
    lines.append("")
    return "\n".join(lines)
