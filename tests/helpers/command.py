"""`resnetlab` as a user runs it: in a child process (`resnetlab`, `start_resnetlab`: the multi-process tests need a
fresh interpreter per launch, and the entry point's own tests run it as installed), or in this process
(`resnetlab_here`: the same `main` the entry point calls, without the 4 s of importing torch again per command)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import warnings
from pathlib import Path
from typing import TextIO

from resnetlab.cli import main

# A fresh interpreter's warning filters (Python's defaults, not pytest's), so warnings print as a user sees them.
_PYTHON_FILTERS: list[tuple[str, type[Warning], str]] = [
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
]


def resnetlab(*argv: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "resnetlab", *argv], capture_output=True, text=True, timeout=timeout)


def start_resnetlab(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "resnetlab", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _show(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def resnetlab_here(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`resnetlab ARGV` run by `resnetlab.cli.main` in this process: its exit code and what it printed. An exception
    that `main` lets through rises here (where a child process would print a traceback), failing the test."""
    stdout, stderr = io.StringIO(), io.StringIO()
    format_warning = warnings.formatwarning  # main sets its own one-line format
    with contextlib.ExitStack() as stack:
        stack.enter_context(warnings.catch_warnings())
        warnings.resetwarnings()
        for action, category, module in reversed(_PYTHON_FILTERS):
            warnings.filterwarnings(action, category=category, module=module)  # type: ignore[arg-type]
        warnings.showwarning = _show
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        stack.enter_context(contextlib.redirect_stdout(stdout))
        stack.enter_context(contextlib.redirect_stderr(stderr))
        try:
            code = main(list(argv))
        except SystemExit as exit:  # argparse's usage errors
            code = exit.code if isinstance(exit.code, int) else 1
        finally:
            warnings.formatwarning = format_warning
    return subprocess.CompletedProcess(["resnetlab", *argv], code, stdout.getvalue(), stderr.getvalue())


def resume(run: Path) -> subprocess.CompletedProcess[str]:
    """`resnetlab train --resume RUN` in one process (this one)."""
    return resnetlab_here("train", "--resume", str(run), "--no-progress")
