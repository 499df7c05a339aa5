from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch

from resnetlab.config import TrainConfig
from resnetlab.runs.checkpoint import load_checkpoint
from resnetlab.train.loop import TrainingInterruptedError, resume, train
from tests.helpers.interrupt import signal_at_step

PER_EPOCH = 23  # 1437 digits in batches of 64


@pytest.fixture
def full_weights(tiny_config: TrainConfig, tmp_path: Path) -> dict[str, torch.Tensor]:
    run = train(tiny_config, out=tmp_path / "full", show_progress=False).run_dir
    return dict(load_checkpoint(run / "last.pt")["model"])


@pytest.mark.parametrize(
    ("signum", "step", "stopped_after", "exit_code"),
    [
        (signal.SIGTERM, 10, 10, 143),  # mid-epoch: the step finishes, then a checkpoint at iteration 10
        (signal.SIGINT, 5, 5, 130),  # Ctrl-C, the same way
        (signal.SIGTERM, PER_EPOCH, PER_EPOCH, 143),  # the epoch's last step: its evaluation runs, then the stop
    ],
)
def test_a_signal_finishes_the_step_checkpoints_and_the_run_resumes_exactly(
    tiny_config: TrainConfig,
    tmp_path: Path,
    full_weights: dict[str, torch.Tensor],
    signum: int,
    step: int,
    stopped_after: int,
    exit_code: int,
) -> None:
    with signal_at_step(step, signum), pytest.raises(TrainingInterruptedError) as stopped:
        train(tiny_config, out=tmp_path / "cut", show_progress=False)
    name = signal.Signals(signum).name
    assert f"stopped by {name} after iteration {stopped_after}, checkpoint written" in str(stopped.value)
    assert f"`resnetlab train --resume {tmp_path / 'cut'}`" in str(stopped.value)
    assert stopped.value.exit_code == exit_code
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["progress"]["iteration"] == stopped_after
    assert signal.getsignal(signum) is not None and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

    resumed = load_checkpoint(resume(tmp_path / "cut", show_progress=False).run_dir / "last.pt")["model"]
    assert all(torch.equal(full_weights[k], resumed[k]) for k in full_weights)
