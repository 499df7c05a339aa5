from __future__ import annotations

import pytest

from resnetlab.config import ScheduleConfig
from resnetlab.train.schedule import learning_rate, total_iterations


def test_paper_multistep_by_iteration() -> None:
    """[R1] Sec. 4.2: 0.1, divided by 10 at 32k and 48k iterations, stop at 64k."""
    schedule = ScheduleConfig(kind="multistep", unit="iteration", length=64000, milestones=[32000, 48000])
    lrs = [learning_rate(schedule, 0.1, i, 391) for i in (0, 31999, 32000, 47999, 48000, 63999)]
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    assert total_iterations(schedule, 391) == 64000


def test_epoch_units_scale_by_iterations_per_epoch() -> None:
    schedule = ScheduleConfig(kind="multistep", unit="epoch", length=10, milestones=[5])
    assert total_iterations(schedule, 100) == 1000
    assert learning_rate(schedule, 0.1, 499, 100) == pytest.approx(0.1)
    assert learning_rate(schedule, 0.1, 500, 100) == pytest.approx(0.01)


def test_linear_warmup_then_cosine_to_zero() -> None:
    schedule = ScheduleConfig(kind="cosine", unit="iteration", length=110, warmup=10)
    assert learning_rate(schedule, 1.0, 0, 1) == pytest.approx(0.1)
    assert learning_rate(schedule, 1.0, 9, 1) == pytest.approx(1.0)
    assert learning_rate(schedule, 1.0, 60, 1) == pytest.approx(0.5)
    assert learning_rate(schedule, 1.0, 110, 1) == pytest.approx(0.0)


def test_one_cycle_rises_then_falls() -> None:
    schedule = ScheduleConfig(kind="onecycle", unit="iteration", length=100)
    lrs = [learning_rate(schedule, 1.0, i, 1) for i in range(100)]
    peak = max(range(100), key=lambda i: lrs[i])
    assert 25 <= peak <= 31 and lrs[peak] == pytest.approx(1.0, rel=0.02)
    assert lrs[0] == pytest.approx(0.04) and lrs[-1] < 0.02


def test_warmup_until_error_holds_the_low_rate() -> None:
    """[R1] Sec. 4.2 ResNet-110: 0.01 until training error < 80%, whatever the schedule says."""
    schedule = ScheduleConfig(kind="multistep", unit="iteration", length=100, warmup_lr=0.01, warmup_until_error=0.8)
    assert learning_rate(schedule, 0.1, 5, 1, warming_up=True) == 0.01
    assert learning_rate(schedule, 0.1, 5, 1, warming_up=False) == 0.1
