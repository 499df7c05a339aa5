"""The browser the page tests open pages in: Debian's Chromium (`.ci/run` installs it). Where it is missing, a test
run outside CI skips those tests with the reason; under CI (`CI` set) they fail instead, naming what is missing, so a
CI run never passes without a page ever opened."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest


def chromium() -> str:
    """The path of the chromium executable, or the test is skipped (failed under CI) with the reason."""
    path = shutil.which("chromium")
    if path is None:
        _missing("the Chromium browser (`chromium` on PATH) is not installed; `.ci/run` installs Debian's chromium")
    assert path is not None
    return path


def playwright_driver() -> str:
    """The Chromium path, once playwright (which drives it; the dev extra installs it) is importable too."""
    path = chromium()
    if importlib.util.find_spec("playwright") is None:
        _missing("playwright is not installed; `pip install -e '.[dev]'` (make test does) installs it")
    return path


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI needs a browser for the page tests: {reason}", pytrace=False)
    pytest.skip(reason)
