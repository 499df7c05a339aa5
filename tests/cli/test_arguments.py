"""What the commands share: one-line usage errors, whole-number argument types, common flags, file writes."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest

from resnetlab.cli.arguments import (
    Parser,
    add_compile_flag,
    add_transfer_flags,
    non_negative_int,
    positive_int,
    whole_number,
    write_text,
)


def _parser() -> Parser:
    parser = Parser(prog="tool")
    parser.add_argument("--count", type=positive_int, default=1)
    return parser


def test_a_usage_mistake_is_one_line_that_points_to_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args(["--count", "0"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.err == ("tool: error: argument --count: must be a whole number >= 1, got '0' (see `tool --help`)\n")
    assert captured.out == ""


def test_a_subcommand_reports_its_mistakes_in_one_line_under_its_own_name(capsys: pytest.CaptureFixture[str]) -> None:
    parser = Parser(prog="tool")
    sub = parser.add_subparsers(dest="command").add_parser("run")
    sub.add_argument("--steps", type=non_negative_int)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["run", "--steps", "many"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "usage:" not in err
    assert err.startswith("tool run: error: argument --steps: must be a whole number, got 'many'")
    assert err.endswith("(see `tool run --help`)\n")


@pytest.mark.parametrize(
    ("convert", "text", "value"),
    [
        (whole_number, "-3", -3),
        (whole_number, "0", 0),
        (non_negative_int, "0", 0),
        (non_negative_int, "7", 7),
        (positive_int, "1", 1),
        (positive_int, "12", 12),
    ],
)
def test_whole_numbers_in_range_are_read(convert: Callable[[str], int], text: str, value: int) -> None:
    assert convert(text) == value


@pytest.mark.parametrize(
    ("convert", "text", "message"),
    [
        (whole_number, "2.5", "must be a whole number, got '2.5'"),
        (whole_number, "ten", "must be a whole number, got 'ten'"),
        (non_negative_int, "-1", "must be a whole number >= 0, got '-1'"),
        (non_negative_int, "x", "must be a whole number, got 'x'"),
        (positive_int, "0", "must be a whole number >= 1, got '0'"),
        (positive_int, "-4", "must be a whole number >= 1, got '-4'"),
    ],
)
def test_other_text_is_refused_with_what_was_given(convert: Callable[[str], int], text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as error:
        convert(text)
    assert str(error.value) == message


def test_the_compile_flag_is_off_unless_given() -> None:
    parser = Parser(prog="tool")
    add_compile_flag(parser)
    assert parser.parse_args([]).compile is False
    assert parser.parse_args(["--compile"]).compile is True


def test_the_transfer_flags_read_the_initial_weights_and_a_stage_count(capsys: pytest.CaptureFixture[str]) -> None:
    parser = Parser(prog="tool")
    add_transfer_flags(parser)
    args = parser.parse_args(["--init", "torchvision:resnet18", "--freeze-stages", "2"])
    assert (args.init, args.freeze_stages) == ("torchvision:resnet18", 2)
    assert vars(parser.parse_args([])) == {"init": None, "freeze_stages": None}
    with pytest.raises(SystemExit):
        parser.parse_args(["--freeze-stages", "-1"])
    assert "--freeze-stages: must be a whole number >= 0, got '-1'" in capsys.readouterr().err


def test_write_text_keeps_the_bytes_of_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    name = b"caf\xe9.png".decode("utf-8", "surrogateescape")  # a Latin-1 name, as os.listdir gives it
    out = tmp_path / "predictions.csv"
    write_text(out, f"file,class\n{name},cat\n")
    assert out.read_bytes() == b"file,class\ncaf\xe9.png,cat\n"
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.csv"]  # written whole, nothing left beside it
