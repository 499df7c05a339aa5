"""The verdict rule (resnetlab.experiments.verdict) on constructed results: each outcome, the margin it used, and the
diverged-seed rules."""

from __future__ import annotations

import math
import statistics

import pytest

from resnetlab.experiments.verdict import (
    STANDARD_ERRORS,
    Spread,
    Verdict,
    all_of,
    falls_with_depth,
    higher,
    lower,
    rises_with_depth,
)

NAN = math.nan


def _seed_margin(a: list[float], b: list[float]) -> float:
    """Two standard errors of the gap from the seeds' sample variances (Welch's form)."""
    return 2 * math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))


def _two_proportion_margin(errors_a: int, errors_b: int, images: int) -> float:
    """Two standard errors of the difference of two error rates, each counted over `images` test images."""
    p_a, p_b = errors_a / images, errors_b / images
    return 2 * math.sqrt(p_a * (1 - p_a) / images + p_b * (1 - p_b) / images)


# A scalar measured over three seeds each: A clearly below B (gap 1.0, margin about 0.16).
A = [1.0, 1.1, 0.9]
B = [2.0, 2.1, 1.9]


def test_the_margin_is_two_standard_errors() -> None:
    assert STANDARD_ERRORS == 2.0


def test_a_clear_win_is_shown_with_the_seed_spread_as_margin() -> None:
    verdict = lower(A, than=B)
    assert verdict.outcome == "shown"
    assert verdict.gap == pytest.approx(1.0)
    assert verdict.margin == pytest.approx(_seed_margin(A, B))
    assert verdict.margin == pytest.approx(2 * math.sqrt(0.01 / 3 + 0.01 / 3))  # about 0.163
    assert verdict.basis == "spread of 3+3 seeds"


def test_a_clear_loss_is_not_shown() -> None:
    verdict = lower(B, than=A)
    assert verdict.outcome == "not shown"
    assert verdict.gap == pytest.approx(-1.0)
    assert verdict.margin == pytest.approx(_seed_margin(A, B))


def test_higher_is_lower_with_the_sides_swapped() -> None:
    assert higher(B, than=A).outcome == "shown"
    assert higher(B, than=A).gap == pytest.approx(1.0)  # B - A
    assert higher(A, than=B).outcome == "not shown"
    assert higher(A, than=B).gap == pytest.approx(-1.0)


def test_overlapping_seeds_are_within_noise_either_way() -> None:
    a, b = [1.0, 1.5], [1.2, 1.6]  # gap 0.15, margin 2 * sqrt(0.125 / 2 + 0.08 / 2), about 0.64
    for verdict, gap in ((lower(a, than=b), 0.15), (lower(b, than=a), -0.15)):
        assert verdict.outcome == "within noise"
        assert verdict.gap == pytest.approx(gap)
        assert verdict.margin == pytest.approx(2 * math.sqrt(0.125 / 2 + 0.08 / 2))
    # Just inside and just outside the margin: "exceeds" is strict.
    margin = _seed_margin(A, B)
    nearer = [v + 1.0 - margin * 0.99 for v in A]  # B's mean minus this mean: 0.99 margins
    farther = [v + 1.0 - margin * 1.01 for v in A]
    assert lower(nearer, than=B).outcome == "within noise"
    assert lower(farther, than=B).outcome == "shown"


def test_spread_leaves_diverged_seeds_out() -> None:
    spread = Spread((0.3, NAN, 0.1, 0.2))
    assert spread.finite == (0.3, 0.1, 0.2)
    assert spread.diverged == 1
    assert spread.mean == pytest.approx(0.2)
    assert spread.median == pytest.approx(0.2)
    assert (spread.low, spread.high) == (0.1, 0.3)
    failed = Spread((NAN, NAN))
    assert failed.diverged == 2
    assert all(math.isnan(x) for x in (failed.mean, failed.median, failed.low, failed.high))


def test_a_diverged_seed_on_the_claimed_better_side_turns_its_win_into_noise() -> None:
    verdict = lower([1.0, NAN, 1.1, 0.9], than=B)  # the finite seeds are A's: they win by 1.0
    assert lower(A, than=B).outcome == "shown"
    assert verdict.outcome == "within noise"
    assert verdict.gap == pytest.approx(1.0)  # the mean of the three finite seeds
    assert verdict.margin == pytest.approx(_seed_margin(A, B))
    assert verdict.basis == "spread of 3+3 seeds; the claimed better net diverged in 1 seed"


def test_a_diverged_seed_does_not_save_the_claimed_better_side_from_a_loss() -> None:
    verdict = lower([2.0, NAN, 2.1, 1.9], than=A)
    assert verdict.outcome == "not shown"
    assert verdict.gap == pytest.approx(-1.0)


