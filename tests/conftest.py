from __future__ import annotations

import os

# Set before torch loads OpenMP, and inherited by the resnetlab processes the tests start (export either to override).
# This 2-core machine also runs long training jobs. There, a 2-thread op waits for a thread the other job holds the
# core of: a bf16 convolution backward of the digits job took 190 ms instead of 0.2 ms, and one depth smoke experiment
# 27 s of CPU with 2 threads against 2.6 s with 1. One thread per test process (the tests' networks and batches are
# small), and threads that wait sleep instead of spinning. The checks are the same; only thread counts change.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path

import pytest
import torch

from resnetlab.config import TrainConfig, load_config
from resnetlab.experiments import run


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


@pytest.fixture(scope="session")
def depth_smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`run("depth", budget="smoke")` trained once per session for the tests that read it (tests/experiments,
    tests/docs_hooks, tests/report): its folder, alone in its parent (so it trains its runs instead of copying a
    sibling experiment's). Read-only: a test that would change it copies it to its own tmp_path first."""
    root = tmp_path_factory.mktemp("depth-smoke")
    torch.manual_seed(0)  # as the tests' own seeding would: the same runs whichever test asks first
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESNETLAB_CACHE", str(root / "cache"))
        summary = run("depth", budget="smoke", data=None, out=root / "depth")
    assert summary == root / "depth" / "summary.md"
    return root / "depth"
