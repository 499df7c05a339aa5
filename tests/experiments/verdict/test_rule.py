"""The verdict rule (resnetlab.experiments.verdict) on constructed results: each outcome, the margin it used (a 95%
t-interval of the gap, written out here with scipy.stats' own quantiles), the noise it pools, and the diverged-seed
rules. Its error rates are measured in test_error_rates.py."""

from __future__ import annotations

import math
import statistics

import pytest
from scipy import stats

from resnetlab.experiments.verdict import (
    Noise,
    Spread,
    Verdict,
    all_of,
    falls_with_depth,
    family_note,
    higher,
    lower,
    pooled,
    rises_with_depth,
)

NAN = math.nan


def _pooled_sd(*groups: list[float]) -> tuple[float, int]:
    df = sum(len(g) - 1 for g in groups)
    return math.sqrt(sum((len(g) - 1) * statistics.variance(g) for g in groups) / df), df


def _seed_margin(a: list[float], b: list[float]) -> float:
    """Student's pooled two-sample t margin: t(0.975, K_A + K_B - 2) * s_pooled * sqrt(1/K_A + 1/K_B)."""
    sd, df = _pooled_sd(a, b)
    return float(stats.t.ppf(0.975, df)) * sd * math.sqrt(1 / len(a) + 1 / len(b))


def _binomial_se(p_a: float, p_b: float, images: int) -> float:
    return math.sqrt(p_a * (1 - p_a) / images + p_b * (1 - p_b) / images)


# A scalar measured over three seeds each: A clearly below B (gap 1.0, margin about 0.23).
A = [1.0, 1.1, 0.9]
B = [2.0, 2.1, 1.9]


def test_a_clear_win_is_shown_with_a_t_margin_from_the_two_nets_seeds() -> None:
    verdict = lower(A, than=B)
    assert verdict.outcome == "shown"
    assert verdict.gap == pytest.approx(1.0)
    assert verdict.margin == pytest.approx(_seed_margin(A, B))
    assert verdict.margin == pytest.approx(2.776445 * 0.1 * math.sqrt(2 / 3), rel=1e-6)  # t(0.975, 4)
    assert verdict.df == pytest.approx(4)
    assert verdict.basis == "t(4): spread of the two nets' seeds"


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
    a, b = [1.0, 1.5], [1.2, 1.6]  # gap 0.15; t(0.975, 2) = 4.30 on a pooled sd of 0.29
    for verdict, gap in ((lower(a, than=b), 0.15), (lower(b, than=a), -0.15)):
        assert verdict.outcome == "within noise"
        assert verdict.gap == pytest.approx(gap)
        assert verdict.margin == pytest.approx(_seed_margin(a, b))
    # Just inside and just outside the margin: "exceeds" is strict.
    margin = _seed_margin(A, B)
    nearer = [v + 1.0 - margin * 0.99 for v in A]  # B's mean minus this mean: 0.99 margins
    farther = [v + 1.0 - margin * 1.01 for v in A]
    assert lower(nearer, than=B).outcome == "within noise"
    assert lower(farther, than=B).outcome == "shown"


def test_pooled_noise_over_the_nets_of_an_experiment() -> None:
    nets = [[1.0, 1.2], [2.0, 2.4, 2.2], [3.0], [NAN, 5.0, 5.2]]  # one seed and a diverged one add nothing
    noise = pooled(nets)
    assert noise is not None
    sd, df = _pooled_sd([1.0, 1.2], [2.0, 2.4, 2.2], [5.0, 5.2])
    assert (noise.sd, noise.df) == (pytest.approx(sd), df)
    assert noise.df == 4
    assert noise.source == "pooled over 3 nets, 4 df"
    assert pooled([[1.0], [2.0]]) is None
    assert pooled([Spread((1.0, 1.2))], "given").source == "given"  # type: ignore[union-attr]


def test_a_given_noise_sets_the_margin_with_its_degrees_of_freedom() -> None:
    noise = Noise(0.1, 8, "pooled over 8 nets")
    verdict = lower([1.0, 1.1], than=[1.5, 1.6], noise=noise)
    margin = float(stats.t.ppf(0.975, 8)) * 0.1 * math.sqrt(1 / 2 + 1 / 2)
    assert verdict.margin == pytest.approx(margin)
    assert verdict.df == pytest.approx(8)
    assert verdict.outcome == "shown"  # gap 0.5 against 0.33
    assert verdict.basis == "t(8): pooled over 8 nets"


def test_one_seed_a_side_with_no_measured_noise_is_within_noise_however_large_the_gap() -> None:
    for images in (None, 10_000):
        verdict = lower([0.07], than=[0.50], images=images)
        assert verdict.outcome == "within noise"
        assert verdict.gap == pytest.approx(0.43)
        assert math.isnan(verdict.margin)
        assert verdict.basis == "one seed a side and no measured run-to-run noise"
    assert lower([1.0], than=[50.0]).describe(scale=1, unit="") == (
        "gap +49.00, no margin [one seed a side and no measured run-to-run noise]"
    )


