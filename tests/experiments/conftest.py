from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The decoded-dataset cache of the runs a test trains is the test's own, not the user's ~/.cache."""
    monkeypatch.setenv("RESNETLAB_CACHE", str(tmp_path / "cache"))
