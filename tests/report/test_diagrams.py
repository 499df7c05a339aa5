"""The diagrams are drawn from the code: a changed unit ordering or spec changes the picture, not only the file."""

from __future__ import annotations

import dataclasses
import re

import pytest

from resnetlab.models import registry
from resnetlab.models.unit_orders import UNIT_ORDERS, OrderSpec
from resnetlab.report import diagrams

OPS = {"weight", "BN", "ReLU"}


def _labels(svg: str) -> list[str]:
    """The drawing's texts, in the order drawn (text stays text in these SVGs)."""
    return [re.sub(r"<[^>]+>", "", text).strip() for text in re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.S)]


def _expected_ops(orders: dict[str, OrderSpec]) -> list[str]:
    names = {"conv": "weight", "bn": "BN", "relu": "ReLU"}
    return [names[op] for o in orders.values() for op in (*o.around_conv, *o.around_last_conv, *o.after_add)]


def test_the_unit_orderings_are_drawn_from_the_table_and_follow_a_change(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = [label for label in _labels(diagrams.unit_orders_svg()) if label in OPS]
    assert drawn == _expected_ops(UNIT_ORDERS)  # every ordering, every op, in order
    assert drawn[:6] == ["weight", "BN", "ReLU", "weight", "BN", "ReLU"]  # (a): conv-BN-ReLU-conv-BN, add, ReLU
    changed = {**UNIT_ORDERS, "full_preact": OrderSpec(("relu", "bn", "conv"), ("relu", "bn", "conv"), (), ())}
    monkeypatch.setattr(diagrams, "UNIT_ORDERS", changed)
    redrawn = [label for label in _labels(diagrams.unit_orders_svg()) if label in OPS]
    assert redrawn == _expected_ops(changed) != drawn
    assert redrawn[-6:] == ["ReLU", "BN", "weight", "ReLU", "BN", "weight"]


def test_the_network_columns_follow_the_registered_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    svg = diagrams.plain_and_residual_svg()
    labels = _labels(svg)
    assert "plain34 (34 layers)" in labels and "resnet34 (34 layers)" in labels
    assert labels.count("3x3 conv, 64") == 2 * 6 and labels.count("3x3 conv, 512, /2") == 2
    assert labels.count("B") == 3  # one projection where each of stages 2-4 changes the shape ([R1] option B)
    entry = registry.model_entry("resnet34")
    shallower = dataclasses.replace(entry.spec, depths=(1, 1, 1, 1), shortcut="A")
    monkeypatch.setitem(registry._REGISTRY, "resnet34", dataclasses.replace(entry, spec=shallower))
    labels = _labels(diagrams.plain_and_residual_svg())
    assert "resnet34 (10 layers)" in labels and "plain34 (34 layers)" in labels
    assert labels.count("A") == 3 and labels.count("B") == 0
    assert labels.count("3x3 conv, 64") == 6 + 2


def test_the_cifar_layout_reads_n_from_the_spec() -> None:
    labels = _labels(diagrams.cifar_layout_svg("cifar_resnet56"))
    assert "cifar_resnet56: 6n+2 = 56 layers, n = 9" in labels
    assert "18 x 3x3 conv, 32  (16x16)" in labels and "fc 10" in labels
    assert _labels(diagrams.blocks_svg())[:2] == ["basic (resnet34)", "64-d"]


def test_the_same_specs_give_the_same_file() -> None:
    assert diagrams.unit_orders_svg() == diagrams.unit_orders_svg()


def test_the_34_layer_pair_is_wrapped_to_fit_a_phone_screen_between_units() -> None:
    svg = diagrams.plain_and_residual_svg()
    size = re.search(r'<svg[^>]* width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert size is not None
    width, height = (float(points) * 4 / 3 for points in size.groups())  # CSS px
    assert width <= 450 and height <= 800  # shown 390 px wide: its 8 pt labels at some 9 px, the whole on one screen
    layers, units = diagrams._network_layers(registry.model_entry("resnet34").spec)
    cuts = diagrams._wraps(len(layers), units, columns=3)
    assert cuts == [12, 24]  # 36 boxes, three columns of 12
    assert not any(start < cut < end for cut in cuts for start, end, _ in units)  # each shortcut beside one column
