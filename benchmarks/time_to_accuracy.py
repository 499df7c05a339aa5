"""Time to accuracy, read from finished (or running) training runs: when each run's test accuracy first reached each
threshold, in epochs and in training time, and its accuracy curve.

    python -m benchmarks.time_to_accuracy RUN_DIR [RUN_DIR ...] [--thresholds 85 88 90 91.25] [--every 10] [--out F]

Arithmetic is counted as training does it: 3 x the forward pass's 2 x MACs (forward, and a backward of twice the
forward's cost) for every training image seen, evaluation excluded, in PFLOP (1e15 floating-point operations).
`--out` also writes every figure as JSON (results.json), for pages that quote them.

Training time is the sum of the epochs' own durations (the `seconds` of each epoch record in metrics.jsonl, evaluation
excluded), so pauses between a kill and its `--resume` do not count. This machine is shared: an epoch slowed by another
process counts as it ran, so the median epoch times the epoch count is printed beside it as the undisturbed estimate.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from resnetlab import files
from resnetlab.analysis import complexity
from resnetlab.models import create_model

# [R1] Table 6: ResNet-20's 8.75% CIFAR-10 test error, the target of the time-to-accuracy run.
PAPER_RESNET20 = 91.25


@dataclass(frozen=True)
class Epoch:
    epoch: int
    seconds: float
    test_top1: float  # percent
    iteration: int | None = None  # iterations done by the epoch's end


@dataclass(frozen=True)
class Reached:
    epoch: int
    seconds: float  # training time until then
    pflop: float | None  # training arithmetic until then


def read_epochs(run_dir: Path) -> list[Epoch]:
    """The run's epoch records in order; a record repeated by a resume (same epoch) counts once, the last one."""
    by_epoch: dict[int, Epoch] = {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("kind") == "epoch" and "test_top1" in record:
            epoch = record["epoch"]
            by_epoch[epoch] = Epoch(epoch, record["seconds"], 100 * record["test_top1"], record.get("iteration"))
    return [by_epoch[key] for key in sorted(by_epoch)]


def training_pflop(config: dict[str, Any], iterations: int | None) -> float | None:
    """Training arithmetic of `iterations` steps of the run's global batch: 3 x 2 x the forward MACs an image.
    None where the iteration count is not recorded."""
    if iterations is None:
        return None
    options = json.dumps(config["model"].get("options", {}), sort_keys=True)
    macs = _forward_macs(config["model"]["name"], options, config["data"].get("image_size") or 32)
    return 6 * macs * config["data"]["batch_size"] * iterations / 1e15


@functools.cache  # once per network: every threshold of a run asks
def _forward_macs(name: str, options: str, size: int) -> int:
    return complexity(create_model(name, **json.loads(options)), (3, size, size)).macs


def first_reaching(epochs: list[Epoch], threshold: float, config: dict[str, Any] | None = None) -> Reached | None:
    """When test accuracy first reached `threshold` percent (epochs, training seconds, PFLOP), or None."""
    elapsed = 0.0
    for record in epochs:
        elapsed += record.seconds
        if record.test_top1 >= threshold:
            pflop = training_pflop(config, record.iteration) if config is not None else None
            return Reached(record.epoch, elapsed, pflop)
    return None


def summarize(run_dir: Path, thresholds: list[float]) -> dict[str, Any]:
    """Every figure of one run: what it trained, where, its accuracy, time and arithmetic to each threshold, its
    curve. Accuracies in percent, times in minutes."""
    epochs = read_epochs(run_dir)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    environment_file = run_dir / "environment.json"
    environment = json.loads(environment_file.read_text()) if environment_file.is_file() else {}
    seconds = [e.seconds for e in epochs]
    elapsed = list(itertools.accumulate(seconds))
    record: dict[str, Any] = {
        "run": run_dir.name,
        "model": config["model"]["name"],
        "schedule": config["schedule"]["kind"],
        "planned_epochs": config["schedule"]["length"] if config["schedule"]["unit"] == "epoch" else None,
        "epochs_done": len(epochs),
        "batch_size": config.get("data", {}).get("batch_size"),
        "precision": config["runtime"]["precision"],
        "channels_last": config["runtime"]["channels_last"],
        "compile": config["runtime"].get("compile", False),
        "cpu_class": environment.get("cpu_class"),
        "torch_threads": environment.get("torch_threads"),
        "final_top1": epochs[-1].test_top1 if epochs else None,
        "best_top1": max((e.test_top1 for e in epochs), default=None),
        "minutes": elapsed[-1] / 60 if epochs else 0.0,
        "median_epoch_seconds": statistics.median(seconds) if epochs else None,
        "pflop": training_pflop(config, epochs[-1].iteration) if epochs else None,
        "thresholds": {},
        "curve": [
            {"epoch": e.epoch, "minutes": total / 60, "top1": e.test_top1}
            for e, total in zip(epochs, elapsed, strict=True)
        ],
    }
    for threshold in thresholds:
        reached = first_reaching(epochs, threshold, config)
        record["thresholds"][f"{threshold:g}"] = (
            None
            if reached is None
            else {"epoch": reached.epoch, "minutes": reached.seconds / 60, "pflop": reached.pflop}
        )
    return record


def describe(record: dict[str, Any], every: int) -> str:
    """The run's summary as markdown: the recipe line, the thresholds table and every `every`-th epoch."""
    if not record["epochs_done"]:
        return f"## {record['run']}\n\nno epoch with a test accuracy yet\n"
    median = record["median_epoch_seconds"]
    lines = [
        f"## {record['run']}",
        "",
        f"model {record['model']}, schedule {record['schedule']} over {record['planned_epochs'] or '?'} epochs, "
        f"{record['epochs_done']} epochs done, batch {record['batch_size']}, precision {record['precision']}, "
        f"channels_last {record['channels_last']}, compile {record['compile']}, CPU class {record['cpu_class']}",
        f"final test accuracy {record['final_top1']:.2f}%, best {record['best_top1']:.2f}%; "
        f"training time {record['minutes']:.1f} min (median epoch {median:.1f} s x {record['epochs_done']} = "
        f"{median * record['epochs_done'] / 60:.1f} min){_pflop_text(record['pflop'], ', ')}",
        "",
        "| threshold | epochs | training minutes | PFLOP |",
        "|---|---|---|---|",
    ]
    for threshold, reached in record["thresholds"].items():
        if reached is None:
            short = float(threshold) - record["best_top1"]
            lines.append(
                f"| {float(threshold):.2f}% | not reached (best {record['best_top1']:.2f}%, {short:.2f} points short) "
                "| | |"
            )
        else:
            pflop = "" if reached["pflop"] is None else f"{reached['pflop']:.3f}"
            lines.append(f"| {float(threshold):.2f}% | {reached['epoch']} | {reached['minutes']:.1f} | {pflop} |")
    lines += ["", "| epoch | training minutes | test top-1 |", "|---|---|---|"]
    for point in record["curve"]:
        if point["epoch"] % every == 0 or point is record["curve"][-1]:
            lines.append(f"| {point['epoch']} | {point['minutes']:.1f} | {point['top1']:.2f}% |")
    return "\n".join(lines) + "\n"


def _pflop_text(pflop: float | None, prefix: str = "") -> str:
    return "" if pflop is None else f"{prefix}{pflop:.3f} PFLOP"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (each with metrics.jsonl and config.yaml)")
    parser.add_argument("--thresholds", nargs="+", type=float, default=[85.0, 88.0, 90.0, PAPER_RESNET20])
    parser.add_argument("--every", type=int, default=10, help="print every N-th epoch of the curve")
    parser.add_argument(
        "--out", type=Path, help="also write the figures as JSON here (e.g. docs/results/NAME/results.json)"
    )
    args = parser.parse_args(argv)
    for run_dir in args.runs:
        if not (run_dir / "metrics.jsonl").is_file() or not (run_dir / "config.yaml").is_file():
            parser.error(
                f"{run_dir} is not a run directory (no metrics.jsonl or config.yaml); pass a directory "
                "`resnetlab train` made"
            )
    records = [summarize(run_dir, args.thresholds) for run_dir in args.runs]
    for record in records:
        print(describe(record, args.every))
    if args.out is not None:
        files.write_json(
            args.out,
            {
                "command": ["python", "-m", "benchmarks.time_to_accuracy", *(argv or sys.argv[1:])],
                "thresholds": args.thresholds,
                "runs": records,
            },
        )


if __name__ == "__main__":
    main()
