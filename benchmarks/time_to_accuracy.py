"""Time to accuracy, read from finished (or running) training runs: when each run's test accuracy first reached each
threshold, in epochs and in training time, and its accuracy curve.

    python -m benchmarks.time_to_accuracy RUN_DIR [RUN_DIR ...] [--thresholds 85 88 90 91.25] [--every 10]

Training time is the sum of the epochs' own durations (the `seconds` of each epoch record in metrics.jsonl, evaluation
excluded), so pauses between a kill and its `--resume` do not count. This machine is shared: an epoch slowed by another
process counts as it ran, so the median epoch times the epoch count is printed beside it as the undisturbed estimate.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

import yaml

# [R1] Table 6: ResNet-20's 8.75% CIFAR-10 test error, the target of the time-to-accuracy run.
PAPER_RESNET20 = 91.25


@dataclass(frozen=True)
class Epoch:
    epoch: int
    seconds: float
    test_top1: float  # percent


def read_epochs(run_dir: Path) -> list[Epoch]:
    """The run's epoch records in order; a record repeated by a resume (same epoch) counts once, the last one."""
    by_epoch: dict[int, Epoch] = {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("kind") == "epoch" and "test_top1" in record:
            by_epoch[record["epoch"]] = Epoch(record["epoch"], record["seconds"], 100 * record["test_top1"])
    return [by_epoch[key] for key in sorted(by_epoch)]


def first_reaching(epochs: list[Epoch], threshold: float) -> tuple[int, float] | None:
    """(epochs, training seconds) when test accuracy first reached `threshold` percent, or None."""
    elapsed = 0.0
    for record in epochs:
        elapsed += record.seconds
        if record.test_top1 >= threshold:
            return record.epoch, elapsed
    return None


def describe(run_dir: Path, thresholds: list[float], every: int) -> str:
    epochs = read_epochs(run_dir)
    if not epochs:
        return f"## {run_dir}\n\nno epoch with a test accuracy yet\n"
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    total = sum(e.seconds for e in epochs)
    median = statistics.median(e.seconds for e in epochs)
    planned = config["schedule"]["length"] if config["schedule"]["unit"] == "epoch" else None
    lines = [
        f"## {run_dir.name}",
        "",
        f"model {config['model']['name']}, schedule {config['schedule']['kind']} over {planned or '?'} epochs, "
        f"{len(epochs)} epochs done, precision {config['runtime']['precision']}, "
        f"channels_last {config['runtime']['channels_last']}",
        f"final test accuracy {epochs[-1].test_top1:.2f}%, best {max(e.test_top1 for e in epochs):.2f}%; "
        f"training time {total / 60:.1f} min (median epoch {median:.1f} s x {len(epochs)} = "
        f"{median * len(epochs) / 60:.1f} min)",
        "",
        "| threshold | epochs | training minutes |",
        "|---|---|---|",
    ]
    for threshold in thresholds:
        reached = first_reaching(epochs, threshold)
        if reached is None:
            best = max(e.test_top1 for e in epochs)
            lines.append(
                f"| {threshold:.2f}% | not reached (best {best:.2f}%, {threshold - best:.2f} points short) | |"
            )
        else:
            lines.append(f"| {threshold:.2f}% | {reached[0]} | {reached[1] / 60:.1f} |")
    lines += ["", "| epoch | training minutes | test top-1 |", "|---|---|---|"]
    elapsed = 0.0
    for record in epochs:
        elapsed += record.seconds
        if record.epoch % every == 0 or record is epochs[-1]:
            lines.append(f"| {record.epoch} | {elapsed / 60:.1f} | {record.test_top1:.2f}% |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (each with metrics.jsonl and config.yaml)")
    parser.add_argument("--thresholds", nargs="+", type=float, default=[85.0, 88.0, 90.0, PAPER_RESNET20])
    parser.add_argument("--every", type=int, default=10, help="print every N-th epoch of the curve")
    args = parser.parse_args(argv)
    for run_dir in args.runs:
        if not (run_dir / "metrics.jsonl").is_file():
            parser.error(
                f"{run_dir} is not a run directory (no metrics.jsonl); pass a directory `resnetlab train` made"
            )
        print(describe(run_dir, args.thresholds, args.every))


if __name__ == "__main__":
    main()
