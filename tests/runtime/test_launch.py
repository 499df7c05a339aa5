"""`resnetlab train --nproc N`: how the launcher ends when its processes fail."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

from resnetlab.runs.checkpoint import load_checkpoint
from resnetlab.runtime.launch import MESSAGES, exit_code, leave_message
from tests.helpers.command import resnetlab, resume, start_resnetlab


def _failed(**codes: int) -> ChildFailedError:
    failures = {
        int(rank[1:]): ProcessFailure(local_rank=int(rank[1:]), pid=100, exitcode=code, error_file="<N/A>")
        for rank, code in codes.items()
    }
    return ChildFailedError("resnetlab", failures)


STOPPED = "resnetlab: stopped by SIGTERM after iteration 7, checkpoint written; continue with ..."


def test_what_rank_0_said_is_not_said_again(capsys: pytest.CaptureFixture[str]) -> None:
    same = "resnetlab: error: data.batch_size=7 (the global batch) must divide evenly over 2 processes"
    assert exit_code(_failed(r0=2, r1=2), {0: same, 1: same}) == 2  # both met the same bad input
    assert exit_code(_failed(r0=143, r1=143), {0: STOPPED, 1: STOPPED}) == 143  # a stop signal reached both
    # Rank 1 failed first; the launcher stopped rank 0 after it had printed the same line (seen in CI).
    assert exit_code(_failed(r1=2, r0=143), {0: same, 1: same}) == 2
    assert capsys.readouterr().err == ""


def test_a_process_that_failed_alone_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    # The launcher stopped rank 0 (143, with its "continue with --resume" line) after rank 1 died.
    assert exit_code(_failed(r0=143, r1=-9), {0: STOPPED}) == 137
    assert (
        capsys.readouterr().err == "resnetlab: error: training process 1 was killed by SIGKILL; its output is above\n"
    )
    assert exit_code(_failed(r0=-6, r1=-15), {}) == 134
    assert (
        capsys.readouterr().err == "resnetlab: error: training process 0 was killed by SIGABRT; its output is above\n"
    )


def test_the_message_of_a_process_that_failed_alone_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    own = "resnetlab: error: none of the 4 files of batch 3 that process 1 decodes could be read as images"
    assert exit_code(_failed(r0=143, r1=2), {0: STOPPED, 1: own}) == 2
    assert capsys.readouterr().err == own + "\n"


def test_a_message_is_left_only_under_resnetlabs_launcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MESSAGES, raising=False)
    assert not leave_message("resnetlab: error: x", rank=0)
    monkeypatch.setenv(MESSAGES, str(tmp_path))
    assert leave_message("resnetlab: error: y", rank=3)
    assert (tmp_path / "rank3.txt").read_text() == "resnetlab: error: y"


def test_bad_input_under_the_launcher_is_one_line_once(tmp_path: Path) -> None:
    argv = ["train", "--nproc", "2", "--batch-size", "7", "--out", str(tmp_path / "run")]
    result = resnetlab(*argv, timeout=300)
    assert result.returncode == 2
    assert result.stderr == (
        "resnetlab: error: data.batch_size=7 (the global batch) must divide evenly over 2 processes; "
        "use a multiple of 2\n"
    )
    assert not (tmp_path / "run").exists()


# Long enough that the training is still running when the tests below stop it: 5 epochs remain once the first epoch's
# checkpoint appears (an epoch of two processes took 0.3-0.8 s on an idle 2-core machine; a test reacts within 0.2 s
# plus a /proc scan). Short enough that resuming the rest in one process takes seconds: 30 epochs took minutes.
EPOCHS = 6
ITERATIONS = EPOCHS * 12  # 12 global batches of 128 per epoch of the digits


def _start_training(run: Path) -> subprocess.Popen[str]:
    """`resnetlab train --nproc 2` on the digits, returned once the first epoch's checkpoint is written."""
    argv = ["train", "--nproc", "2", "--epochs", str(EPOCHS), "--out", str(run), "--no-progress"]
    argv += ["--set", f"data.cache_dir={run.parent / 'cache'}"]
    launcher = start_resnetlab(*argv)
    deadline = time.monotonic() + 300
    while not (run / "last.pt").exists() and launcher.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    return launcher


def _resume_in_one_process(run: Path) -> None:
    resumed = resume(run)
    assert resumed.returncode == 0, resumed.stderr
    assert f"after {ITERATIONS} iterations" in resumed.stdout  # 6 epochs of 12 global batches


def test_a_stop_signal_to_the_launcher_checkpoints_and_the_run_resumes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    launcher = _start_training(run)
    launcher.send_signal(signal.SIGTERM)
    _, stderr = launcher.communicate(timeout=300)
    assert launcher.returncode == 143, stderr
    assert stderr.count("resnetlab: stopped by SIGTERM after iteration") == 1, stderr  # rank 0 speaks for both
    assert f"continue with `resnetlab train --resume {run}`" in stderr
    assert 0 < load_checkpoint(run / "last.pt")["progress"]["iteration"] < ITERATIONS
    _resume_in_one_process(run)


def _process_of_rank(rank: int, run: Path) -> int:
    """The pid of the training process of `rank` (its command line names the run directory)."""
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            environment = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if str(run).encode() in command and f"RANK={rank}".encode() in environment and b"resnetlab" in command:
            return int(entry.name)
    raise AssertionError(f"no process of rank {rank} for {run}")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the processes through /proc (Linux)")
def test_a_process_killed_alone_is_named_and_the_run_resumes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    launcher = _start_training(run)
    os.kill(_process_of_rank(1, run), signal.SIGKILL)
    _, stderr = launcher.communicate(timeout=300)
    assert launcher.returncode == 137, stderr
    assert "resnetlab: error: training process 1 was killed by SIGKILL; its output is above" in stderr
    assert "Traceback" not in stderr
    _resume_in_one_process(run)


def _ended(pid: int) -> bool:
    """The process has exited (gone, or a zombie its parent has not collected yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the processes through /proc (Linux)")
def test_the_partner_of_a_killed_process_says_why_it_stopped_in_one_line(tmp_path: Path) -> None:
    """Rank 0 reaching its next collective before the launcher stops it (a race the test above loses or wins): the
    launcher is paused so that rank 0 meets its dead partner in gloo, then let go to report the killed process."""
    run = tmp_path / "run"
    launcher = _start_training(run)
    partner = _process_of_rank(0, run)
    os.kill(launcher.pid, signal.SIGSTOP)
    try:
        os.kill(_process_of_rank(1, run), signal.SIGKILL)
        deadline = time.monotonic() + 120
        while not _ended(partner) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.kill(launcher.pid, signal.SIGCONT)
    _, stderr = launcher.communicate(timeout=300)
    assert launcher.returncode == 137, stderr
    assert "resnetlab: error: training process 0 lost contact with the others (" in stderr
    assert "resnetlab: error: training process 1 was killed by SIGKILL; its output is above" in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 2, stderr
    _resume_in_one_process(run)