def test_one_seed_against_several_pools_the_other_sides_seeds() -> None:
    verdict = lower([1.0], than=B)
    sd, df = _pooled_sd(B)
    assert verdict.df == pytest.approx(df)
    assert verdict.margin == pytest.approx(float(stats.t.ppf(0.975, df)) * sd * math.sqrt(1 + 1 / 3))


def test_one_seed_of_error_rates_with_measured_noise_adds_the_binomial_part() -> None:
    images, noise = 10_000, Noise(0.01, 4, "measured")
    verdict = lower([0.07], than=[0.12], images=images, noise=noise)
    seed_se, binomial_se = 0.01 * math.sqrt(2), _binomial_se(0.07, 0.12, images)
    total = math.sqrt(seed_se**2 + binomial_se**2)
    welch_df = total**4 / (seed_se**4 / 4)  # Welch-Satterthwaite: the binomial part has infinite df
    assert verdict.df == pytest.approx(welch_df)
    assert verdict.margin == pytest.approx(float(stats.t.ppf(0.975, welch_df)) * total)
    assert verdict.outcome == "shown"
    assert verdict.basis == "t(5): measured; binomial, 10,000 images"


def test_seeds_that_agree_still_get_the_test_sets_binomial_error() -> None:
    images = 10_000
    a, b = [0.0700, 0.0700], [0.0750, 0.0750]  # no spread at all; half a point between them
    verdict = lower(a, than=b, images=images)
    assert verdict.df == math.inf
    assert verdict.margin == pytest.approx(float(stats.norm.ppf(0.975)) * _binomial_se(0.07, 0.075, images))
    assert verdict.outcome == "within noise"  # the margin is 0.71 points
    assert lower(a, than=b).outcome == "shown"  # as a scalar with no spread, any gap counts


def test_family_note() -> None:
    assert family_note(3) == (
        "3 claims, each decided on its own: were none of them true, the chance that any reads **shown** is about 7.5% "
        "at most (3 x 2.5%)"
    )


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
    assert verdict.basis == "t(4): spread of the two nets' seeds; the net it favours diverged in a seed"


def test_a_diverged_seed_does_not_save_the_claimed_better_side_from_a_loss() -> None:
    verdict = lower([2.0, NAN, 2.1, 1.9], than=A)
    assert verdict.outcome == "not shown"
    assert verdict.gap == pytest.approx(-1.0)


def test_a_diverged_seed_on_the_other_side_never_makes_it_the_better_one() -> None:
    # "Not shown" would call the side with a diverged seed the better (lower) one: within noise instead.
    verdict = lower(B, than=[1.0, NAN, 1.1, 0.9])
    assert lower(B, than=A).outcome == "not shown"
    assert verdict.outcome == "within noise"
    assert verdict.gap == pytest.approx(-1.0)


def test_a_diverged_seed_on_the_other_side_leaves_the_win_shown() -> None:
    verdict = lower(A, than=[2.0, 2.1, NAN, 1.9])
    assert verdict.outcome == "shown"
    assert verdict.gap == pytest.approx(1.0)
    assert verdict.margin == pytest.approx(_seed_margin(A, B))
    assert verdict.basis == "t(4): spread of the two nets' seeds"


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


def test_describe_and_record() -> None:
    verdict = Verdict("shown", 0.0158, 0.0102, "t(8): pooled over 8 nets", 8.0)
    assert verdict.describe() == "gap +1.58 points, margin 1.02 [t(8): pooled over 8 nets]"
    assert verdict.record() == {
        "outcome": "shown",
        "gap": 0.0158,
        "margin": 0.0102,
        "df": 8.0,
        "basis": "t(8): pooled over 8 nets",
    }
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


def test_a_chain_with_error_rates_adds_the_binomial_part() -> None:
    noise = pooled(FALLING.values())
    assert noise is not None and noise.df == 8
    chain = falls_with_depth(FALLING, endpoints=[56], images=10_000, noise=noise)
    seed_se = noise.sd * math.sqrt(2 / 3)
    total = math.sqrt(
        seed_se**2 + _binomial_se(statistics.fmean(FALLING[56]), statistics.fmean(FALLING[20]), 10_000) ** 2
    )
    assert chain.endpoints[56].margin == pytest.approx(float(stats.t.ppf(0.975, total**4 / (seed_se**4 / 8))) * total)
    assert chain.outcome == "shown"  # 3 points against a margin of about 0.8
    # 32 against 44 is half a point: beyond the three seeds' spread, within the 10,000 images' binomial error; 20
    # against 32, a point, is beyond it.
    assert [v.outcome for _, _, v in chain.adjacent] == ["shown", "within noise", "shown"]
    assert chain.in_order() == 2


def test_a_pair_won_because_the_other_net_diverged_counts_as_in_order() -> None:
    chain = falls_with_depth({20: [NAN, NAN], 32: [0.09, 0.091]}, endpoints=[32])
    assert chain.adjacent[0][2].outcome == "shown"
    assert chain.describe_order() == (
        "1 of 1 adjacent depth pairs in the claimed order (1 beyond the margin, 0 against it beyond the margin)"
    )
