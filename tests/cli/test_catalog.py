"""`resnetlab models` and `summary`."""

from __future__ import annotations

import pytest

from resnetlab import list_models
from resnetlab.cli import main


def test_models_lists_every_network_with_params_and_macs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == set(list_models())
    assert rows["resnet50"][1:4] == ["25.557", "4.089", "224x224"]
    assert rows["cifar_resnet20"][1:4] == ["0.270", "0.041", "32x32"]


def test_models_markdown_table_with_a_pattern(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "cifar_plain*", "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| model") and lines[1].startswith("| ---")
    assert len(lines) == 2 + 5
    assert all(line.startswith("| cifar_plain") for line in lines[2:])


def test_summary_shows_per_stage_shapes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "cifar_resnet20", "--num-classes", "100"]) == 0
    out = capsys.readouterr().out
    assert "layer3  64x8x8" in out
    assert "head    100" in out
    assert "275,572" in out  # 269,722 - (64 * 10 + 10) + (64 * 100 + 100)
