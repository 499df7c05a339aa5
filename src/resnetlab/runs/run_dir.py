"""Run directories: one per run, never silently reused, with the resolved config and the environment inside."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

import resnetlab.files as files
from resnetlab.errors import UserInputError

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
TEST_METRICS = "test_metrics.json"  # written last: its presence means the run has finished
ENVIRONMENT_FILE = "environment.json"  # the versions, CPU and processes a run trained with


def new_run_dir(out: Path | None, root: Path, name: str, *, force: bool) -> Path:
    """`out` if given (refused if it holds files, unless `force`), else a fresh timestamped folder under `root`."""
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = root / f"{stamp}-{name}"
        suffix = 1
        while out.exists():
            suffix += 1
            out = root / f"{stamp}-{name}-{suffix}"
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not force:
            raise UserInputError(
                f"run directory {out} already exists; continue it with --resume {out}, "
                "or start over with --force (the old directory is kept, renamed)"
            )
        kept = out.with_name(f"{out.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
        out.rename(kept)  # never delete what a user had: move it aside
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise UserInputError(f"cannot write to run directory {out}: {error.strerror or error}") from None
    return out


def check_free_space(run_dir: Path, model: torch.nn.Module, *, copies: int = 2) -> None:
    """Refuse to start when the disk cannot hold the run's checkpoints: better now than after hours of training.

    A checkpoint holds the weights and as much again of optimizer state (SGD's momentum), about twice the weights'
    bytes (more with EMA); `last.pt` and `best.pt`, each with its `.prev` and a partial file while it is written, make
    up to six. `copies` is the state's multiple of the weights (2; 4 with EMA).
    """
    weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    needed = 6 * copies * weights + 2**20  # and a megabyte for logs and plots
    existing = run_dir
    while not existing.exists() and existing != existing.parent:  # the run directory is not made yet
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if free < needed:
        raise UserInputError(
            f"not enough free space in {run_dir}: {free / 2**20:.0f} MiB free, the run's checkpoints need about "
            f"{needed / 2**20:.0f} MiB; free some space or choose another --out"
        )


def existing_run_dir(path: Path) -> Path:
    """A run directory to resume: it must hold a config and a last checkpoint."""
    if path.is_file():
        path = path.parent
    if not (path / CONFIG_FILE).is_file() or not (path / LAST_CHECKPOINT).is_file():
        raise UserInputError(f"{path} is not a resumable run directory (needs {CONFIG_FILE} and {LAST_CHECKPOINT})")
    return path


def environment(processes: int = 1) -> dict[str, Any]:
    """What produced a run: versions, machine, command line, and the code's git commit when there is one; `processes`
    is the number of training processes (torchrun's world size), among which data.batch_size is shared."""
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "processes": processes,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "command": sys.argv,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        import torchvision

        info["torchvision"] = torchvision.__version__
    except ImportError:  # pragma: no cover - torchvision is a dependency
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
        info["git_commit"] = commit.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    return info


class MetricsLog:
    """metrics.jsonl: one JSON object a line, `"kind": "iteration"` or `"epoch"`, flushed as it is written."""

    def __init__(self, path: Path, *, resume_after_iteration: int | None = None) -> None:
        self.path = path
        already = 0.0  # training seconds before this process: wall_seconds counts the run, not the process
        if resume_after_iteration is not None and path.exists():
            # Lines logged after the checkpoint we resume from would be logged again: drop them first.
            kept = [line for line in path.read_text().splitlines() if _iteration(line) <= resume_after_iteration]
            files.write_text(path, "".join(line + "\n" for line in kept))
            already = max((_wall_seconds(line) for line in kept), default=0.0)
        self._handle = open(path, "a")  # noqa: SIM115 - lives as long as the run
        self._started = time.time() - already
        # purge_step: TensorBoard drops its own events past the checkpoint, as the lines above are dropped.
        purge = None if resume_after_iteration is None else resume_after_iteration + 1
        self._tensorboard = _tensorboard_writer(path.parent / "tensorboard", purge)

    def write(self, record: dict[str, Any]) -> None:
        record = {**record, "time": time.time(), "wall_seconds": time.time() - self._started}
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()
        if self._tensorboard is not None:
            for key, value in record.items():
                if isinstance(value, int | float) and key not in ("iteration", "time"):
                    self._tensorboard.add_scalar(f"{record['kind']}/{key}", value, record.get("iteration", 0))

    def close(self) -> None:
        self._handle.close()
        if self._tensorboard is not None:
            self._tensorboard.close()


def _tensorboard_writer(log_dir: Path, purge_step: int | None) -> Any:
    """TensorBoard logs when the optional `tensorboard` package is installed (`pip install resnetlab[tensorboard]`)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)


def _wall_seconds(line: str) -> float:
    try:
        return float(json.loads(line).get("wall_seconds", 0.0))
    except (ValueError, AttributeError, TypeError):
        return 0.0


def _iteration(line: str) -> int:
    try:
        return int(json.loads(line).get("iteration", 0))
    except (ValueError, AttributeError):
        return 1 << 62  # an unreadable line (a write cut short) is dropped


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / METRICS_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a kill
    return records
