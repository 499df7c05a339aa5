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
import warnings
from typing import Any
from unittest import mock

from resnetlab.cli import build_parser, main

MARKER = re.compile(r"<!-- resnetlab: (.+?) -->")
HELP_WIDTH = "100"  # argparse wraps help at the terminal width; the page should not depend on who builds it


@functools.cache
def command_output(command: str) -> str:
    """What `resnetlab COMMAND` prints on stdout; a failing command fails the build.

    Run in this process (one torch import for the whole build); `main` sets resnetlab's warning format, which is put
    back afterwards so MkDocs' own warnings keep theirs.
    """
    printed, complaint = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(printed),
        contextlib.redirect_stderr(complaint),
        mock.patch.object(warnings, "formatwarning", warnings.formatwarning),
    ):
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
    with mock.patch.dict(os.environ, {"COLUMNS": HELP_WIDTH}):
        parser = parser or build_parser()
        sections = [f"## resnetlab\n\n```text\n{parser.format_help().rstrip()}\n```"]
        for action in parser._actions:  # argparse keeps its subcommands in a private list; no public accessor
            if isinstance(action, argparse._SubParsersAction):
                for name, subparser in action.choices.items():
                    sections.append(f"## resnetlab {name}\n\n```text\n{subparser.format_help().rstrip()}\n```")
    return "\n\n".join(sections)


def expand(markdown: str) -> str:
    def replace(match: re.Match[str]) -> str:
        command = match.group(1).strip()
        if command == "cli-reference":
            return cli_reference()
        if getattr(_parse(command), "format", None) == "markdown":
            return command_output(command)
        return f"```text\n$ resnetlab {command}\n{command_output(command)}\n```"

    return MARKER.sub(replace, markdown)


def _parse(command: str) -> argparse.Namespace:
    """The command's arguments as resnetlab reads them; a wrong flag fails the build like a failing command."""
    complaint = io.StringIO()
    with contextlib.redirect_stderr(complaint):
        try:
            return build_parser().parse_args(shlex.split(command))
        except SystemExit:
            said = complaint.getvalue().strip().splitlines()
            raise RuntimeError(f"`resnetlab {command}` is not a valid command: {' '.join(said[-1:])}") from None


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    try:
        return expand(markdown)
    except RuntimeError as error:
        raise RuntimeError(f"{page.file.src_uri}: {error}") from None
