"""The run-to-run noise measured at each budget: what the rule's margin takes for a verdict on one seed a side."""

from __future__ import annotations

from collections.abc import Iterable

from resnetlab.experiments.verdict.rule import Noise, Spread, pooled

# Run-to-run noise measured at a budget, for verdicts on one seed a side: (budget, measure) -> noise. Recomputed from
# the committed results by tests/experiments/verdict/test_measured.py.
# quick, test error: four nets trained twice at the quick budget with the same seed (plain-20, plain-56, ResNet-20 and
# ResNet-56: degradation-quick in bf16, whose results.json records them but whose run logs were not committed, and
# gradients-quick in fp32, committed with its logs). Runs that differ in rounding alone end about as far apart as runs
# of two seeds (Summers & Dinneen 2021); the precision changed too, which can only widen the pairs' gaps. The test
# error is the same measure in both (the whole test set); the last-epoch training error is not measured here, since
# the older runs did not record the images it counted. sd = sqrt(sum(d^2) / (2 * 4)), 4 df.
MEASURED: dict[tuple[str, str], Noise] = {
    ("quick", "test_error"): Noise(
        0.009780720832331323, 4, "measured at the quick budget: 4 nets trained twice, same seed, bf16 and fp32"
    ),
}


def noise_for(spreads: Iterable[Spread], budget: str, measure: str) -> Noise | None:
    """The noise a summary's verdicts on `measure` use: pooled over its own nets where any has two seeds, else the
    one measured at `budget` (None: neither, so one-seed verdicts read within noise)."""
    own = pooled(spreads)
    return own if own is not None else MEASURED.get((budget, measure))
