"""The one rule that decides whether a run supports a claim of the papers: every experiment's summary asks it.

A claim "A is lower than B" (an error rate, a layer-response size, a gradient ratio) gets one of three outcomes:

- **shown**: B's mean over seeds exceeds A's by more than the margin;
- **not shown**: the opposite order, beyond the same margin;
- **within noise**: the gap is smaller than the margin, either way.

The margin is two standard errors of the gap. The standard error comes from the seed spread when both sides have two
seeds or more (sample variances, sqrt(s_A^2/K_A + s_B^2/K_B)). For error rates it is never taken below the binomial
two-proportion standard error of the images counted (sqrt(p_A(1-p_A)/n + p_B(1-p_B)/n)): two seeds can agree by chance,
and the sampling error of a finite test set is there whatever the seeds do; with one seed per side, that binomial
error is the whole standard error. A scalar that is not an error rate has no sampling formula: with one seed its noise
is not measured and no gap counts as shown.

Diverged seeds (NaN) are failures: they leave the mean and spread, a side whose every seed diverged loses to a side
that trained, and otherwise a side with a diverged seed is never called the better one (its other seeds' win reads
"within noise"): a net that fails to train one time in K is not shown to be better.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["shown", "not shown", "within noise"]
Claim = Callable[[Sequence[float], Sequence[float]], "Verdict"]  # (deeper, shallower) -> the claim's verdict
STANDARD_ERRORS = 2.0  # the margin, in standard errors of the gap (about a 95% two-sided interval)

RULE = (
    "a claim is **shown** when the gap in its favour exceeds two standard errors, **not shown** when the opposite "
    "order does, and **within noise** otherwise; the standard error comes from the spread over seeds (two or more) "
    "and, for error rates, is never below the binomial standard error of the images counted (the only one with one "
    "seed); a diverged seed counts as a failure, and a net with one is never called the better"
)


@dataclass(frozen=True)
class Spread:
    """One net's values over its seeds (NaN: a diverged seed)."""

    values: tuple[float, ...]

    @property
    def finite(self) -> tuple[float, ...]:
        return tuple(v for v in self.values if math.isfinite(v))

    @property
    def diverged(self) -> int:
        return len(self.values) - len(self.finite)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.finite) if self.finite else math.nan

    @property
    def median(self) -> float:
        return statistics.median(self.finite) if self.finite else math.nan

    @property
    def low(self) -> float:
        return min(self.finite) if self.finite else math.nan

    @property
    def high(self) -> float:
        return max(self.finite) if self.finite else math.nan


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    gap: float  # mean(B) - mean(A) for the claim "A lower than B": positive supports the claim
    margin: float  # what the gap had to exceed (NaN: not measurable)
    basis: str  # where the standard error came from, or why there was none

    def describe(self, scale: float = 100.0, unit: str = " points") -> str:
        """e.g. "gap +1.58 points, margin 1.02 [spread of 2+2 seeds]"; `scale` turns fractions into points (square
        brackets: the text stands inside the parentheses of a claim line)."""
        if math.isnan(self.gap):
            return self.basis
        margin = "no margin" if math.isnan(self.margin) else f"margin {scale * self.margin:.2f}"
        return f"gap {scale * self.gap:+.2f}{unit}, {margin} [{self.basis}]"

    def bold(self) -> str:
        return f"**{self.outcome}**"


def _binomial_se(a: float, b: float, images: int) -> float:
    return math.sqrt(a * (1 - a) / images + b * (1 - b) / images)


def _seed_se(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))


