"""The one rule that decides whether a run supports a claim of the papers: every experiment's summary asks it.

A claim "A is lower than B" (an error rate, a layer-response size, a gradient ratio) gets one of three outcomes:

- **shown**: B's mean over seeds exceeds A's by more than the margin;
- **not shown**: the opposite order, beyond the same margin;
- **within noise**: the gap is smaller than the margin, either way.

The margin is the half-width of a two-sided 95% t-interval of the gap (Student's t from scipy), so that two identical
nets read "shown" about 2.5% of the time (measured by `error_rates`: 2.2% to 3.2%, never above 5%). Its standard error
has two parts:

- **run-to-run noise**, the standard deviation s of one seed's value, estimated with f degrees of freedom: pooled over
  the nets of one family (plain or residual) in one experiment at one budget, every net with two seeds or more (over
  both families where a comparison crosses them; the deep plain nets spread several times more than the ResNets), or
  over the two nets compared; with one seed each and nothing to pool, the run-to-run noise measured at that budget by
  other runs (`measured.MEASURED`), where the project has a measurement. The gap's part is s * sqrt(1/K_A + 1/K_B)
  with K seeds a side. Assumed: the nets pooled share one run-to-run standard deviation and their values are normal
  around each net's mean.
- **test-set sampling**, for error rates: the binomial standard error of two proportions over the images counted,
  sqrt(p_A(1-p_A)/n + p_B(1-p_B)/n). Seeds do not shrink it (every seed is scored on the same images). It treats the
  two nets' images as independent; both are scored on the same images, whose errors are correlated, so a paired
  formula would be narrower: the rule does not credit that.

The two add in quadrature; the t quantile takes the Welch-Satterthwaite degrees of freedom of the sum (the binomial
part's are infinite): the exact t interval without the binomial part, an approximation with it, whose error rate
`error_rates` measures. With one seed a side and no measured noise the verdict is
"within noise" (one seed): a single run's gap says nothing of the noise around it.

Several comparisons: a claim made of several (every depth, both endpoints) is shown only when each is (an
intersection-union test: its false "shown" stays that of one comparison, without correction). The claims of one
summary are separate questions, not corrected for one another: with m claims of which none holds, the chance that any
reads shown is at most about m x 2.5% (Bonferroni), which each summary prints.

Diverged seeds (NaN) are failures: they leave the mean and spread, a side whose every seed diverged loses to a side
that trained, and otherwise a side with a diverged seed is never called the better one (its other seeds' win reads
"within noise"): a net that fails to train one time in K is not shown to be better.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from scipy import special

Outcome = Literal["shown", "not shown", "within noise"]
Claim = Callable[[Sequence[float], Sequence[float]], "Verdict"]  # (deeper, shallower) -> the claim's verdict
CONFIDENCE = 0.95  # two-sided: a false "shown" (one side) at most (1 - CONFIDENCE) / 2 = 2.5%
FALSE_SHOWN = (1 - CONFIDENCE) / 2

RULE = (
    "a claim is **shown** when the gap in its favour exceeds the margin, **not shown** when the opposite order does, "
    "and **within noise** otherwise; the margin is a 95% t-interval of the gap (two identical nets read **shown** "
    "about 2.5% of the time, measured), from the run-to-run spread pooled over the experiment's nets of one family "
    "(plain or residual) with two seeds or more (with one seed: the spread measured at this budget, else within "
    "noise) and, for error rates, the binomial error of the test images; a diverged seed counts as a failure, and a "
    "net with one is never called the better"
)


@dataclass(frozen=True)
class Spread:
    """One net's values over its seeds (NaN: a diverged seed)."""

    values: tuple[float, ...]

    @cached_property
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
class Noise:
    """The run-to-run standard deviation of one seed's value of a measure, estimated with `df` degrees of freedom."""

    sd: float
    df: float
    source: str  # how it was estimated, for the summary: "pooled over 8 nets", "measured: ..."


def pooled(spreads: Iterable[Spread | Sequence[float]], source: str = "") -> Noise | None:
    """The run-to-run noise pooled over every net with two finite seeds or more: the sum of squared deviations from
    each net's own mean over the sum of (K - 1). None when no net has two seeds."""
    groups = [s.finite if isinstance(s, Spread) else Spread(tuple(s)).finite for s in spreads]
    groups = [g for g in groups if len(g) >= 2]
    df = sum(len(g) - 1 for g in groups)
    if df == 0:
        return None
    # Plain float sums: statistics.variance's exact arithmetic costs 50 us a net, and the error-rate test pools 10^5
    # times.
    squares = sum(_squared_deviations(g) for g in groups)
    return Noise(math.sqrt(squares / df), df, source or f"pooled over {len(groups)} nets, {df} df")


