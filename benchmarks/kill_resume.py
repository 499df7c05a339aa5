"""Kill a real training run with SIGKILL at random points, resume it each time, and compare the final weights with an
uninterrupted run of the same config (deterministic mode): they must be bit-identical.

    python -m benchmarks.kill_resume [--kills 5] [--seed 0] [--epochs 60] [--out DIR]

Both runs are the main job (`resnetlab train`: ResNet-20 on the embedded digits) with `--deterministic`, a
checkpoint every 5 iterations inside epochs, and the usual one at each epoch's end. Each kill waits until the
process is training (its metrics file has grown), then a random 0.2-3 s, so kills land mid-epoch, at checkpoints
and during evaluation alike. Exit status 0 when the weights match. docs/reliability.md records a run.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from resnetlab.runs.checkpoint import read_training_checkpoint

COMMON = ["--deterministic", "--no-progress", "--set", "runtime.checkpoint_every=5", "--set", "runtime.log_every=5"]


def _resnetlab(*argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "resnetlab", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _kill_once(process: subprocess.Popen[bytes], metrics: Path, delay: float) -> bool:
    """SIGKILL `process` `delay` s after it has logged something new; False if it finished first."""
    before = _lines(metrics)
    deadline = time.monotonic() + 300
    while _lines(metrics) <= before and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill delays")
    parser.add_argument("--epochs", type=int, default=60, help="long enough that every kill lands before the end")
    parser.add_argument("--out", type=Path, help="where the two runs go (default: a temporary folder)")
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="kill-resume-"))
    config = ["--epochs", str(args.epochs), *COMMON, "--set", f"data.cache_dir={root / 'cache'}"]
    draw = random.Random(args.seed)

    started = time.monotonic()
    reference = _resnetlab("train", *config, "--out", str(root / "reference"))
    if reference.wait() != 0:
        print("the uninterrupted run failed", file=sys.stderr)
        return 1
    print(f"uninterrupted run: {time.monotonic() - started:.0f} s, {root / 'reference'}")

    killed = root / "killed"
    print("| kill | after (s) | checkpoint it resumes from (iteration) |")
    print("|---:|---:|---:|")
    kills = 0
    process = _resnetlab("train", *config, "--out", str(killed))
    while kills < args.kills:
        delay = draw.uniform(0.2, 3.0)
        if not _kill_once(process, killed / "metrics.jsonl", delay):
            print(f"the run finished before kill {kills + 1}; use more --epochs", file=sys.stderr)
            return 1
        kills += 1
        if not (killed / "last.pt").exists():  # killed before its first checkpoint: start over, as a user would
            print(f"| {kills} | {delay:.2f} | none yet: started again |")
            process = _resnetlab("train", *config, "--out", str(killed), "--force")
            continue
        iteration = read_training_checkpoint(killed / "last.pt").loop.iteration
        print(f"| {kills} | {delay:.2f} | {iteration} |")
        process = _resnetlab("train", "--resume", str(killed))
    if process.wait() != 0:
        print("the last resume failed", file=sys.stderr)
        return 1

    expected = read_training_checkpoint(root / "reference" / "last.pt")
    got = read_training_checkpoint(killed / "last.pt")
    weights = expected.model.weights
    same_weights = all(torch.equal(weights[k], got.model.weights[k]) for k in weights)
    iterations = got.loop.iteration
    print(
        f"killed {kills} times and resumed: {iterations} iterations, like the uninterrupted run's "
        f"{expected.loop.iteration}"
    )
    print(f"final weights bit-identical to the uninterrupted run: {'yes' if same_weights else 'NO'}")
    return 0 if same_weights and iterations == expected.loop.iteration else 1


if __name__ == "__main__":
    sys.exit(main())
