"""The run-to-run noise measured at each budget (resnetlab.experiments.verdict.measured): recomputed from the committed
runs, and taken by one-seed summaries."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from resnetlab.experiments.verdict import MEASURED, Spread, noise_for


def test_the_measured_noise_of_the_budgets_is_there_for_one_seed_summaries() -> None:
    spreads = [Spread((0.3,)), Spread((0.4,))]
    assert noise_for(spreads, "quick", "test_error") == MEASURED[("quick", "test_error")]
    assert noise_for(spreads, "smoke", "test_error") is None
    assert noise_for(spreads, "quick", "mean_std") is None  # a measure nothing measured
    own = noise_for([Spread((0.3, 0.31)), Spread((0.4,))], "quick", "test_error")
    assert own is not None and own.df == 1  # an experiment's own seeds come first


RESULTS = Path(__file__).resolve().parents[3] / "docs" / "results"


def test_the_quick_budgets_noise_is_recomputed_from_the_committed_runs() -> None:
    """The four nets of degradation-quick (its results.json) trained again with the same seed in gradients-quick (each
    run's own test_metrics.json); a pair's difference d has variance 2 s^2, so s = sqrt(sum(d^2) / (2 * pairs))."""
    first = {
        row["label"]: row for row in json.loads((RESULTS / "degradation-quick" / "results.json").read_text())["runs"]
    }
    again = {
        folder.name.removesuffix("-seed0"): 1 - json.loads((folder / "test_metrics.json").read_text())["top1"]
        for folder in sorted((RESULTS / "gradients-quick").glob("*-seed0"))
    }
    assert sorted(again) == ["ResNet-20", "ResNet-56", "plain-20", "plain-56"]
    differences = [first[label]["test_error"] - error for label, error in again.items()]
    quick = MEASURED[("quick", "test_error")]
    assert quick.df == len(differences) == 4
    assert quick.sd == pytest.approx(math.sqrt(sum(d * d for d in differences) / 8), rel=1e-9)
    assert set(MEASURED) == {("quick", "test_error")}  # nothing else is measured: other one-seed verdicts are noise
