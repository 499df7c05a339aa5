"""What the commands share: the one-line usage errors, argument types, common flags, safe file writes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

import resnetlab.files as files


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (what is wrong, where to look) instead of the whole usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


Commands = argparse._SubParsersAction  # the `add_parser` of the subcommands


def positive_int(text: str) -> int:
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def add_compile_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the model: faster per image, but compiling takes seconds to minutes",
    )


def add_transfer_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--init", help="start from pretrained weights: torchvision:NAME[.WEIGHTS], timm:NAME, or a file (model.init)"
    )
    command.add_argument(
        "--freeze-stages", type=non_negative_int, help="freeze the stem and the first N stages (model.freeze_stages)"
    )


def write_text(path: Path, text: str) -> None:
    files.write_text(path, text, errors="surrogateescape")  # file names that are not UTF-8 keep their bytes
