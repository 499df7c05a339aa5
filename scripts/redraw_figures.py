"""Redraw the committed experiment figures under docs/results/ in the current figure style, from the data committed
beside them; nothing is trained or measured:

    python scripts/redraw_figures.py            # every folder below
    python scripts/redraw_figures.py --check    # draw into a temporary folder only: does every figure still draw?

- degradation-standard/degradation.png: from each run folder's metrics.jsonl and test_metrics.json;
- landscape-standard/landscape.png and interpolation.png: from results.json's "landscape" measurements.

A folder whose data is not committed (the quick budgets' folders keep results.json without the curves) keeps the
figure drawn when its runs finished: there is nothing to redraw it from.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from resnetlab.analysis.landscape import Grid
from resnetlab.experiments import landscape
from resnetlab.experiments.figures import side_by_side
from resnetlab.experiments.runner import FinishedRun, PlannedRun
from resnetlab.experiments.summary import by_label
from resnetlab.runs.run_dir import TEST_METRICS, read_metrics

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"


def finished_runs(folder: Path) -> list[FinishedRun]:
    """The runs of a committed experiment folder as the experiment saw them when it finished: each results.json row
    with its run folder's metrics log and test metrics."""
    rows: list[dict[str, Any]] = json.loads((folder / "results.json").read_text())["runs"]
    runs = []
    for row in rows:
        run_dir = folder / row["run_dir"]
        planned = PlannedRun(row["label"], row["model"], row["group"], row["depth"])
        test = json.loads((run_dir / TEST_METRICS).read_text()) if row["diverged"] is None else {}
        records = read_metrics(run_dir)
        if not records:
            raise FileNotFoundError(f"{run_dir} has no metrics.jsonl: its curves are not committed")
        runs.append(FinishedRun(planned, row["seed"], run_dir, test, records, row["diverged"]))
    return runs


def degradation(folder: Path, out: Path) -> list[Path]:
    """[R1] Fig. 6 as `resnetlab experiment degradation` draws it: plain nets left, ResNets right."""
    runs = by_label(finished_runs(folder))
    groups: dict[str, list[list[FinishedRun]]] = {}
    for seeds in runs.values():
        groups.setdefault(seeds[0].planned.group, []).append(seeds)
    return [side_by_side(list(groups.items()), out / "degradation.png")]


def loss_landscape(folder: Path, out: Path) -> list[Path]:
    """The contours and the interpolation line, from the measured points recorded in results.json."""
    measured = json.loads((folder / "results.json").read_text())["landscape"]
    grid = Grid(**measured["grid"])
    return [
        landscape._contours(measured["nets"], grid, out / "landscape.png"),
        landscape._line_figure(measured["nets"], out / "interpolation.png"),
    ]


REDRAWN = {"degradation-standard": degradation, "landscape-standard": loss_landscape}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="draw into a temporary folder, leave docs/ as it is")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the committed results (default: docs/results)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for name, redraw in REDRAWN.items():
            out = Path(scratch) / name if args.check else args.results / name
            out.mkdir(parents=True, exist_ok=True)
            for path in redraw(args.results / name, out):
                print(f"{name}: {path.name} redrawn" + (" (check only)" if args.check else ""))


if __name__ == "__main__":
    main()
