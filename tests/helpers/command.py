"""`resnetlab` as a user runs it, in a child process: the multi-process tests need a fresh interpreter per launch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def resnetlab(*argv: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "resnetlab", *argv], capture_output=True, text=True, timeout=timeout)


def start_resnetlab(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "resnetlab", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def resume(run: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return resnetlab("train", "--resume", str(run), "--no-progress", timeout=timeout)
