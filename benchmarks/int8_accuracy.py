"""What int8 costs in accuracy: trained runs evaluated on their test split in fp32, bf16 and int8 side by side.

int8 is calibrated on CALIBRATION_IMAGES of each run's own training images, never on the images it is scored on
(`resnetlab eval RUN --precision int8` does the same). The difference to fp32 is on the same test images.

    python -m benchmarks.int8_accuracy RUN [RUN ...] --out docs/benchmarks/int8-accuracy.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import machine, run_header
from resnetlab.config import load_config
from resnetlab.errors import UserInputError
from resnetlab.inference.evaluate_run import CALIBRATION_IMAGES, evaluate_checkpoint
from resnetlab.runs.run_dir import CONFIG_FILE

PRECISIONS = ("fp32", "bf16", "int8")


def measure(run_dir: Path) -> dict[str, Any]:
    """One run's test accuracy in each precision, with what identifies the run (network, length, data)."""
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserInputError(
            f"{run_dir} is not a run directory (no {CONFIG_FILE}); give one that `resnetlab train` wrote"
        )
    config = load_config(run_dir / CONFIG_FILE)
    length = config.schedule.length
    row: dict[str, Any] = {
        "run": str(run_dir),
        "model": config.model.name,
        "length": f"{length:,} {config.schedule.unit}{'s' if length != 1 else ''}",
        "data": config.data.path,
        "top1": {},
        "seconds": {},
    }
    for precision in PRECISIONS:
        start = time.perf_counter()
        result, _ = evaluate_checkpoint(run_dir, precision=precision)
        row["top1"][precision] = result.top1
        row["seconds"][precision] = time.perf_counter() - start
        row["count"] = result.count
    return row


def markdown(payload: dict[str, Any]) -> str:
    """The saved measurements as the docs show them (docs_hooks/benchmarks.py)."""
    lines = [
        f"{run_header(payload)} int8 calibrated on {payload['calibration_images']} of each run's training images.",
        "",
        "| run | network | trained for | test images | fp32 top-1 | bf16 top-1 | int8 top-1 | int8 - fp32 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in payload["runs"]:
        top1 = row["top1"]
        lines.append(
            f"| {Path(row['run']).parent.name}/{Path(row['run']).name} | {row['model']} | {row['length']} | "
            f"{row['count']:,} | {100 * top1['fp32']:.2f}% | {100 * top1['bf16']:.2f}% | {100 * top1['int8']:.2f}% | "
            f"{100 * (top1['int8'] - top1['fp32']):+.2f} points |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="trained run directories")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/int8_accuracy.json"))
    args = parser.parse_args(argv)
    payload = {
        "command": ["python", "-m", "benchmarks.int8_accuracy", *map(str, args.runs), "--out", str(args.out)],
        "machine": machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "calibration_images": CALIBRATION_IMAGES,
    }
    try:
        payload["runs"] = [measure(run_dir) for run_dir in args.runs]
    except UserInputError as error:
        parser.error(str(error))
    print(markdown(payload))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
