from __future__ import annotations

from pathlib import Path

import pytest
import torch

from resnetlab.config import TrainConfig, load_config


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test starts from the same random state, so a failure reproduces."""
    torch.manual_seed(0)


@pytest.fixture
def tiny_config(tmp_path: Path) -> TrainConfig:
    """The main job, shrunk: cifar_resnet8-sized training on the embedded digits, deterministic, seconds to run."""
    return load_config(
        overrides=[
            "schedule.unit=epoch",
            "schedule.length=2",
            "data.batch_size=64",
            "runtime.deterministic=true",
            "runtime.log_every=5",
            f"runtime.out_dir={tmp_path / 'runs'}",
            f"data.cache_dir={tmp_path / 'cache'}",
        ]
    )
