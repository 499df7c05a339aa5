"""The verdict rule's error rates, measured by simulation: how often `verdict.lower` calls two identical nets' gap
**shown** (its false-positive rate), and how often it calls a true 1.5-point gap shown (its power).

    python -m resnetlab.experiments.verdict.error_rates --out docs/results/verdict-rule

writes results.json (the table) and summary.md (the table as the rule's page shows it) into that folder.

The simulated world is the rule's assumption: each seed's test error is the net's error plus normal run-to-run noise of
standard deviation `spread`, the same for every net of the family the noise is pooled over (the two compared and two
more, as an experiment's four plain nets or four ResNets are), and the test set adds to each net one normal draw of
the full binomial variance of 10,000 images at 17% error (the two nets' draws independent, which is what the rule's
binomial part assumes). With one seed a side, the run-to-run noise is taken as measured elsewhere with 4 degrees of
freedom (an independent chi-square draw), as the quick budget's is. Beside it, the assumption broken: one net of a
family of three spreading four or eight times as much as the others, as a deep net might. The generator's seed is
fixed, so the committed file is what this module computes.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import resnetlab.files as files
from resnetlab.experiments.verdict.measured import MEASURED
from resnetlab.experiments.verdict.rule import CONFIDENCE, FALSE_SHOWN, Noise, lower, pooled

SEEDS = (1, 2, 3, 5)  # seeds per net
SPREADS = (0.001, 0.005, 0.01, 0.02)  # run-to-run standard deviation of one seed's error: 0.1 to 2 points
FAMILY = 4  # nets the run-to-run noise is pooled over, the two compared among them
TRUE_GAP = 0.015  # the power is measured for a true gap of 1.5 points
ERROR = 0.17  # about the standard budget's ResNet errors on the JPEG copy of CIFAR-10
IMAGES = 10_000
MEASURED_DF = 4  # one seed a side: the noise measured at the budget, as the quick budget's (4 nets trained twice)
DRAWS = 10_000
# The assumption broken: two seeds, a family of three (the depth experiment's), the compared deeper net spreading
# `wider` times the others' 0.25 points.
UNEQUAL = ((2, 3, 0.0025, 4.0), (2, 3, 0.0025, 8.0))  # (seeds, family, spread, wider)


def shown_rate(
    seeds: int,
    spread: float,
    gap: float,
    *,
    images: int | None,
    draws: int,
    rng: np.random.Generator,
    family: int = FAMILY,
    wider: float = 1.0,
) -> float:
    """The share of `draws` simulated comparisons in which "A lower than B" reads shown, for B's error `gap` above
    A's; `images=None`: a scalar with no test-set sampling. B's spread is `wider` times the family's."""
    sampling = math.sqrt(ERROR * (1 - ERROR) / images) if images is not None else 0.0
    shown = 0
    for _ in range(draws):
        a = ERROR + spread * rng.standard_normal(seeds) + sampling * rng.standard_normal()
        b = ERROR + gap + wider * spread * rng.standard_normal(seeds) + sampling * rng.standard_normal()
        if seeds == 1:
            noise: Noise | None = Noise(
                spread * math.sqrt(rng.chisquare(MEASURED_DF) / MEASURED_DF), MEASURED_DF, "simulated"
            )
        else:
            others = [spread * rng.standard_normal(seeds) for _ in range(family - 2)]
            noise = pooled([a.tolist(), b.tolist(), *(o.tolist() for o in others)])
        shown += lower(a.tolist(), b.tolist(), images=images, noise=noise).outcome == "shown"
    return shown / draws


def table(draws: int = DRAWS, *, seeds: Sequence[int] = SEEDS, spreads: Sequence[float] = SPREADS) -> dict[str, Any]:
    """False "shown" for identical nets (error rates over 10,000 images, and scalars with no sampling part) and the
    power for a true 1.5-point gap, per seeds a side and run-to-run spread; the false "shown" where one net spreads
    more than its family; with the rule's constants and the run-to-run noise measured at each budget, which the rule's
    page quotes."""
    rng = np.random.default_rng(0)
    rows = []
    for k in seeds:
        for spread in spreads:
            rows.append(
                {
                    "seeds": k,
                    "spread": spread,
                    "false_shown": shown_rate(k, spread, 0.0, images=IMAGES, draws=draws, rng=rng),
                    "false_shown_scalar": shown_rate(k, spread, 0.0, images=None, draws=draws, rng=rng),
                    "power": shown_rate(k, spread, TRUE_GAP, images=IMAGES, draws=draws, rng=rng),
                }
            )
    unequal = [
        {
            "seeds": k,
            "family": family,
            "spread": spread,
            "wider": wider,
            "false_shown": shown_rate(k, spread, 0.0, images=IMAGES, draws=draws, rng=rng, family=family, wider=wider),
        }
        for k, family, spread, wider in UNEQUAL
    ]
    return {
        "command": "python -m resnetlab.experiments.verdict.error_rates",
        "confidence": CONFIDENCE,
        "false_shown_bound": FALSE_SHOWN,
        "measured": [
            {"budget": budget, "measure": measure, "sd": noise.sd, "df": noise.df, "source": noise.source}
            for (budget, measure), noise in MEASURED.items()
        ],
        "draws": draws,
        "family": FAMILY,
        "true_gap": TRUE_GAP,
        "error": ERROR,
        "images": IMAGES,
        "measured_df": MEASURED_DF,
        "rows": rows,
        "unequal": unequal,
    }


def markdown(result: dict[str, Any]) -> str:
    """The table as the rule's page shows it: false "shown" and power per seeds a side and run-to-run spread."""
    rows = result["rows"]
    lines = [
        "# The verdict rule's error rates",
        "",
        f"- command: `{result['command']}`; {result['draws']:,} simulated comparisons a cell, generator seed fixed",
        f"- error rates over {result['images']:,} test images at {100 * result['error']:.0f}% error; with one seed a "
        f"side the run-to-run noise is measured elsewhere with {result['measured_df']} degrees of freedom",
        "",
        "| seeds a side | run-to-run spread | false **shown**, error rates | false **shown**, scalars "
        f"| power at a true {100 * result['true_gap']:.1f}-point gap |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['seeds']} | {100 * row['spread']:.1f} points | {100 * row['false_shown']:.2f}% | "
            f"{100 * row['false_shown_scalar']:.2f}% | {100 * row['power']:.1f}% |"
        )
    lines += [
        "",
        f"With two seeds or more the noise is pooled over a family of {result['family']} nets of the same spread. The "
        "assumption broken, one net spreading more than the rest of its family:",
        "",
        "| seeds a side | family | others' spread | that net's spread | false **shown**, error rates |",
        "|---|---|---|---|---|",
    ]
    for row in result["unequal"]:
        lines.append(
            f"| {row['seeds']} | {row['family']} | {100 * row['spread']:.2f} points | "
            f"{100 * row['spread'] * row['wider']:.2f} points | {100 * row['false_shown']:.2f}% |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write results.json and summary.md into this folder")
    parser.add_argument("--draws", type=int, default=DRAWS, help="comparisons per cell (default: %(default)s)")
    args = parser.parse_args(argv)
    result = table(args.draws)
    print(markdown(result))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        files.write_json(args.out / "results.json", result)
        files.write_text(args.out / "summary.md", markdown(result))


if __name__ == "__main__":
    main()
