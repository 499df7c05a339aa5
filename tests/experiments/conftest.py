from __future__ import annotations

from pathlib import Path

import pytest

from resnetlab.experiments import run


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The decoded-dataset cache of the runs a test trains is the test's own, not the user's ~/.cache."""
    monkeypatch.setenv("RESNETLAB_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The degradation experiment at the smoke budget (plain-20, plain-32, ResNet-20, ResNet-32), trained once per
    test module that asks (tests/experiments/test_degradation.py, test_runner.py), alone in its parent folder."""
    out = tmp_path_factory.mktemp("degradation") / "smoke"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESNETLAB_CACHE", str(out.parent / "cache"))
        run("degradation", budget="smoke", data=None, out=out)
    return out
