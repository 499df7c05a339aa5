"""MkDocs hook: a page's `<!-- resnetlab: ARGS -->` marker becomes what `resnetlab ARGS` prints, at build time.

The model table, the CLI reference and the summaries on the theory pages are therefore the code's own output: change
a model or a flag and the next `mkdocs build` shows it (a running `mkdocs serve` keeps the resnetlab it imported
first). Nothing is pasted.
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
    printed, complaint = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(complaint):
        try:
            code = main(shlex.split(command))
        except SystemExit as stop:  # argparse exits on a wrong flag (or on --help) before main's own handling
            code = stop.code if isinstance(stop.code, int) else 1
    if code != 0:
        said = complaint.getvalue().strip().splitlines()
        raise RuntimeError(f"`resnetlab {command}` exited with {code} while building the docs: {' '.join(said[-1:])}")
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
        if _format(shlex.split(command)) == "markdown":
            return command_output(command)
        return f"```text\n$ resnetlab {command}\n{command_output(command)}\n```"

    return MARKER.sub(replace, markdown)


def _format(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--format" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--format="):
            return arg.split("=", 1)[1]
    return None


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    try:
        return expand(markdown)
    except RuntimeError as error:
        raise RuntimeError(f"{page.file.src_uri}: {error}") from None
