"""Usage mistakes of any command: one line, exit code 2, nothing on stdout."""

from __future__ import annotations

import argparse
from typing import get_args

import pytest

from resnetlab.cli import build_parser, catalog, main
from resnetlab.config import Dataset, Device, EvalView, Precision
from resnetlab.experiments import Budget
from resnetlab.inference.evaluate_run import EvalPrecision
from tests.helpers.command import resnetlab, resnetlab_here


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
    result = resnetlab_here(*argv)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["modles"], "resnetlab: error: argument COMMAND: invalid choice: 'modles'"),  # argparse's
        (["summary", "resnet5"], "resnetlab: error: unknown model 'resnet5'; closest: resnet50"),  # resnetlab's
    ],
)
def test_the_installed_command_says_bad_input_in_one_line(argv: list[str], message: str) -> None:
    """`python -m resnetlab` as a user runs it: the entry point passes main's exit code on and prints no traceback
    (the other tests call the same `main` in-process)."""
    result = resnetlab(*argv)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_process_whose_partner_died_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rank 0 of a two-process run meets its dead partner in a collective (gloo's RuntimeError): one line and exit 1,
    not a traceback; the launcher names the process that died. A RuntimeError of any other kind is a bug and rises."""

    def partner_gone(args: object) -> int:
        raise RuntimeError("[../third_party/gloo/gloo/transport/tcp/pair.cc:561] Connection closed by peer [::1]:5")

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("RESNETLAB_MESSAGES", raising=False)
    monkeypatch.setattr(catalog, "_run_models", partner_gone)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "resnetlab: error: training process 0 lost contact with the others (Connection closed by peer [::1]:5); "
        "the run directory keeps its last checkpoint for `resnetlab train --resume`\n"
    )

    def bug(args: object) -> int:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(catalog, "_run_models", bug)
    with pytest.raises(RuntimeError, match="mat1 and mat2"):
        main(["models"])


def test_choices_that_mirror_a_config_type_are_that_type() -> None:
    """--device, --precision, --dataset, --view and --budget accept exactly what the config (or the call) does."""
    expected = {
        ("train", "--dataset"): get_args(Dataset),
        ("train", "--device"): get_args(Device),
        ("train", "--precision"): get_args(Precision),
        ("finetune", "--device"): get_args(Device),
        ("eval", "--view"): get_args(EvalView),
        ("eval", "--precision"): get_args(EvalPrecision),
        ("predict", "--device"): get_args(Device),
        ("embed", "--device"): get_args(Device),
        ("experiment", "--budget"): get_args(Budget),
    }
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for (command, flag), values in expected.items():
        action = next(a for a in commands[command]._actions if flag in a.option_strings)
        assert tuple(action.choices) == values, (command, flag)
