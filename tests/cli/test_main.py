"""Usage mistakes of any command: one line, exit code 2, nothing on stdout."""

from __future__ import annotations

import subprocess
import sys

import pytest


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
