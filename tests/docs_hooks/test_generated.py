from __future__ import annotations

import argparse
import dataclasses
import re
import warnings
from pathlib import Path

import pytest

from docs_hooks.generated import cli_reference, command_output, expand
from resnetlab.models import registry

ROOT = Path(__file__).resolve().parents[2]


def test_a_models_marker_becomes_the_registry_table() -> None:
    page = expand("before\n<!-- resnetlab: models cifar_resnet2* --format markdown -->\nafter")
    assert page.startswith("before\n| model ")
    assert "| cifar_resnet20 " in page and "0.270" in page and "[R1] Sec. 4.2, Table 6" in page
    assert "<!--" not in page and page.endswith("\nafter")


def test_a_model_added_to_the_registry_appears_in_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table is the code's: a changed registry gives a changed page (no cached or pasted copy)."""
    entry = registry.model_entry("cifar_resnet20")
    wider = dataclasses.replace(entry.spec, widths=tuple(2 * w for w in entry.spec.widths))
    monkeypatch.setitem(
        registry._REGISTRY, "cifar_wide_resnet20", registry.ModelEntry("cifar_wide_resnet20", wider, "a test")
    )
    page = expand("<!-- resnetlab: models cifar_wide* --format markdown -->")
    assert "| cifar_wide_resnet20 " in page and "| a test " in page
    row = page.splitlines()[2].split("|")
    assert 1.0 < float(row[2]) < 1.1  # twice the widths: about four times ResNet-20's 0.270M parameters


def test_other_commands_become_a_text_block_after_their_command_line() -> None:
    page = expand("<!-- resnetlab: summary cifar_resnet20 -->")
    assert page.startswith("```text\n$ resnetlab summary cifar_resnet20\ncifar_resnet20: [R1] Sec. 4.2")
    assert re.search(r"^total +269,722 +40\.6$", page, re.MULTILINE) and page.endswith("\n```")


def test_a_failing_command_fails_the_build_with_what_it_said() -> None:
    with pytest.raises(
        RuntimeError, match=r"`resnetlab summary no_such_net` exited with 2 while building the docs: .*no_such_net"
    ):
        command_output("summary no_such_net")
    with pytest.raises(
        RuntimeError,
        match=r"`resnetlab summary resnet50 --inputsize 64` exited with 2 while building the docs: .*--inputsize",
    ):
        command_output("summary resnet50 --inputsize 64")  # argparse's own exit, not main's


def test_a_marker_with_a_wrong_flag_fails_the_build_before_running() -> None:
    with pytest.raises(RuntimeError, match=r"`resnetlab models --format html` is not a valid command: .*html"):
        expand("<!-- resnetlab: models --format html -->")


def test_the_format_flag_is_read_as_the_cli_reads_it() -> None:
    """`--format=markdown` and an abbreviation are the same command to argparse, so the same table to the page."""
    for spelling in ("--format=markdown", "--form markdown"):
        assert expand(f"<!-- resnetlab: models cifar_resnet20 {spelling} -->").startswith("| model ")


def test_running_a_command_leaves_the_warning_format_of_the_build_alone() -> None:
    before = warnings.formatwarning
    command_output("models cifar_resnet20")
    assert warnings.formatwarning is before


def test_every_readme_section_the_site_includes_is_closed() -> None:
    """A start marker without its end would include the rest of the README silently."""
    readme = (ROOT / "README.md").read_text()
    starts = re.findall(r"<!-- --8<-- \[start:([\w-]+)\] -->", readme)
    ends = re.findall(r"<!-- --8<-- \[end:([\w-]+)\] -->", readme)
    assert starts == ends and len(set(starts)) == len(starts)
    included = set(
        re.findall(r'--8<-- "README\.md:([\w-]+)"', "".join(p.read_text() for p in ROOT.glob("docs/**/*.md")))
    )
    assert included and included <= set(starts)


def test_the_cli_reference_has_every_command_of_the_parser() -> None:
    parser = argparse.ArgumentParser(prog="resnetlab")
    commands = parser.add_subparsers()
    commands.add_parser("alpha", help="first").add_argument("--speed", help="how fast")
    commands.add_parser("beta", help="second")
    page = cli_reference(parser)
    assert [line for line in page.splitlines() if line.startswith("## ")] == [
        "## resnetlab",
        "## resnetlab alpha",
        "## resnetlab beta",
    ]
    assert "--speed SPEED  how fast" in page


def test_the_real_cli_reference_lists_train_and_its_flags() -> None:
    page = cli_reference()
    assert "## resnetlab train\n" in page and "--resume" in page and "## resnetlab experiment\n" in page
