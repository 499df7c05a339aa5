"""The table of [R2] Fig. 4's unit orderings: its two derived properties, and what a network built from a row is."""

from __future__ import annotations

from typing import get_args

import pytest

from resnetlab.models import ResNet, create_model
from resnetlab.models.spec import UnitOrder
from resnetlab.models.unit_orders import UNIT_ORDERS, OrderSpec


def test_the_table_has_a_row_for_every_ordering_a_spec_accepts() -> None:
    assert sorted(UNIT_ORDERS) == sorted(get_args(UnitOrder))


@pytest.mark.parametrize(
    ("around_conv", "pre_activation", "bn_before_conv"),
    [
        (("conv", "bn", "relu"), (), False),
        (("relu", "conv", "bn"), ("relu",), False),
        (("bn", "relu", "conv"), ("bn", "relu"), True),
        (("relu", "bn", "conv"), ("relu", "bn"), True),
    ],
)
def test_pre_activation_is_what_comes_before_the_conv(
    around_conv: tuple[str, ...], pre_activation: tuple[str, ...], bn_before_conv: bool
) -> None:
    order = OrderSpec(around_conv, around_conv, (), ())
    assert order.pre_activation == pre_activation
    assert order.bn_before_conv is bn_before_conv


@pytest.mark.parametrize("name", sorted(UNIT_ORDERS))
def test_every_row_pairs_each_conv_with_one_bn(name: str) -> None:
    order = UNIT_ORDERS[name]
    assert order.around_conv.count("conv") == order.around_conv.count("bn") == 1
    assert order.around_last_conv.count("conv") == 1
    # The last conv's BN sits either around it or after the addition, never in both places and never nowhere.
    assert order.around_last_conv.count("bn") + order.after_add.count("bn") == 1


@pytest.mark.parametrize("name", sorted(UNIT_ORDERS))
def test_a_network_built_from_a_row_normalises_where_the_row_says(name: str) -> None:
    order = UNIT_ORDERS[name]
    model = create_model("cifar_resnet20", unit_order=name)
    assert isinstance(model, ResNet)
    unit = model.layer2[0]  # 16 -> 32 channels: a BN before the conv has the conv's input width
    assert unit.conv1.in_channels != unit.conv1.out_channels
    expected = unit.conv1.in_channels if order.bn_before_conv else unit.conv1.out_channels
    assert unit.bn1.num_features == expected
    assert (model.final_bn is not None) == ("bn" in order.final_activation)
    assert model.final_relu == ("relu" in order.final_activation)
