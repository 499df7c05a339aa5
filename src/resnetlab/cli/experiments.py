"""`resnetlab experiment` and `report`: the papers' experiments and the HTML page of their results."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from resnetlab.analysis.landscape import Grid
from resnetlab.cli.arguments import Commands, UsageError, non_negative_int, positive_int
from resnetlab.experiments import BUDGETS, EXPERIMENTS, run
from resnetlab.experiments.landscape import GRIDS
from resnetlab.report import build_report


def add_commands(commands: Commands) -> None:
    experiment = commands.add_parser("experiment", help="run one of the papers' experiments (resumable)")
    experiment.add_argument(
        "name",
        choices=sorted(EXPERIMENTS),
        help="degradation: [R1] Fig. 6, plain nets vs ResNets; depth: [R1] Table 6; gradients: the backward signal "
        "per layer; identity-mappings: [R2] Tables 1 and 2; landscape: the loss surface of plain-56 and ResNet-56 "
        "(Li et al. 2018); responses: [R1] Fig. 7; shortcuts: options A/B/C",
    )
    experiment.add_argument(
        "--budget",
        choices=BUDGETS,
        default="quick",
        help="paper: the papers' recipes; standard: a one-cycle schedule long enough to show deeper ResNets doing "
        "better (hours on 2 cores); quick: the papers' recipe shortened to about an hour; smoke: seconds, digits",
    )
    experiment.add_argument("--data", help="CIFAR-10: pickle folder or class-per-folder tree (quick and paper)")
    experiment.add_argument(
        "--out", type=Path, help="experiment folder (default: runs/experiments/NAME-BUDGET); run again to continue"
    )
    experiment.add_argument(
        "--seeds", type=positive_int, default=1, help="runs per network; tables show the median and the seed range"
    )
    experiment.add_argument(
        "--first-seed",
        type=non_negative_int,
        default=0,
        help="seeds FIRST..FIRST+SEEDS-1 (default 0): a held-out set of seeds, e.g. to confirm a result on runs that "
        "did not choose the budget",
    )
    experiment.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16"),
        help="every run's runtime.precision (default: the recipe's, auto: bf16 where the CPU computes it natively); "
        "fp32 trains in fp32 on every CPU",
    )
    experiment.add_argument(
        "--compile", action="store_true", help="torch.compile each training step (the recipe is unchanged)"
    )
    experiment.add_argument("--progress", action="store_true", help="a progress bar per training run")
    surface = experiment.add_argument_group("landscape (default: the budget's grid; standard: 21 points, 1,000 images)")
    surface.add_argument("--grid", type=positive_int, help="points along each direction (odd: the centre is on it)")
    surface.add_argument("--span", type=float, help="the grid reaches from -SPAN to +SPAN along each direction")
    surface.add_argument("--images", type=positive_int, help="training images every point is evaluated on")
    surface.add_argument("--directions", type=positive_int, help="pairs of random directions (seeds 0, 1, ...)")
    experiment.set_defaults(run=_run_experiment)

    report = commands.add_parser("report", help="one self-contained HTML page of run and experiment directories")
    report.add_argument("paths", nargs="+", type=Path, help="run directories and experiment directories")
    report.add_argument(
        "--out", type=Path, default=Path("report.html"), help="the page to write (default: %(default)s)"
    )
    report.add_argument("--title", default="resnetlab report", help="the page's title")
    report.set_defaults(run=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    print(f"report: {build_report(args.paths, args.out, title=args.title)}")
    return 0


def _run_experiment(args: argparse.Namespace) -> int:
    out = args.out or Path("runs") / "experiments" / f"{args.name}-{args.budget}"
    command = f"resnetlab experiment {args.name} --budget {args.budget}"
    command += f" --data {args.data}" if args.data else ""
    command += f" --seeds {args.seeds}" if args.seeds > 1 else ""
    command += f" --first-seed {args.first_seed}" if args.first_seed else ""
    command += f" --precision {args.precision}" if args.precision else ""
    command += " --compile" if args.compile else ""
    command += f" --out {args.out}" if args.out else ""
    chosen = {k: v for k in ("grid", "span", "images", "directions") if (v := getattr(args, k)) is not None}
    for key, value in chosen.items():
        command += f" --{key} {value}"
    options = {}
    if chosen:
        if args.name != "landscape":
            raise UsageError("--grid, --span, --images and --directions are the landscape experiment's options")
        default = GRIDS.get(args.budget, Grid())
        grid = dataclasses.replace(
            default,
            size=chosen.get("grid", default.size),
            span=chosen.get("span", default.span),
            images=chosen.get("images", default.images),
            directions=chosen.get("directions", default.directions),
        )
        if grid.size % 2 == 0 or grid.size < 3 or grid.span <= 0:
            raise UsageError("--grid must be odd and >= 3 (the trained weights at its centre), --span > 0")
        options["grid"] = grid
    summary = run(
        args.name,
        budget=args.budget,
        data=args.data,
        out=out,
        seeds=args.seeds,
        first_seed=args.first_seed,
        runtime=_runtime(args),
        command=command,
        show_progress=args.progress,
        announce=lambda line: print(f"resnetlab: {line}", file=sys.stderr, flush=True),
        options=options,
    )
    print(f"summary: {summary}\nreport: {summary.with_name('report.html')}")
    return 0


def _runtime(args: argparse.Namespace) -> dict[str, object]:
    """The runtime settings the flags give every run of the experiment (none: the recipe's)."""
    runtime: dict[str, object] = {"precision": args.precision} if args.precision else {}
    return runtime | ({"compile": True} if args.compile else {})
