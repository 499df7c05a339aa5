"""`resnetlab` command line: the only place that parses arguments. One module per group of commands; this one
builds the parser and turns every expected failure into one line and an exit code."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Sequence

from resnetlab.cli import catalog, deploy, experiments, info, training
from resnetlab.cli.arguments import Parser, UsageError
from resnetlab.errors import UserInputError
from resnetlab.runtime.distributed import Distributed, from_environment, lost_another_process
from resnetlab.runtime.launch import leave_message
from resnetlab.train.loop import TrainingInterruptedError

__all__ = ["UsageError", "build_parser", "main"]

_default_format_warning = warnings.formatwarning


def _format_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, line: str | None = None
) -> str:
    """resnetlab's own warnings (skipped files, an unwritable cache) as one line, without a source location that
    would point into resnetlab rather than at the user's data."""
    if category.__module__.startswith("resnetlab"):
        return f"resnetlab: warning: {message}\n"
    return _default_format_warning(message, category, filename, lineno, line)


def main(argv: Sequence[str] | None = None) -> int:
    warnings.formatwarning = _format_warning
    for stream in (sys.stdout, sys.stderr):
        _print_file_names_as_bytes(stream)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.run(args) or 0)
    except TrainingInterruptedError as error:
        _say(f"resnetlab: {error}")
        return error.exit_code  # 128 + the signal's number, as the shell reports a process it stopped
    except KeyboardInterrupt:
        _say("resnetlab: interrupted")
        return 130
    except BrokenPipeError:  # `resnetlab models | head` closing the pipe early is fine (an OSError: caught first)
        # Python flushes stdout once more at exit, which would fail again and print "Exception ignored".
        with contextlib.suppress(OSError, ValueError):  # a stdout without a file behind it has nothing to flush
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # a full disk or a file that vanished: the machine's state, not a bug
        where = f" ({error.filename})" if error.filename else ""
        _say(f"resnetlab: error: {error.strerror or error}{where}")
        return 1
    except (UsageError, UserInputError) as error:
        _say(f"resnetlab: error: {error}")
        return 2
    except RuntimeError as error:
        # A process of a multi-process run whose partner died (SIGKILL, out of memory) fails in its next collective;
        # the launcher names the process that died, so this one only says why it stopped. Other errors are bugs.
        reason = lost_another_process(error)
        if reason is None:
            raise
        context = _torchrun_process()
        _say(
            f"resnetlab: error: training process {0 if context is None else context.rank} lost contact with the others "
            f"({reason}); the run directory keeps its last checkpoint for `resnetlab train --resume`"
        )
        return 1


def _torchrun_process() -> Distributed | None:
    """The torchrun process this is (None: a single process, or a torchrun environment too broken to say)."""
    try:
        return from_environment()
    except UserInputError:  # the error being reported may be this one: say it, do not raise it again
        return None


def _say(message: str) -> None:
    """One line on stderr. Under torchrun every process meets the same bad input, so rank 0 speaks for all; the
    others leave their line to resnetlab's launcher, which prints what rank 0 did not say (resnetlab.runtime.launch).
    Under a plain torchrun they print it with their rank."""
    context = _torchrun_process()
    if context is None:
        print(message, file=sys.stderr)
        return
    left = leave_message(message, context.rank)
    if context.is_main:
        print(message, file=sys.stderr)
    elif not left:
        print(f"[rank {context.rank}] {message}", file=sys.stderr)


def _print_file_names_as_bytes(stream: object) -> None:
    """A file name that is not valid UTF-8 (from another system's archive) prints as its original bytes instead of
    failing the whole command. Only for streams backed by a file: in-memory captures keep their own rules."""
    try:
        stream.fileno()  # type: ignore[attr-defined]
        stream.reconfigure(errors="surrogateescape")  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        pass


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="resnetlab", description="Residual networks of He et al., on PyTorch.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True, parser_class=Parser)
    for group in (catalog, training, deploy, experiments, info):
        group.add_commands(commands)
    return parser