def test_a_diverged_seed_on_the_other_side_leaves_the_win_shown() -> None:
    verdict = lower(A, than=[2.0, 2.1, NAN, 1.9])
    assert verdict.outcome == "shown"
    assert verdict.gap == pytest.approx(1.0)
    assert verdict.margin == pytest.approx(_seed_margin(A, B))
    assert verdict.basis == "spread of 3+3 seeds"


def test_every_seed_diverged_on_one_side() -> None:
    failed = [NAN, NAN, NAN]
    claimed_better_failed = lower(failed, than=B)
    assert claimed_better_failed.outcome == "not shown"
    assert math.isnan(claimed_better_failed.gap) and math.isnan(claimed_better_failed.margin)
    assert claimed_better_failed.basis == "every seed of the claimed better net diverged"
    other_failed = lower(A, than=failed)
    assert other_failed.outcome == "shown"
    assert math.isnan(other_failed.gap) and math.isnan(other_failed.margin)
    assert other_failed.basis == "every seed of the other net diverged"
    # describe() then says only why there is no gap.
    assert other_failed.describe() == "every seed of the other net diverged"
    # A side that trained in some seeds beats one that never did: the docstring's "a side whose every seed diverged
    # loses to a side that trained" wins over "a side with a diverged seed is never called the better one".
    assert lower([1.0, NAN], than=failed).outcome == "shown"
    assert higher(failed, than=A).outcome == "shown"  # failure is the high side of a "higher" claim


def test_every_seed_diverged_on_both_sides() -> None:
    verdict = lower([NAN], than=[NAN, NAN])
    assert verdict.outcome == "within noise"
    assert math.isnan(verdict.gap) and math.isnan(verdict.margin)
    assert verdict.basis == "every seed of both diverged"


def test_one_seed_of_error_rates_takes_the_binomial_margin() -> None:
    images = 10_000
    verdict = lower([700 / images], than=[900 / images], images=images)  # 7.00% against 9.00% test error
    margin = _two_proportion_margin(700, 900, images)
    assert margin == pytest.approx(0.0076681, rel=1e-4)  # 2 * sqrt(0.07 * 0.93 / 1e4 + 0.09 * 0.91 / 1e4)
    assert verdict.outcome == "shown"
    assert verdict.gap == pytest.approx(0.02)
    assert verdict.margin == pytest.approx(margin)
    assert verdict.basis == "binomial, 10,000 images"
    assert verdict.describe() == "gap +2.00 points, margin 0.77 [binomial, 10,000 images]"
    # Half a point apart, a 10,000-image test set cannot tell them apart: within noise, either way.
    close = lower([700 / images], than=[750 / images], images=images)
    assert close.outcome == "within noise"
    assert close.margin == pytest.approx(_two_proportion_margin(700, 750, images))
    assert lower([900 / images], than=[700 / images], images=images).outcome == "not shown"


def test_one_seed_of_a_scalar_has_no_margin() -> None:
    verdict = lower([1.0], than=[50.0])  # however large the gap
    assert verdict.outcome == "within noise"
    assert verdict.gap == pytest.approx(49.0)
    assert math.isnan(verdict.margin)
    assert verdict.basis == "one seed: the noise of this measure is not measured"
    assert (
        verdict.describe(scale=1, unit="")
        == "gap +49.00, no margin [one seed: the noise of this measure is not measured]"
    )
    # One seed on one side is enough to lose the seed spread, even with many on the other.
    assert math.isnan(lower([1.0], than=B).margin)
    assert lower([1.0], than=B).outcome == "within noise"


def test_two_seeds_that_agree_still_get_the_binomial_floor() -> None:
    images = 10_000
    a, b = [0.0700, 0.0701], [0.0750, 0.0751]  # each pair within 0.01 points; half a point between them
    spread_only = lower(a, than=b)
    assert spread_only.outcome == "shown"  # as a scalar, the tiny spread would call it
    assert spread_only.margin == pytest.approx(_seed_margin(a, b))
    assert spread_only.margin < 2e-4
    verdict = lower(a, than=b, images=images)
    p_a, p_b = statistics.fmean(a), statistics.fmean(b)
    floor = 2 * math.sqrt(p_a * (1 - p_a) / images + p_b * (1 - p_b) / images)
    assert verdict.outcome == "within noise"
    assert verdict.margin == pytest.approx(floor)
    assert verdict.margin > 0.007
    assert verdict.basis == "binomial, 10,000 images"
    # When the seeds disagree more than the binomial error, their spread sets the margin.
    wide_a, wide_b = [0.05, 0.09], [0.10, 0.14]
    wide = lower(wide_a, than=wide_b, images=images)
    assert wide.margin == pytest.approx(_seed_margin(wide_a, wide_b))
    assert wide.basis == "spread of 2+2 seeds"