def _squared_deviations(values: Sequence[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    gap: float  # mean(B) - mean(A) for the claim "A lower than B": positive supports the claim
    margin: float  # what the gap had to exceed (NaN: not measurable)
    basis: str  # where the standard error came from, or why there was none
    df: float = math.nan  # the t quantile's degrees of freedom (Welch-Satterthwaite; inf: the binomial part alone)

    def describe(self, scale: float = 100.0, unit: str = " points") -> str:
        """e.g. "gap +1.58 points, margin 1.02 [t(8): spread pooled over 8 nets; binomial, 10,000 images]"; `scale`
        turns fractions into points (square brackets: the text stands inside the parentheses of a claim line)."""
        if math.isnan(self.gap):
            return self.basis
        margin = "no margin" if math.isnan(self.margin) else f"margin {scale * self.margin:.2f}"
        return f"gap {scale * self.gap:+.2f}{unit}, {margin} [{self.basis}]"

    def bold(self) -> str:
        return f"**{self.outcome}**"

    def record(self) -> dict[str, object]:
        """What results.json keeps of it: the numbers a page may quote."""
        return {"outcome": self.outcome, "gap": self.gap, "margin": self.margin, "df": self.df, "basis": self.basis}


def _binomial_se(a: float, b: float, images: int) -> float:
    return math.sqrt(a * (1 - a) / images + b * (1 - b) / images)


def _t_margin(seed_se: float, df: float, binomial_se: float) -> tuple[float, float]:
    """The 95% margin of a gap whose standard error has a seed part, estimated with `df` degrees of freedom, and a
    binomial part, known exactly (infinite df): Student's t quantile at the Welch-Satterthwaite degrees of freedom of
    their sum, times the sum; and those degrees of freedom. Without the binomial part it is the exact t interval."""
    variance = seed_se**2 + binomial_se**2
    effective = math.inf if seed_se == 0 else variance**2 / (seed_se**4 / df)
    # scipy's Student t quantile (what scipy.stats.t.ppf computes, without its per-call argument checks: the error-rate
    # test calls the rule some 10^5 times); at infinite df, the normal quantile.
    quantile = float(special.stdtrit(effective, 1 - FALSE_SHOWN))
    return quantile * math.sqrt(variance), effective


def _diverged_verdict(left: Spread, right: Spread) -> Verdict:
    if not left.finite and not right.finite:
        return Verdict("within noise", math.nan, math.nan, "every seed of both diverged")
    if not left.finite:
        return Verdict("not shown", math.nan, math.nan, "every seed of the claimed better net diverged")
    return Verdict("shown", math.nan, math.nan, "every seed of the other net diverged")


def lower(
    a: Sequence[float], than: Sequence[float], *, images: int | None = None, noise: Noise | None = None
) -> Verdict:
    """The rule for "a is lower than `than`". `images`: the values are error rates over that many images (the
    binomial part); None for other scalars. `noise`: the run-to-run noise to use (pooled over an experiment's nets,
    or measured at its budget); None: pooled over the two sides, where either has two seeds."""
    left, right = Spread(tuple(a)), Spread(tuple(than))
    if not left.finite or not right.finite:
        return _diverged_verdict(left, right)
    gap = right.mean - left.mean
    noise = noise or pooled([left, right], "spread of the two nets' seeds")
    if noise is None:
        return Verdict("within noise", gap, math.nan, "one seed a side and no measured run-to-run noise")
    seed_se = noise.sd * math.sqrt(1 / len(left.finite) + 1 / len(right.finite))
    binomial_se = _binomial_se(left.mean, right.mean, images) if images is not None else 0.0
    margin, df = _t_margin(seed_se, noise.df, binomial_se)
    basis = f"t({df:.0f}): {noise.source}" + (f"; binomial, {images:,} images" if images is not None else "")
    if (gap > margin and left.diverged) or (gap < -margin and right.diverged):
        return Verdict("within noise", gap, margin, f"{basis}; the net it favours diverged in a seed", df)
    outcome: Outcome = "shown" if gap > margin else "not shown" if gap < -margin else "within noise"
    return Verdict(outcome, gap, margin, basis, df)


def higher(
    a: Sequence[float], than: Sequence[float], *, images: int | None = None, noise: Noise | None = None
) -> Verdict:
    """The rule for "a is higher than `than`" (the gap is then a - than)."""
    return lower(than, a, images=images, noise=noise)


def all_of(verdicts: Sequence[Verdict]) -> Outcome:
    """A claim made of several comparisons: shown when each is, not shown when any reads the opposite order."""
    outcomes = {v.outcome for v in verdicts}
    if "not shown" in outcomes:
        return "not shown"
    return "shown" if outcomes == {"shown"} else "within noise"


def seeds_needed(gap: float, noise: Noise, a: float, b: float, images: int | None, *, most: int = 20) -> int | None:
    """The fewest seeds a side (up to `most`) at which a gap of `gap` between means `a` and `b` would exceed the margin,
    were the run-to-run noise `noise` with as many degrees of freedom as those seeds pool (2K - 2, or the noise's own
    where larger). At that K a true gap of this size clears the margin about half of the time. None: not within
    `most`."""
    binomial_se = _binomial_se(a, b, images) if images is not None else 0.0
    for k in range(2, most + 1):
        if gap > _t_margin(noise.sd * math.sqrt(2 / k), max(noise.df, 2 * k - 2), binomial_se)[0]:
            return k
    return None


def family_note(claims: int) -> str:
    """The summary's line on its several claims (see the module docstring)."""
    bound = 100 * claims * FALSE_SHOWN
    return (
        f"{claims} claims, each decided on its own: were none of them true, the chance that any reads **shown** is "
        f"about {bound:.1f}% at most ({claims} x 2.5%)"
    )


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
    values: Mapping[int, Sequence[float]],
    *,
    endpoints: Sequence[int],
    images: int | None = None,
    noise: Noise | None = None,
) -> Chain:
    """The rule for "deeper is lower" over `values` (depth -> values over seeds): each depth in `endpoints` against
    the shallowest depth, and every adjacent pair for the rank order."""
    return _chain(values, endpoints, lambda deep, shallow: lower(deep, shallow, images=images, noise=noise))


def rises_with_depth(
    values: Mapping[int, Sequence[float]],
    *,
    endpoints: Sequence[int],
    images: int | None = None,
    noise: Noise | None = None,
) -> Chain:
    """The rule for "deeper is higher" (e.g. the plain nets' training error: the degradation problem)."""
    return _chain(values, endpoints, lambda deep, shallow: higher(deep, shallow, images=images, noise=noise))
