"""Accuracy guard: the same short CIFAR-10 run trained twice, with the fast path (the defaults: bf16 where native,
channels_last) and as the fp32 reference (fp32, NCHW), same seed; both test accuracies and times side by side.

    python -m benchmarks.accuracy_guard --epochs 5      # on ../shared/datasets/cifar10
    python -m benchmarks.accuracy_guard --tiny          # digits, one epoch; what CI runs
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import common_arguments, machine
from resnetlab.config import load_config, load_recipe
from resnetlab.data import guess_dataset
from resnetlab.train.loop import train

RECIPE = "cifar10/resnet20_fast"  # a shipped recipe (`resnetlab recipes`)
VARIANTS = {
    "reference (fp32, NCHW)": ["runtime.precision=fp32", "runtime.channels_last=false"],
    "fast path (defaults)": ["runtime.precision=auto", "runtime.channels_last=auto"],
}


def main(argv: list[str] | None = None) -> None:
    parser = common_arguments(__doc__ or "")
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/cifar10"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, settings in VARIANTS.items():
            if args.tiny:
                overrides = ["schedule.length=1"]
                config = load_config(None, [*overrides, *settings, f"runtime.out_dir={scratch}"])
            else:
                data = [f"data.path={args.data}", f"data.dataset={guess_dataset(args.data)}"]
                overrides = [*data, f"schedule.length={args.epochs}", f"runtime.seed={args.seed}"]
                config = load_recipe(RECIPE, [*overrides, *settings, f"runtime.out_dir={scratch}"])
            result = train(config, show_progress=False)
            records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
            epochs = [r for r in records if r["kind"] == "epoch"]
            rows[name] = {
                "test_top1": result.test.top1,
                "test_loss": result.test.loss,
                "epoch_seconds": [r["seconds"] for r in epochs],
                "seconds": result.seconds,
                "precision": config.runtime.precision,
            }
    print("| variant | test top-1 | test loss | seconds per epoch (median) | total seconds |")
    print("|---|---|---|---|---|")
    for name, row in rows.items():
        seconds = sorted(row["epoch_seconds"])[len(row["epoch_seconds"]) // 2]
        top1, loss = 100 * row["test_top1"], row["test_loss"]
        print(f"| {name} | {top1:.2f}% | {loss:.4f} | {seconds:.1f} | {row['seconds']:.0f} |")
    out = args.out or Path("benchmarks/results") / ("accuracy_guard-tiny.json" if args.tiny else "accuracy_guard.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    command = ["python", "-m", "benchmarks.accuracy_guard", *(argv if argv is not None else sys.argv[1:])]
    out.write_text(json.dumps({"command": command, "machine": machine(), "results": rows}, indent=2) + "\n")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
