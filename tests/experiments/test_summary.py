from __future__ import annotations

import math
from pathlib import Path

import pytest

from resnetlab.experiments.runner import FinishedRun, PlannedRun
from resnetlab.experiments.summary import Context, median_of, percent_spread, scalar_spread
from resnetlab.experiments.verdict import Spread, family_note, lower

NAN = math.nan


def _context(**changes: object) -> Context:
    fields: dict[str, object] = {
        "name": "degradation",
        "title": "Degradation",
        "budget": "quick",
        "data": "../cifar10",
        "seeds": 1,
        "command": "resnetlab experiment degradation",
        "out": Path("out"),
    }
    return Context(**{**fields, **changes})  # type: ignore[arg-type]


def _run(seed: int, top1: float | None) -> FinishedRun:
    planned = PlannedRun("ResNet-20", "cifar_resnet20", "ResNet", 20)
    test = {} if top1 is None else {"top1": top1}
    return FinishedRun(planned, seed, Path(f"r{seed}"), test, [], None if top1 is not None else "loss NaN")


def test_tables_give_the_median_and_the_seed_range_and_name_diverged_seeds() -> None:
    assert percent_spread(Spread((0.1562,))) == "15.62%"
    assert percent_spread(Spread((0.1540, 0.1584, 0.1562))) == "15.62% (15.40-15.84)"
    assert percent_spread(Spread((0.1540, NAN, 0.1584))) == "15.62% (15.40-15.84), 1 diverged"
    assert percent_spread(Spread((NAN, NAN))) == "diverged"
    assert scalar_spread(Spread((0.874, 0.9))) == "0.887 (0.874-0.900)"


def test_a_claim_line_is_recorded_with_its_verdict() -> None:
    context = _context()
    line = context.claim("B is better than A", "within noise", "gap +0.41 points, margin 1.25")
    assert line == "- B is better than A: **within noise** (gap +0.41 points, margin 1.25)."
    assert context.claims == [
        {
            "claim": "B is better than A",
            "verdict": "within noise",
            "detail": "gap +0.41 points, margin 1.25",
            "comparisons": [],
        }
    ]
    assert "95% t-interval" in context.header()
    verdict = lower([0.1, 0.11], than=[0.2, 0.21])
    context.claim("C is better than D", verdict.outcome, verdict.describe(), {"depth 20": verdict})
    assert context.claims[1]["comparisons"] == [{"name": "depth 20", **verdict.record()}]
    assert context.closing() == f"\n{family_note(2)}.\n"  # several claims: the page's bound on a false shown


def test_the_median_leaves_diverged_seeds_out_and_is_nan_when_all_diverged() -> None:
    runs = [_run(0, 0.9), _run(1, None), _run(2, 0.7)]
    assert median_of(runs, lambda r: r.test_error) == pytest.approx(0.2)  # the median of 0.1 and 0.3
    assert math.isnan(median_of([_run(0, None)], lambda r: r.test_error))


def test_the_header_says_when_the_data_is_a_jpeg_copy_and_which_runs_diverged() -> None:
    plain = _context().header()
    assert "JPEG" not in plain and "diverged (loss NaN" not in plain
    header = _context(jpeg_copy=True, diverged=("plain-56-seed0",)).header()
    assert "lossy JPEG re-encoding of CIFAR-10" in header and "about ten points" in header
    assert "- diverged (loss NaN or infinite), counted as failed: plain-56-seed0;" in header
