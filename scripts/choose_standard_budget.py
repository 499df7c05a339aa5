"""Choose the standard budget's length by measurement: the smallest candidate at which ResNet-56 beats ResNet-20 on
CIFAR-10 test error beyond the noise rule (`resnetlab.experiments.verdict`).

Each candidate trains ResNet-20 and ResNet-56 with the standard recipe at that length, for two seeds each, in an
experiment folder of its own beside the others (`ROOT/standard-search-ITERATIONS`); the search goes from the shortest
candidate up and stops at the first that shows the gap. Those runs are the same as the experiments' own at the chosen
length, so `resnetlab experiment degradation --budget standard --out ROOT/degradation-standard` copies them instead
of training them again. Interrupted, the same command continues where it stopped; run again when it has finished,
it trains nothing and writes the report again.

    python scripts/choose_standard_budget.py --data ../shared/datasets/cifar10 --root runs/experiments \\
        --epochs 8 12 16 --report docs/results/standard-budget-search
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from resnetlab.experiments.budget import CIFAR_ITERATIONS_PER_EPOCH
from resnetlab.experiments.runner import FinishedRun, PlannedRun, run_experiment
from resnetlab.experiments.summary import percent_spread, spread_of, test_images
from resnetlab.experiments.verdict import RULE, Spread, lower
from resnetlab.runs.run_dir import CONFIG_FILE, METRICS_FILE, TEST_METRICS

SHALLOW = PlannedRun("ResNet-20", "cifar_resnet20", "ResNet", 20)
DEEP = PlannedRun("ResNet-56", "cifar_resnet56", "ResNet", 56)


@dataclass(frozen=True)
class Candidate:
    iterations: int
    folder: str  # the experiment folder under ROOT, and under the report folder
    test_error: dict[str, list[float]]  # label -> per seed
    seconds: dict[str, list[float]]  # label -> training wall time per seed, from metrics.jsonl
    verdict: str
    detail: str
    runs: list[str]  # run folders, relative to the report folder

    @property
    def epochs(self) -> float:
        return self.iterations / CIFAR_ITERATIONS_PER_EPOCH


def _seconds(run: FinishedRun) -> float:
    return float(next(r["seconds"] for r in reversed(run.records) if r.get("kind") == "final"))


def _candidate(iterations: int, data: str, root: Path, seeds: int, report: Path | None) -> Candidate:
    out = root / f"standard-search-{iterations}"
    finished = run_experiment(
        out.name,
        [SHALLOW, DEEP],
        budget="standard",
        data=data,
        out=out,
        seeds=seeds,
        length=iterations,
        announce=lambda line: print(f"{out.name}: {line}", file=sys.stderr, flush=True),
    )
    nets = {net.label: [r for r in finished if r.planned == net] for net in (SHALLOW, DEEP)}
    error = {label: spread_of(runs, lambda r: r.test_error) for label, runs in nets.items()}
    verdict = lower(error[DEEP.label].values, than=error[SHALLOW.label].values, images=test_images(finished))
    if report is not None:  # each run's config and metrics: every number of the report traces to them
        for run in finished:
            kept = report / out.name / run.run_dir.name
            kept.mkdir(parents=True, exist_ok=True)
            for name in (CONFIG_FILE, METRICS_FILE, TEST_METRICS):
                shutil.copyfile(run.run_dir / name, kept / name)
    return Candidate(
        iterations,
        out.name,
        {label: list(spread.values) for label, spread in error.items()},
        {label: [_seconds(r) for r in runs] for label, runs in nets.items()},
        verdict.outcome,
        verdict.describe(),
        [f"{out.name}/{r.run_dir.name}" for r in finished],
    )


def _write_report(report: Path, candidates: list[Candidate], chosen: int | None, command: str) -> None:
    report.mkdir(parents=True, exist_ok=True)
    # Also as the experiments record theirs (a row per run, a claim per candidate), which the docs' number check reads.
    runs = [
        {"label": label, "iterations": c.iterations, "seed": seed, "test_error": error}
        for c in candidates
        for label, errors in c.test_error.items()
        for seed, error in enumerate(errors)
    ]
    claims = [
        {
            "claim": f"ResNet-56 better than ResNet-20 at {c.iterations} iterations",
            "verdict": c.verdict,
            "detail": c.detail,
        }
        for c in candidates
    ]
    results = {
        "command": command,
        "rule": RULE,
        "chosen_iterations": chosen,
        "candidates": [{**asdict(c), "epochs": c.epochs} for c in candidates],
        "runs": runs,
        "claims": claims,
    }
    (report / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Choosing the standard budget's length",
        "",
        f"- command: `{command}`",
        f"- verdicts: {RULE}",
        "- test error: the median over the seeds and, in brackets, the lowest and highest seed",
        "",
        "| iterations | epochs | ResNet-20 test error | ResNet-56 test error | ResNet-56 better than ResNet-20 |",
        "|---|---|---|---|---|",
    ]
    for c in candidates:
        cells = [percent_spread(Spread(tuple(c.test_error[net.label]))) for net in (SHALLOW, DEEP)]
        lines.append(f"| {c.iterations:,} | {c.epochs:g} | {cells[0]} | {cells[1]} | **{c.verdict}** ({c.detail}) |")
    outcome = f"{chosen:,} iterations" if chosen else "none of the candidates shows the gap"
    lines += ["", f"Chosen: {outcome}.", ""]
    (report / "summary.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="CIFAR-10: pickle folder or class-per-folder tree")
    parser.add_argument("--root", type=Path, default=Path("runs/experiments"), help="where experiment folders go")
    parser.add_argument("--epochs", type=int, nargs="+", default=[8, 12, 16], help="candidate lengths, in epochs")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--report", type=Path, help="folder for summary.md, results.json and the runs' logs")
    args = parser.parse_args()
    command = " ".join(["python scripts/choose_standard_budget.py", *sys.argv[1:]])
    candidates: list[Candidate] = []
    chosen = None
    for epochs in sorted(args.epochs):
        candidate = _candidate(epochs * CIFAR_ITERATIONS_PER_EPOCH, args.data, args.root, args.seeds, args.report)
        candidates.append(candidate)
        print(f"{candidate.iterations} iterations: {candidate.verdict} ({candidate.detail})", flush=True)
        if candidate.verdict == "shown":
            chosen = candidate.iterations
            break
        if args.report:
            _write_report(args.report, candidates, None, command)
    if args.report:
        _write_report(args.report, candidates, chosen, command)
    print(f"chosen: {chosen}")


if __name__ == "__main__":
    main()
