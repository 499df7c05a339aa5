from __future__ import annotations

import subprocess
import sys

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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary", "resnet5"], "resnetlab: error: unknown model 'resnet5'; closest: resnet50"),
        (["models", "xyz*"], "resnetlab: error: no model matches 'xyz*'"),
        (["summary", "resnet18", "--input-size", "zero"], "--input-size: must be a whole number, got 'zero'"),
        (["summary", "resnet18", "--input-size", "0"], "--input-size: must be a whole number >= 1, got '0'"),
        (["summary", "resnet18", "--num-classes", "-1"], "--num-classes: must be a whole number >= 0, got '-1'"),
        (["modles"], "resnetlab: error: argument COMMAND: invalid choice: 'modles'"),
        ([], "resnetlab: error: the following arguments are required: COMMAND"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(argv: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "resnetlab", *argv], capture_output=True, text=True)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
