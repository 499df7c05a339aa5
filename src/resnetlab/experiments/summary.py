"""What every experiment writes beside its runs: results.json (every run's numbers and every claim's verdict) and
summary.md (tables with the spread over seeds, figures, the paper's claims against what was measured under the one
verdict rule of `resnetlab.experiments.verdict`, the budget, the data and the command)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import resnetlab.files as files
from resnetlab.experiments.budget import Budget, iterations
from resnetlab.experiments.runner import FinishedRun
from resnetlab.experiments.verdict import RULE, Noise, Outcome, Spread, Verdict, family_note, noise_for


@dataclass
class Context:
    """What a summary is written in: the experiment's identity and settings, and what the summary collects as it is
    written (its claims, its measurements), which results.json then records. Not frozen: it collects."""

    name: str
    title: str
    budget: Budget
    data: str | None
    seeds: int
    command: str
    out: Path
    jpeg_copy: bool = False  # the data is a class-per-folder JPEG re-encoding, not CIFAR-10's official arrays
    diverged: tuple[str, ...] = ()  # the run folders whose loss diverged
    figures: bool = True  # False: re-summarised from results.json alone, the committed figures stay as they are
    claims: list[dict[str, Any]] = field(default_factory=list)  # filled by `claim`, written to results.json
    # What an experiment measured beyond the runs' own metrics (the landscape's grids), written to results.json.
    measurements: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # the experiment's own options (its module's OPTIONS)
    precisions: tuple[str, ...] = ()  # the precision each run trained in (runtime.precision of its config.yaml)
    recorded: dict[str, Any] = field(default_factory=dict)  # the results.json summarised again (empty after a run)

    def header(self) -> str:
        data = self.data or "the embedded digits (smoke budget: proves the wiring, shows nothing)"
        per_seed = (
            "one seed"
            if self.seeds == 1
            else f"{self.seeds} seeds: tables give the median and, in brackets, the lowest and highest seed"
        )
        lines = [
            f"# {self.title}\n",
            f"- budget: **{self.budget}**, {iterations(self.budget):,} iterations per run; data: {data}; {per_seed}",
            f"- command: `{self.command}`",
            f"- precision: {self.precision_line()}",
            f"- verdicts: {RULE}",
        ]
        if not self.figures:
            lines.append(
                "- summarised again from results.json by the current resnetlab, under the verdict rule above; the "
                "figures, where shown, are those drawn from the runs"
            )
        if self.jpeg_copy:
            lines.append(
                "- the data is a lossy JPEG re-encoding of CIFAR-10 (class-per-folder files), not the official arrays "
                "the papers used: a net trained on the official images loses about ten points of accuracy on this "
                "copy, and nets trained on it sit above the papers' errors; compare orderings and gaps, not levels"
            )
        if self.diverged:
            lines.append(
                f"- diverged (loss NaN or infinite), counted as failed: {', '.join(self.diverged)}; they read "
                '"diverged" in the tables, rank below every run that finished, and medians are over the other seeds'
            )
        return "\n".join(lines) + "\n"

    def precision_line(self) -> str:
        """How the runs computed: one precision for all, or the mix (which the tables then name per run)."""
        found = sorted(set(self.precisions) - {"unknown"})
        if not found:
            return "not recorded"
        if len(found) == 1:
            return f"{found[0]} (every run)"
        return f"mixed, {' and '.join(found)}: the tables name each run's"

    def noise(self, spreads: Iterable[Spread], measure: str) -> Noise | None:
        """The run-to-run noise of `measure` for this summary's verdicts: pooled over its nets, or measured at its
        budget (`verdict.noise_for`)."""
        return noise_for(spreads, self.budget, measure)

    def figure(self, name: str, alt: str, draw: Callable[[Path], object]) -> list[str]:
        """Draw the figure `name` in the experiment folder (unless summarised again from results.json, which keeps the
        figure drawn from the runs) and link it."""
        if self.figures:
            draw(self.out / name)
        return [f"![{alt}]({name})", ""] if (self.out / name).exists() else []

    def claim(self, claim: str, outcome: Outcome, detail: str, comparisons: Mapping[str, Verdict] | None = None) -> str:
        """One line of the claims list, recorded for results.json: the claim, its verdict, the numbers behind it, and
        each comparison it was decided on (gap, margin, degrees of freedom: what a page may quote)."""
        record = [{"name": name, **v.record()} for name, v in (comparisons or {}).items()]
        self.claims.append({"claim": claim, "verdict": outcome, "detail": detail, "comparisons": record})
        return f"- {claim}: **{outcome}** ({detail})."

    def closing(self) -> str:
        """The line after the claims: how several claims on one page are read (`verdict.family_note`)."""
        return f"\n{family_note(len(self.claims))}.\n" if len(self.claims) > 1 else ""


def not_recorded(context: Context, finished: Sequence[FinishedRun], what: str) -> str:
    """The summary of an experiment summarised again from a results.json that does not record what its claims are
    measured on (written by an older resnetlab): its runs' test errors, and its claims taken off, with why."""
    lines = [
        context.header(),
        "| network | seed | precision | test error |",
        "|---|---|---|---|",
        *(f"| {r.planned.label} | {r.seed} | {r.precision()} | {percent(r.test_error)} |" for r in finished),
        "",
        "## The claims",
        "",
        f"Taken off: the {what} these claims are decided on were not recorded in results.json and the trained "
        f"networks were not committed, so no verdict can be checked. Run `{context.command}` again to measure them.",
        "",
    ]
    return "\n".join(lines)


