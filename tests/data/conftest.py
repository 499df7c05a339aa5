from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the user's ~/.cache: the default cache directory is the test's own."""
    cache = tmp_path / "default-cache"
    monkeypatch.setenv("RESNETLAB_CACHE", str(cache))
    return cache
