from __future__ import annotations

from pathlib import Path

import pytest

from resnetlab.experiments import run


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNETLAB_CACHE", str(tmp_path / "cache"))


def test_shortcuts_smoke_trains_each_option_and_counts_its_parameters(tmp_path: Path) -> None:
    summary = run("shortcuts", budget="smoke", data=None, out=tmp_path / "shortcuts").read_text()
    # The exact counts of paper-facts.md (option B/C projections are 1x1 conv + BN), from the networks trained.
    assert "| 20 | A | 269,722 |" in summary and "| 25.03% |" in summary
    assert "| 20 | B | 272,474 |" in summary
    assert "| 20 | C | 283,962 |" in summary
    assert "- B is better than A: **" in summary and "- C is better than B: **" in summary
    configs = sorted(p.read_text() for p in (tmp_path / "shortcuts").glob("ResNet-20-*-seed0/config.yaml"))
    assert [("shortcut: " + o) in c for c, o in zip(configs, "ABC", strict=True)] == [True, True, True]


def test_depth_smoke_sets_each_depth_beside_the_paper(tmp_path: Path) -> None:
    summary = run("depth", budget="smoke", data=None, out=tmp_path / "depth").read_text()
    assert "| ResNet-20 | 269,722 |" in summary and "| 8.75% |" in summary
    assert "| ResNet-32 | 464,154 |" in summary and "| 7.51% |" in summary
    assert "- Test error falls as depth grows (to 110 layers): **" in summary