def spread_of(runs: Sequence[FinishedRun], value: Callable[[FinishedRun], float]) -> Spread:
    """A net's values over its seeds, a diverged seed as NaN."""
    return Spread(tuple(value(run) for run in runs))


def median_of(runs: Sequence[FinishedRun], value: Callable[[FinishedRun], float]) -> float:
    """The median over the seeds that did not diverge (NaN), NaN when all did: `statistics.median` would place a NaN
    anywhere in the order, depending on where it sits."""
    finite = [v for v in map(value, runs) if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def test_images(runs: Sequence[FinishedRun]) -> int | None:
    """How many test images each error rate counts (the binomial floor of the verdicts); None when unknown."""
    counts = [int(run.test["count"]) for run in runs if run.test.get("count") is not None]
    return min(counts) if counts else None


def train_images(runs: Sequence[FinishedRun]) -> int | None:
    """How many training images each last-epoch training error counts; None when unknown."""
    counts = [n for n in (run.final_train_images() for run in runs) if n is not None]
    return min(counts) if counts else None


def by_label(finished: Sequence[FinishedRun]) -> dict[str, list[FinishedRun]]:
    """The runs of each planned label (one per seed), in plan order."""
    grouped: dict[str, list[FinishedRun]] = {}
    for run in finished:
        grouped.setdefault(run.planned.label, []).append(run)
    return grouped


def percent(fraction: float) -> str:
    """A diverged run's error is NaN: it reads as such instead of as a number."""
    return "diverged" if math.isnan(fraction) else f"{100 * fraction:.2f}%"


def percent_spread(spread: Spread) -> str:
    """The median, and with two seeds or more the lowest and highest seed: "15.62% (15.40-15.84)"."""
    text = percent(spread.median)
    if len(spread.finite) >= 2:
        text += f" ({100 * spread.low:.2f}-{100 * spread.high:.2f})"
    if spread.diverged and spread.finite:
        text += f", {spread.diverged} diverged"
    return text


def scalar_spread(spread: Spread, digits: int = 3) -> str:
    """As `percent_spread`, for a scalar that is not a rate."""
    if not spread.finite:
        return "diverged"
    text = f"{spread.median:.{digits}f}"
    if len(spread.finite) >= 2:
        text += f" ({spread.low:.{digits}f}-{spread.high:.{digits}f})"
    return text


def write_results(context: Context, finished: Sequence[FinishedRun]) -> Path:
    rows = [
        {
            "label": run.planned.label,
            "model": run.planned.model,
            "group": run.planned.group,
            "depth": run.planned.depth,
            "seed": run.seed,
            "final_train_error": run.final_train_error(),
            "test_error": run.test_error,
            "test_top5": run.test.get("top5"),
            "test_images": run.test.get("count"),
            "final_train_images": run.final_train_images(),
            "precision": run.precision(),
            "diverged": run.diverged,
            "run_dir": run.run_dir.name,
        }
        for run in finished
    ]
    identity = {"experiment": context.name, "budget": context.budget, "data": context.data, "seeds": context.seeds}
    path = context.out / "results.json"
    document = {**identity, "command": context.command, "rule": RULE, "claims": context.claims, "runs": rows}
    document |= context.measurements
    return files.write_json(path, document)
