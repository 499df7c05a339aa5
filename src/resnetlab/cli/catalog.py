"""`resnetlab models`, `summary` and `recipes`: the registry's networks, their parameters, MACs and shapes; the
shipped training recipes."""

from __future__ import annotations

import argparse
import fnmatch
from collections.abc import Sequence
from typing import Any

import torch

from resnetlab.analysis import complexity, stage_complexity
from resnetlab.cli.arguments import Commands, UsageError, non_negative_int, positive_int
from resnetlab.config import parse_assignment, recipe_names, recipe_summary
from resnetlab.models import create_model, list_models, model_entry
from resnetlab.models.network import ResNet


def add_commands(commands: Commands) -> None:
    models = commands.add_parser("models", help="list the networks with their parameters and MACs")
    models.add_argument("pattern", nargs="?", default="*", help="shell-style name filter, e.g. 'cifar_*'")
    models.add_argument("--format", choices=("plain", "markdown"), default="plain", help="table style")
    models.set_defaults(run=_run_models)

    summary = commands.add_parser("summary", help="per-stage output shapes, parameters and MACs of one network")
    summary.add_argument("name", help="a registered model name (see `resnetlab models`)")
    summary.add_argument("--input-size", type=positive_int, default=None, help="square input side in pixels")
    summary.add_argument("--num-classes", type=non_negative_int, default=None, help="classifier outputs")
    summary.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model option, as create_model takes it (e.g. shortcut=B, unit_order=full_preact); repeatable",
    )
    summary.set_defaults(run=_run_summary)

    recipes = commands.add_parser("recipes", help="list the shipped training recipes (`resnetlab train NAME` runs one)")
    recipes.add_argument("pattern", nargs="?", default="*", help="shell-style name filter, e.g. 'cifar10/*'")
    recipes.add_argument("--format", choices=("plain", "markdown"), default="plain", help="table style")
    recipes.set_defaults(run=_run_recipes)


def _run_models(args: argparse.Namespace) -> int:
    names = list_models(args.pattern)
    if not names:
        raise UsageError(f"no model matches {args.pattern!r}; run `resnetlab models` to see all names")
    header = ("model", "params (M)", "GMACs", "input", "architecture")
    rows = []
    for name in names:
        model = _meta_model(name)
        cost = complexity(model)
        _, height, width = cost.input_size
        rows.append(
            (name, f"{cost.params / 1e6:.3f}", f"{cost.macs / 1e9:.3f}", f"{height}x{width}", model_entry(name).source)
        )
    print(_format_table(header, rows, markdown=args.format == "markdown", right_aligned={1, 2}))
    return 0


def _run_recipes(args: argparse.Namespace) -> int:
    names = [name for name in recipe_names() if fnmatch.fnmatchcase(name, args.pattern)]
    if not names:
        raise UsageError(f"no recipe matches {args.pattern!r}; run `resnetlab recipes` to see all names")
    rows = [(name, recipe_summary(name)) for name in names]
    print(_format_table(("recipe", "description"), rows, markdown=args.format == "markdown", right_aligned=set()))
    return 0


def _run_summary(args: argparse.Namespace) -> int:
    options = _model_options(args.option)
    if args.num_classes is not None:
        options["num_classes"] = args.num_classes
    model = _meta_model(args.name, **options)
    total = complexity(model, args.input_size)
    channels, height, width = total.input_size
    chosen = f" ({', '.join(args.option)})" if args.option else ""
    print(f"{args.name}{chosen}: {model_entry(args.name).source}, input {channels}x{height}x{width}")
    rows = [
        (part.name, "x".join(map(str, part.output_shape)), f"{part.params:,}", f"{part.macs / 1e6:,.1f}")
        for part in stage_complexity(model, args.input_size)
    ]
    rows.append(("total", "", f"{total.params:,}", f"{total.macs / 1e6:,.1f}"))
    print(_format_table(("part", "output", "params", "MMACs"), rows, markdown=False, right_aligned={2, 3}))
    print(f"activations for one image: {total.activations / 2**20:.1f} MiB (fp32, forward pass)")
    return 0


def _model_options(pairs: Sequence[str]) -> dict[str, Any]:
    options = {}
    for pair in pairs:
        assignment = parse_assignment(pair)
        if assignment is None:
            raise UsageError(f"--option {pair!r} is not KEY=VALUE; e.g. --option shortcut=B")
        key, value = assignment
        options[key] = value
    return options


def _meta_model(name: str, **options: Any) -> ResNet:
    """Built on the meta device: shapes only, so counting even ResNet-1202 takes a moment and no memory."""
    with torch.device("meta"):
        model = create_model(name, **options)
    assert isinstance(model, ResNet)
    return model


def _format_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, markdown: bool, right_aligned: set[int]
) -> str:
    table = [list(header), *map(list, rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def cell(text: str, column: int) -> str:
        return text.rjust(widths[column]) if column in right_aligned else text.ljust(widths[column])

    cells = [[cell(text, column) for column, text in enumerate(row)] for row in table]
    if markdown:
        rule = ["-" * (w - 1) + ":" if i in right_aligned else "-" * w for i, w in enumerate(widths)]
        cells.insert(1, rule)
        return "\n".join("| " + " | ".join(row) + " |" for row in cells)
    cells.insert(1, ["-" * w for w in widths])
    return "\n".join("  ".join(row).rstrip() for row in cells)
