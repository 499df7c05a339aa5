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


def test_identity_mappings_smoke_trains_every_variant_of_both_tables(tmp_path: Path) -> None:
    out = tmp_path / "identity"
    summary = run("identity-mappings", budget="smoke", data=None, out=out).read_text()
    assert "Network: ResNet-20 ([R2] used ResNet-110)." in summary
    assert len([line for line in summary.splitlines() if line.startswith(("| 1 |", "| 2 |", "| 1, 2 |"))]) == 10
    assert "| 1 | dropout 0.5 on the shortcut |" in summary and "| fail (> 20%) |" in summary
    assert "| 2 | full pre-activation |" in summary and "| 6.37% |" in summary
    assert "unit_order: full_preact" in (out / "full-preact-seed0" / "config.yaml").read_text()
    assert "gate_bias: -6" in (out / "exclusive-gating-seed0" / "config.yaml").read_text()
    assert "- Full pre-activation is better than the original unit: **" in summary
