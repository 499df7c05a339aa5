"""Keep an experiment's record in the repository: what its pages quote and what checks it, not its checkpoints.

    python scripts/keep_results.py /path/to/runs/experiments/depth-standard docs/results/depth-standard

Copies the experiment folder's summary.md, results.json, report.html, experiment.json, figures (*.png) and
points.jsonl, and of each finished run folder (test metrics written, or the loss diverged) its config.yaml,
metrics.jsonl, test_metrics.json and environment.json (with diverged.txt and copied_from.txt where there). A run still
training is left out: its record is kept once it has finished. A file already in DEST is replaced (written beside it,
then renamed); nothing else there is touched.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import resnetlab.files as files
from resnetlab.experiments.runner import COPIED_FROM, DIVERGED, RECORD
from resnetlab.runs.run_dir import CONFIG_FILE, ENVIRONMENT_FILE, METRICS_FILE, TEST_METRICS

EXPERIMENT_FILES = ("summary.md", "results.json", "report.html", RECORD, "points.jsonl")
RUN_FILES = (CONFIG_FILE, METRICS_FILE, TEST_METRICS, ENVIRONMENT_FILE, DIVERGED, COPIED_FROM)


def finished_runs(experiment: Path) -> list[Path]:
    """The run folders of `experiment` that have finished: their test metrics written, or their loss diverged."""
    return sorted(
        run
        for run in experiment.iterdir()
        if run.is_dir() and ((run / TEST_METRICS).exists() or (run / DIVERGED).exists())
    )


def keep(experiment: Path, dest: Path) -> list[Path]:
    """Copy the record of `experiment` into `dest` (see the module docstring); the files written, under `dest`."""
    written = []
    for path in [*(experiment / name for name in EXPERIMENT_FILES), *sorted(experiment.glob("*.png"))]:
        if path.is_file():
            written.append(_copy(path, dest / path.name))
    for run in finished_runs(experiment):
        for name in RUN_FILES:
            if (run / name).is_file():
                written.append(_copy(run / name, dest / run.name / name))
    return written


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with files.written(target) as partial:
        shutil.copyfile(source, partial)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", type=Path, help="an experiment folder that `resnetlab experiment` wrote")
    parser.add_argument("dest", type=Path, help="where its record goes, e.g. docs/results/NAME")
    args = parser.parse_args(argv)
    if not (args.experiment / RECORD).is_file():
        print(f"keep_results: {args.experiment} is not an experiment folder (no {RECORD}); give one", file=sys.stderr)
        return 2
    written = keep(args.experiment, args.dest)
    runs = len({p.parent for p in written if p.parent != args.dest})
    print(f"kept {len(written)} files of {runs} finished runs in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
