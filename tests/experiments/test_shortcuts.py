"""The shortcuts experiment (the CIFAR analogue of [R1] Table 3): options A, B and C, each trained and counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnetlab.experiments import run

pytestmark = pytest.mark.usefixtures("private_cache")


def test_shortcuts_smoke_trains_each_option_and_counts_its_parameters(tmp_path: Path) -> None:
    summary = run("shortcuts", budget="smoke", data=None, out=tmp_path / "shortcuts").read_text()
    # The networks as trained: on the 1-channel digits the stem has 3x3x1x16 weights instead of paper-facts.md's
    # 3x3x3x16 (269,722 / 272,474 / 283,962 params for A / B / C with RGB input), 288 fewer.
    assert "| 20 | A | 269,434 |" in summary and "| 25.03% |" not in summary  # ImageNet numbers: not in CIFAR rows
    assert "[R1] Table 3 (ImageNet ResNet-34, 10-crop top-1 error): A 25.03%, B 24.52%, C 24.19%." in summary
    assert "| 20 | B | 272,186 |" in summary
    assert "| 20 | C | 283,674 |" in summary
    assert (
        "- B is better than A (at every depth): **" in summary
        and "- C is better than B (at every depth): **" in summary
    )
    assert "[R1] finds the differences small (0.84 points of top-1 between the options on ImageNet" in summary
    assert "not [R1]'s option C" not in summary and "without BN" in summary  # C is not [R2]'s 1x1 shortcut
    configs = [p.read_text() for p in sorted((tmp_path / "shortcuts").glob("ResNet-20-*-seed0/config.yaml"))]
    # A is the CIFAR nets' default (the parameter counts above show each option was built).
    assert "options: {}" in configs[0] and "shortcut: B" in configs[1] and "shortcut: C" in configs[2]
