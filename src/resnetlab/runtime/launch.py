"""`resnetlab train --nproc N`: torchrun's elastic launcher, run in this process, starting N training processes.

In this process rather than as a `torchrun` subprocess so that a failure ends as the rest of resnetlab's do: one line
saying what went wrong, an exit code, and no launcher traceback. Every process meets the same bad input, so rank 0
speaks for all of them; the others leave their one-line message in a folder the launcher reads when they fail, and
it prints the messages rank 0 did not already say.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

MESSAGES = "RESNETLAB_MESSAGES"  # the environment variable naming the folder of the processes' messages

# Exit codes after which the process has printed (rank 0) or left (the others) its one line, or a traceback.
_REPORTED = {1, 2, 128 + signal.SIGINT, 128 + signal.SIGTERM}


def launch_processes(count: int, arguments: list[str]) -> int:
    """Run `resnetlab ARGUMENTS...` in `count` local processes, as `torchrun --standalone --nproc-per-node`."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    # torchrun's default is one thread per process, announced with a banner; the machine's cores shared out
    # among the processes uses all of them without oversubscribing.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // count)))
    _quiet_launcher()
    launcher = get_args_parser().parse_args(
        ["--standalone", f"--nproc-per-node={count}", "-m", "resnetlab", *arguments]
    )
    with tempfile.TemporaryDirectory(prefix="resnetlab-messages-") as folder:
        os.environ[MESSAGES] = folder  # the processes inherit the launcher's environment
        try:
            run(launcher)
        except ChildFailedError as failed:
            return exit_code(failed, _read_messages(Path(folder)))
        except SignalException as stopped:  # Ctrl-C or SIGTERM reached the launcher, which passed it on
            return 128 + int(stopped.sigval)
        finally:
            del os.environ[MESSAGES]
    return 0


def leave_message(message: str, rank: int) -> bool:
    """In process `rank` of those resnetlab's launcher started: keep `message` for the launcher; False anywhere
    else."""
    folder = os.environ.get(MESSAGES)
    if folder is None:
        return False
    (Path(folder) / f"rank{rank}.txt").write_text(message)
    return True


def _read_messages(folder: Path) -> dict[int, str]:
    return {int(path.stem.removeprefix("rank")): path.read_text() for path in folder.glob("rank*.txt")}


def _quiet_launcher() -> None:
    """The launcher's log repeats what the processes say (a failure, a stop signal) with its own traceback. Each of
    its modules' loggers has a level of its own, set when imported, so each is raised here."""
    for name, logger in logging.Logger.manager.loggerDict.items():
        if name.startswith("torch.distributed.") and isinstance(logger, logging.Logger):
            logger.setLevel(logging.CRITICAL)


def exit_code(failed: ChildFailedError, messages: dict[int, str]) -> int:
    """Print what the failed processes have not said yet, and return the exit code of the first that says it.

    When one process fails, the launcher stops the others with SIGTERM (they checkpoint and exit with 143), so a
    failure shows up as one process with its own reason and others with 143."""
    said = {messages[0]} if 0 in messages else set()  # rank 0 printed its own
    code: int | None = None
    for rank in sorted(failed.failures):
        exitcode = failed.failures[rank].exitcode
        message = messages.get(rank)
        if message is not None and message not in said:
            print(message, file=sys.stderr)
            said.add(message)
        elif message is None and exitcode not in _REPORTED and exitcode != -signal.SIGTERM:
            how = f"was killed by {signal.Signals(-exitcode).name}" if exitcode < 0 else f"exited with code {exitcode}"
            print(f"resnetlab: error: training process {rank} {how}; its output is above", file=sys.stderr)
        else:
            continue
        code = code if code is not None else _shell_code(exitcode)
    if code is not None:
        return code
    # Everything was said already: the code of the process that failed first (the others may have been stopped by
    # the launcher after it, with 143).
    return _shell_code(failed.get_first_failure()[1].exitcode)


def _shell_code(exitcode: int) -> int:
    """A process killed by signal N exits, as the shell reports it, with 128 + N."""
    return 128 - exitcode if exitcode < 0 else exitcode
