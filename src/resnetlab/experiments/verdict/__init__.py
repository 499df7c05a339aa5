"""The one rule that decides a claim (`rule`), the run-to-run noise measured at each budget that it takes for one
seed a side (`measured`), and its error rates, measured by simulation (`error_rates`)."""

from resnetlab.experiments.verdict.measured import MEASURED, noise_for
from resnetlab.experiments.verdict.rule import (
    CONFIDENCE,
    FALSE_SHOWN,
    RULE,
    Chain,
    Claim,
    Noise,
    Outcome,
    Spread,
    Verdict,
    all_of,
    falls_with_depth,
    family_note,
    higher,
    lower,
    pooled,
    rises_with_depth,
    seeds_needed,
)

__all__ = [
    "CONFIDENCE",
    "FALSE_SHOWN",
    "MEASURED",
    "RULE",
    "Chain",
    "Claim",
    "Noise",
    "Outcome",
    "Spread",
    "Verdict",
    "all_of",
    "falls_with_depth",
    "family_note",
    "higher",
    "lower",
    "noise_for",
    "pooled",
    "rises_with_depth",
    "seeds_needed",
]
