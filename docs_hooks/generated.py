"""MkDocs hook: a page's `<!-- resnetlab: ARGS -->` marker becomes what `resnetlab ARGS` prints, at build time.

The model table, the CLI reference and the summaries on the theory pages are therefore the code's own output: change
a model or a flag and the next build shows it. Nothing is pasted.
- `<!-- resnetlab: models --format markdown -->`: the output as it is (a markdown table);
- `<!-- resnetlab: summary cifar_resnet20 -->`: the output in a text block, after the command line;
- `<!-- resnetlab: cli-reference -->`: every command's `--help`, from the argument parser.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import re
import shlex
from typing import Any

from resnetlab.cli import build_parser, main

MARKER = re.compile(r"<!-- resnetlab: (.+?) -->")
HELP_WIDTH = "100"  # argparse wraps help at the terminal width; the page should not depend on who builds it


@functools.cache
def command_output(command: str) -> str:
    """What `resnetlab COMMAND` prints on stdout; a failing command fails the build."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(shlex.split(command))
    if code != 0:
        raise RuntimeError(f"`resnetlab {command}` exited with {code} while building the docs")
    return printed.getvalue().rstrip("\n")


def cli_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """One section per command, each its `--help`, in the order `resnetlab --help` lists them."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH
    try:
        parser = parser or build_parser()
        sections = [f"## resnetlab\n\n```text\n{parser.format_help().rstrip()}\n```"]
        for action in parser._actions:  # argparse keeps its subcommands in a private list; no public accessor
            if isinstance(action, argparse._SubParsersAction):
                for name, subparser in action.choices.items():
                    sections.append(f"## resnetlab {name}\n\n```text\n{subparser.format_help().rstrip()}\n```")
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return "\n\n".join(sections)


def expand(markdown: str) -> str:
    def replace(match: re.Match[str]) -> str:
        command = match.group(1).strip()
        if command == "cli-reference":
            return cli_reference()
        if "--format markdown" in command:
            return command_output(command)
        return f"```text\n$ resnetlab {command}\n{command_output(command)}\n```"

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return expand(markdown)