def test_describe() -> None:
    verdict = Verdict("shown", 0.0158, 0.0102, "spread of 2+2 seeds")
    assert verdict.describe() == "gap +1.58 points, margin 1.02 [spread of 2+2 seeds]"
    assert Verdict("not shown", -0.5, 0.25, "x").describe(scale=1, unit=" decades") == (
        "gap -0.50 decades, margin 0.25 [x]"
    )
    assert verdict.bold() == "**shown**"


def test_all_of() -> None:
    shown = lower(A, than=B)
    against = lower(B, than=A)
    noise = lower([1.0, 1.5], than=[1.2, 1.6])
    assert all_of([shown, shown]) == "shown"
    assert all_of([shown, noise]) == "within noise"
    assert all_of([shown, noise, against]) == "not shown"
    assert all_of([]) == "within noise"


# Test error by depth over three seeds: falls from 20 to 32, rises from 32 to 44 (beyond the margin), falls to 56.
FALLING = {
    20: [0.100, 0.101, 0.099],
    32: [0.090, 0.091, 0.089],
    44: [0.095, 0.096, 0.094],
    56: [0.070, 0.071, 0.069],
}


def test_a_depth_chain_is_decided_at_its_endpoints() -> None:
    chain = falls_with_depth(FALLING, endpoints=[56])
    assert chain.outcome == "shown"  # 56 against 20, whatever 32 and 44 do
    assert list(chain.endpoints) == [56]
    assert chain.endpoints[56].gap == pytest.approx(0.03)
    assert [(a, b, v.outcome) for a, b, v in chain.adjacent] == [
        (20, 32, "shown"),
        (32, 44, "not shown"),
        (44, 56, "shown"),
    ]
    assert chain.in_order() == 2
    assert chain.describe_order() == (
        "2 of 3 adjacent depth pairs in the claimed order (2 beyond the margin, 1 against it beyond the margin)"
    )
    assert falls_with_depth(FALLING, endpoints=[32, 56]).outcome == "shown"
    # Every endpoint must hold: with 44 within noise of 20, 56's clear fall is not enough.
    noisy = {**FALLING, 44: [0.095, 0.105, 0.100]}
    both = falls_with_depth(noisy, endpoints=[44, 56])
    assert both.endpoints[56].outcome == "shown"
    assert both.endpoints[44].outcome == "within noise"
    assert both.outcome == "within noise"
    # An endpoint that rises against the shallowest makes the chain not shown.
    assert falls_with_depth({**FALLING, 56: [0.120, 0.121, 0.119]}, endpoints=[56]).outcome == "not shown"


def test_a_chain_ignores_endpoints_it_has_no_values_for_or_that_are_the_shallowest() -> None:
    chain = falls_with_depth(FALLING, endpoints=[20, 110])
    assert chain.endpoints == {}
    assert chain.outcome == "within noise"
    assert len(chain.adjacent) == 3


def test_a_rising_chain() -> None:
    rising = {depth: [1 - v for v in values] for depth, values in FALLING.items()}
    chain = rises_with_depth(rising, endpoints=[56], images=None)
    assert chain.outcome == "shown"
    assert chain.endpoints[56].gap == pytest.approx(0.03)  # deeper minus shallowest
    assert [v.outcome for _, _, v in chain.adjacent] == ["shown", "not shown", "shown"]
    assert chain.describe_order() == (
        "2 of 3 adjacent depth pairs in the claimed order (2 beyond the margin, 1 against it beyond the margin)"
    )
    # The same values do not fall with depth.
    assert falls_with_depth(rising, endpoints=[56]).outcome == "not shown"


def test_a_chain_with_error_rates_uses_the_binomial_margin() -> None:
    chain = falls_with_depth(FALLING, endpoints=[56], images=10_000)
    p_deep, p_shallow = statistics.fmean(FALLING[56]), statistics.fmean(FALLING[20])
    floor = 2 * math.sqrt(p_deep * (1 - p_deep) / 10_000 + p_shallow * (1 - p_shallow) / 10_000)
    assert chain.endpoints[56].margin == pytest.approx(floor)
    assert chain.outcome == "shown"  # 3 points against a margin of about 0.8
    # 32 against 44 is half a point: beyond the three seeds' spread, within the 10,000 images' binomial error
    # (2 * sqrt(0.09 * 0.91 / 1e4 + 0.095 * 0.905 / 1e4) = 0.82 points); 20 against 32, a point, is beyond it.
    assert [v.outcome for _, _, v in chain.adjacent] == ["shown", "within noise", "shown"]
    assert chain.adjacent[1][2].margin == pytest.approx(0.008194, rel=1e-3)
    assert chain.in_order() == 2


def test_a_pair_won_because_the_other_net_diverged_counts_as_in_order() -> None:
    chain = falls_with_depth({20: [NAN, NAN], 32: [0.09, 0.091]}, endpoints=[32])
    assert chain.adjacent[0][2].outcome == "shown"
    assert chain.describe_order() == (
        "1 of 1 adjacent depth pairs in the claimed order (1 beyond the margin, 0 against it beyond the margin)"
    )
