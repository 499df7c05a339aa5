"""The identity-mappings experiment ([R2] Tables 1 and 2): every shortcut and unit-order variant trained."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnetlab.experiments import run

pytestmark = pytest.mark.usefixtures("private_cache")


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
    assert "- The identity shortcut has a lower error than every other shortcut type: **" in summary
    assert "it is not [R1]'s option C" in summary
