"""`resnetlab train --nproc N`: torchrun's elastic launcher, run in this process, starting N training processes.

In this process rather than as a `torchrun` subprocess so that a failure ends as the rest of resnetlab's do: the
processes' own one-line error (rank 0 speaks for all of them), an exit code, and no launcher traceback.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import get_args_parser, run

# Exit codes after which rank 0 has already printed its one line (see resnetlab.cli.main).
_REPORTED = {1, 2, 128 + signal.SIGINT, 128 + signal.SIGTERM}


def launch_processes(count: int, arguments: list[str]) -> int:
    """Run `resnetlab ARGUMENTS...` in `count` local processes, as `torchrun --standalone --nproc-per-node`."""
    # torchrun's default is one thread per process, announced with a banner; the machine's cores shared out
    # among the processes uses all of them without oversubscribing.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // count)))
    _quiet_launcher()
    launcher = get_args_parser().parse_args(
        ["--standalone", f"--nproc-per-node={count}", "-m", "resnetlab", *arguments]
    )
    try:
        run(launcher)
    except ChildFailedError as failed:
        return _exit_code(failed)
    except SignalException as stopped:  # Ctrl-C or SIGTERM reached the launcher, which passed it on
        return 128 + int(stopped.sigval)
    return 0


def _quiet_launcher() -> None:
    """The launcher's log repeats what the processes say (a failure, a stop signal) with its own traceback. Each of
    its modules' loggers has a level of its own, set when imported, so each is raised here."""
    for name, logger in logging.Logger.manager.loggerDict.items():
        if name.startswith("torch.distributed.") and isinstance(logger, logging.Logger):
            logger.setLevel(logging.CRITICAL)


def _exit_code(failed: ChildFailedError) -> int:
    main = failed.failures.get(0)
    if main is not None and main.exitcode in _REPORTED:
        return main.exitcode
    rank, failure = (0, main) if main is not None else failed.get_first_failure()
    code = failure.exitcode
    how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
    print(f"resnetlab: error: training process {rank} {how}; its output is above", file=sys.stderr)
    return 128 - code if code < 0 else code
