"""Drawing an experiment figure and keeping it open, to check it against the site's figure style
(`resnetlab.experiments.figures`): legible when a phone shows it 390 px wide, colours from the palette, legends and
colour bars outside the data area."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from resnetlab.experiments.figures import DPI, NEUTRAL, PALETTE, STYLE


def kept(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> list[Figure]:
    """The figures `module`'s drawing functions finish from now on: saved (so laid out), not closed."""
    figures: list[Figure] = []

    def keep(figure: Figure, path: Path) -> Path:
        figure.savefig(path)
        figures.append(figure)
        return path

    monkeypatch.setattr(module, "finish", keep)
    return figures


def assert_house_style(figure: Figure, *, lines_from: tuple[str, ...] = (*PALETTE, NEUTRAL)) -> None:
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    width = figure.get_size_inches()[0] * DPI
    assert figure.dpi == DPI and width <= 700  # shown 390 px wide: scaled by 0.56 or more
    panels = [axis for axis in figure.axes if axis.get_label() != "<colorbar>"]
    for axis in figure.axes:
        for label in [*axis.get_xticklabels(), *axis.get_yticklabels()]:
            if label.get_text():
                assert label.get_fontsize() >= STYLE["xtick.labelsize"]
    for axis in panels:
        for line in axis.get_lines():
            if np.size(line.get_xdata()) > 1:  # a curve, not a marker
                assert to_hex(line.get_color()) in {c.lower() for c in lines_from}, line.get_label()
    legends = [*figure.legends, *(legend for axis in panels if (legend := axis.get_legend()) is not None)]
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for axis in panels:
            assert not box.overlaps(axis.get_window_extent(renderer)), "a legend over a panel's data"
