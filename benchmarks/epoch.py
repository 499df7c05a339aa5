"""A CIFAR-10 training epoch end to end, data pipeline included: the reference (torchvision's ImageFolder, per-image
PIL transforms in DataLoader workers, fp32, NCHW, eager) against `resnetlab train` with the shipped fast recipe.

    python -m benchmarks.epoch                        # one full epoch each, on ../shared/datasets/cifar10
    python -m benchmarks.epoch --steps 100 --rounds 2 # 100 steps each, twice, alternating
    python -m benchmarks.epoch --model cifar_resnet56 --steps 100 --rounds 2   # the same recipe, 56 layers
    python -m benchmarks.epoch --tiny                 # a made-up 64-image tree; what CI runs
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision.transforms import v2

from benchmarks.harness import common_arguments, machine, run_header
from resnetlab import create_model
from resnetlab.config import load_recipe
from resnetlab.data import guess_dataset
from resnetlab.train.loop import train

RECIPE = "cifar10/resnet20_fast"  # a shipped recipe (`resnetlab recipes`)
# The usual CIFAR-10 channel statistics a user copies into a plain script.
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def reference_epoch(
    root: Path, steps: int | None, batch: int, workers: int, model_name: str = "cifar_resnet20"
) -> tuple[float, float, int]:
    """(seconds, share spent waiting for data, steps) of the plain PyTorch loop a user would write."""
    transform = v2.Compose(
        [
            v2.PILToTensor(),
            v2.RandomCrop(32, padding=4),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(MEAN, STD),
        ]
    )
    data = torchvision.datasets.ImageFolder(str(root / "train"), transform=transform)
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, num_workers=workers, drop_last=False)
    torch.manual_seed(0)
    model = create_model(model_name).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    waiting, done = 0.0, 0
    start = time.perf_counter()
    fetch = time.perf_counter()
    for images, labels in loader:
        waiting += time.perf_counter() - fetch
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()
        done += 1
        if steps is not None and done >= steps:
            break
        fetch = time.perf_counter()
    seconds = time.perf_counter() - start
    return seconds, waiting / seconds, done


def fast_epoch(
    root: Path, steps: int | None, batch: int, scratch: Path, compile: bool, model_name: str = "cifar_resnet20"
) -> tuple[float, float, int]:
    """The same from `resnetlab train` with the fast recipe (its defaults: the path measured fastest on this CPU's
    class, `resnetlab info`): its own epoch record (training only, no evaluation)."""
    overrides = [
        f"model.name={model_name}",
        f"data.path={root}",
        f"data.dataset={guess_dataset(root)}",
        f"data.batch_size={batch}",
        f"runtime.compile={str(compile).lower()}",
        f"runtime.out_dir={scratch}",
        "runtime.log_every=1000000",
    ]
    overrides += ["schedule.unit=iteration", f"schedule.length={steps}"] if steps else ["schedule.length=1"]
    result = train(load_recipe(RECIPE, overrides), show_progress=False)
    records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    epoch = next(r for r in records if r["kind"] == "epoch")
    return epoch["seconds"], epoch["data_wait_share"], result.iterations


def _tiny_tree(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label in range(2):
            folder = root / split / f"class{label}"
            folder.mkdir(parents=True)
            for i in range(32):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return root


def main(argv: list[str] | None = None) -> None:
    parser = common_arguments(__doc__ or "")
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/cifar10"))
    parser.add_argument("--steps", type=int, default=None, help="steps per measurement (default: a full epoch)")
    parser.add_argument("--workers", type=int, default=2, help="the reference's DataLoader workers")
    parser.add_argument("--compile", action="store_true", help="also measure the fast recipe with torch.compile")
    parser.add_argument("--model", default="cifar_resnet20", help="the network of both loops (default: %(default)s)")
    args = parser.parse_args(argv)
    rounds = args.rounds or 1
    batch = 16 if args.tiny else 128
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        root = _tiny_tree(scratch / "tree") if args.tiny else args.data
        if not (root / "train").is_dir():
            raise SystemExit(f"benchmarks.epoch: {root}/train does not exist; pass --data with CIFAR-10's folder tree")
        variants = {
            "reference": lambda: reference_epoch(root, args.steps, batch, args.workers, args.model),
            "resnetlab fast recipe": lambda: fast_epoch(
                root, args.steps, batch, scratch / "runs", compile=False, model_name=args.model
            ),
        }
        if args.compile:
            variants["resnetlab fast recipe + compile"] = lambda: fast_epoch(
                root, args.steps, batch, scratch / "runs", compile=True, model_name=args.model
            )
        fast_epoch(root, 2, batch, scratch / "runs", compile=False)  # fills the decoded-data cache: not timed
        measured: dict[str, list[tuple[float, float, int]]] = {name: [] for name in variants}
        for round_index in range(rounds):
            names = list(variants)
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                measured[name].append(variants[name]())
    payload = {
        "command": ["python", "-m", "benchmarks.epoch", *(argv if argv is not None else sys.argv[1:])],
        "machine": machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model": args.model,
        "batch": batch,
        "results": {
            name: [{"seconds": s, "data_wait_share": w, "steps": n} for s, w, n in rows]
            for name, rows in measured.items()
        },
    }
    print(table(payload))
    out = args.out or Path("benchmarks/results") / ("epoch-tiny.json" if args.tiny else "epoch.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"results: {out}")


def table(payload: dict[str, Any]) -> str:
    """The measured loops side by side: median seconds per step, images/s, speed-up over the reference."""
    batch, measured = payload["batch"], payload["results"]
    per_step = {name: statistics.median(r["seconds"] / r["steps"] for r in rows) for name, rows in measured.items()}
    lines = [
        "| variant | seconds per step (median) | images/s | speed-up | data-wait share | steps |",
        "|---|---|---|---|---|---|",
    ]
    for name, rows in measured.items():
        wait = statistics.median(r["data_wait_share"] for r in rows)
        lines.append(
            f"| {name} | {per_step[name]:.3f} | {batch / per_step[name]:.0f} | "
            f"{per_step['reference'] / per_step[name]:.2f}x | {100 * wait:.1f}% | {rows[0]['steps']} |"
        )
    return "\n".join(lines)


def markdown(payload: dict[str, Any]) -> str:
    """A saved run as the docs show it (docs_hooks/benchmarks.py): when, where and how, then the table."""
    model = payload.get("model", "cifar_resnet20")
    return f"{run_header(payload)} Network: {model}, batch {payload['batch']}.\n\n{table(payload)}"


if __name__ == "__main__":
    main()
