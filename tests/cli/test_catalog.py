"""`resnetlab models`, `summary` and `recipes`."""

from __future__ import annotations

import re

import pytest

from resnetlab import list_models
from resnetlab.cli import main
from resnetlab.config import recipe_names, recipe_summary


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
    ("option", "params"), [("shortcut=A", "269,722"), ("shortcut=B", "272,474"), ("shortcut=C", "283,962")]
)
def test_summary_builds_the_model_with_its_options(
    option: str, params: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary", "cifar_resnet20", "--option", option]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"cifar_resnet20 ({option}): ")
    assert re.search(rf"^total +{params} ", out, re.MULTILINE)  # the counts of tests/models/test_cifar.py


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("shortcut", "resnetlab: error: --option 'shortcut' is not KEY=VALUE; e.g. --option shortcut=B\n"),
        ("shortcut=D", "resnetlab: error: shortcut='D' is not one of 'A', 'B', 'C'\n"),
        ("widths=[1]", "resnetlab: error: unknown model option(s) widths; valid options: "),
    ],
)
def test_a_wrong_model_option_is_one_line(option: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "cifar_resnet20", "--option", option]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_recipes_lists_every_shipped_recipe_with_what_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recipes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["recipe", "description"] and set(lines[1]) == {"-", " "}
    rows = {line.split()[0]: line.split(maxsplit=1)[1] for line in lines[2:]}
    assert list(rows) == recipe_names()
    assert rows["cifar10/resnet20"] == recipe_summary("cifar10/resnet20")
    assert rows["cifar10/resnet20"].startswith("[R1] Sec. 4.2: ResNet-20")


def test_recipes_markdown_table_with_a_pattern(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recipes", "imagenet/*", "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| recipe") and lines[1].startswith("| ---")
    assert len(lines) == 3 and lines[2].startswith("| imagenet/resnet50 | [R1] Sec. 3.4")


def test_recipes_matching_nothing_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recipes", "mnist/*"]) == 2
    assert capsys.readouterr().err == (
        "resnetlab: error: no recipe matches 'mnist/*'; run `resnetlab recipes` to see all names\n"
    )