def lower(a: Sequence[float], than: Sequence[float], *, images: int | None = None) -> Verdict:
    """The rule for "a is lower than `than`". `images`: the values are error rates over that many images (which
    sets the binomial floor); None for other scalars."""
    left, right = Spread(tuple(a)), Spread(tuple(than))
    if not left.finite or not right.finite:
        if not left.finite and not right.finite:
            return Verdict("within noise", math.nan, math.nan, "every seed of both diverged")
        if not left.finite:
            return Verdict("not shown", math.nan, math.nan, "every seed of the claimed better net diverged")
        return Verdict("shown", math.nan, math.nan, "every seed of the other net diverged")
    gap = right.mean - left.mean
    errors: list[tuple[float, str]] = []
    if len(left.finite) >= 2 and len(right.finite) >= 2:
        errors.append((_seed_se(left.finite, right.finite), f"spread of {len(left.finite)}+{len(right.finite)} seeds"))
    if images is not None:
        errors.append((_binomial_se(left.mean, right.mean, images), f"binomial, {images:,} images"))
    if not errors:
        return Verdict("within noise", gap, math.nan, "one seed: the noise of this measure is not measured")
    standard_error, basis = max(errors)
    margin = STANDARD_ERRORS * standard_error
    if gap > margin and left.diverged:
        return Verdict("within noise", gap, margin, f"{basis}; the claimed better net diverged in {left.diverged} seed")
    outcome: Outcome = "shown" if gap > margin else "not shown" if gap < -margin else "within noise"
    return Verdict(outcome, gap, margin, basis)


def higher(a: Sequence[float], than: Sequence[float], *, images: int | None = None) -> Verdict:
    """The rule for "a is higher than `than`" (the gap is then a - than)."""
    return lower(than, a, images=images)


def all_of(verdicts: Sequence[Verdict]) -> Outcome:
    """A claim made of several comparisons: shown when each is, not shown when any reads the opposite order."""
    outcomes = {v.outcome for v in verdicts}
    if "not shown" in outcomes:
        return "not shown"
    return "shown" if outcomes == {"shown"} else "within noise"


@dataclass(frozen=True)
class Chain:
    """A claim over a chain of depths, "the value falls as depth grows": decided at the endpoints (the shallowest net
    against each named deeper one, all of which must hold), with the rank order over every depth as description."""

    endpoints: dict[int, Verdict]  # deeper depth -> "that depth is lower than the shallowest"
    adjacent: list[tuple[int, int, Verdict]]  # (shallower, deeper, the claim for the deeper against the shallower)
    outcome: Outcome

    def in_order(self) -> int:
        # A pair whose shallower net diverged in every seed has no gap but is in the claimed order.
        return sum(v.outcome == "shown" or v.gap > 0 for _, _, v in self.adjacent)

    def describe_order(self) -> str:
        beyond = sum(v.outcome == "shown" for _, _, v in self.adjacent)
        against = sum(v.outcome == "not shown" for _, _, v in self.adjacent)
        return (
            f"{self.in_order()} of {len(self.adjacent)} adjacent depth pairs in the claimed order "
            f"({beyond} beyond the margin, {against} against it beyond the margin)"
        )


def _chain(values: Mapping[int, Sequence[float]], endpoints: Sequence[int], claim: Claim) -> Chain:
    depths = sorted(values)
    ends = {d: claim(values[d], values[depths[0]]) for d in endpoints if d in values and d != depths[0]}
    pairs = [(a, b, claim(values[b], values[a])) for a, b in itertools.pairwise(depths)]
    return Chain(ends, pairs, all_of(list(ends.values())) if ends else "within noise")


def falls_with_depth(
    values: Mapping[int, Sequence[float]], *, endpoints: Sequence[int], images: int | None = None
) -> Chain:
    """The rule for "deeper is lower" over `values` (depth -> values over seeds): each depth in `endpoints` against
    the shallowest depth, and every adjacent pair for the rank order."""
    return _chain(values, endpoints, lambda deep, shallow: lower(deep, shallow, images=images))


def rises_with_depth(
    values: Mapping[int, Sequence[float]], *, endpoints: Sequence[int], images: int | None = None
) -> Chain:
    """The rule for "deeper is higher" (e.g. the plain nets' training error: the degradation problem)."""
    return _chain(values, endpoints, lambda deep, shallow: higher(deep, shallow, images=images))
