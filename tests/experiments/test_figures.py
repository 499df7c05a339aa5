"""The site's figure style, and [R1] Fig. 6's curves drawn in it."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_hex, to_rgb

from resnetlab.experiments import figures
from resnetlab.experiments.figures import PALETTE, net_colours, side_by_side, styled
from resnetlab.experiments.runner import FinishedRun, PlannedRun
from tests.helpers.figures import assert_house_style, kept


def _run(group: str, depth: int, seed: int) -> FinishedRun:
    records = []
    for iteration in range(50, 1050, 50):
        records.append(
            {"kind": "iteration", "iteration": iteration, "train_error": 0.9 - iteration / 2000 + 0.01 * seed}
        )
        if iteration % 250 == 0:
            records.append(
                {"kind": "epoch", "iteration": iteration, "test_top1": 0.2 + iteration / 2000 - depth / 1000}
            )
    label = f"{group}-{depth}"
    planned = PlannedRun(label, f"cifar_{group.lower()}{depth}", group, depth)
    return FinishedRun(planned, seed, Path("unused"), {"top1": 0.5}, records)


def _contrast_on_white(colour: str) -> float:
    """WCAG 2's contrast ratio of `colour` against white."""
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour)]
    return 1.05 / (0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2] + 0.05)


def test_the_palette_is_colour_blind_safe_and_has_no_faint_line() -> None:
    assert len(set(PALETTE)) == len(PALETTE) >= 6
    assert "#f0e442" not in {c.lower() for c in PALETTE}  # Okabe-Ito's yellow: a line of it vanishes on white
    assert all(_contrast_on_white(colour) >= 3 for colour in PALETTE[:5])  # WCAG's 3:1 for graphics
    assert _contrast_on_white(figures.NEUTRAL) >= 3


def test_a_depth_keeps_its_colour_and_a_pair_of_one_depth_gets_two() -> None:
    colours = net_colours(["plain-20", "plain-56", "ResNet-20", "ResNet-56", "ResNet-110"])
    assert colours["plain-20"] == colours["ResNet-20"] == PALETTE[0]
    assert colours["plain-56"] == colours["ResNet-56"] == PALETTE[1] and colours["ResNet-110"] == PALETTE[2]
    assert net_colours(["plain-56", "ResNet-56"]) == {"plain-56": PALETTE[0], "ResNet-56": PALETTE[1]}


def test_the_style_holds_inside_a_drawing_only() -> None:
    before = plt.rcParams["xtick.labelsize"]
    inside = styled(lambda: plt.rcParams["xtick.labelsize"])()
    assert inside == figures.STYLE["xtick.labelsize"] and plt.rcParams["xtick.labelsize"] == before


def test_the_error_curves_are_legible_with_the_legend_below_the_panels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = kept(monkeypatch, figures)
    panels = [
        (group, [[_run(group, depth, seed) for seed in (0, 1)] for depth in (20, 32, 44, 56)])
        for group in ("plain", "ResNet")
    ]
    assert side_by_side(panels, tmp_path / "degradation.png").exists()
    (figure,) = drawn
    assert_house_style(figure)
    plain, residual = figure.axes
    assert [to_hex(line.get_color()) for line in plain.get_lines()[1::2]] == [c.lower() for c in PALETTE[:4]]
    assert [to_hex(line.get_color()) for line in residual.get_lines()[1::2]] == [c.lower() for c in PALETTE[:4]]
    texts = [text.get_text() for text in figure.legends[0].get_texts()]
    assert texts == [
        "20 layers",
        "32 layers",
        "44 layers",
        "56 layers",
        "training error",
        "test error (band: seed range)",
    ]
    assert [label.get_text() for label in plain.get_xticklabels() if label.get_text()][-1].endswith("k")
    plt.close(figure)
