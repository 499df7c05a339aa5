"""The [R2] unit orderings and shortcut mappings, checked against their formulas on the unit's own layers."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnetlab import create_model
from resnetlab.models import ResidualUnit, ResNet
from resnetlab.models.unit_orders import UNIT_ORDERS
from tests.helpers.batchnorm import randomise_batchnorm


def _eval_model(name: str, **options: object) -> ResNet:
    model = randomise_batchnorm(create_model(name, **options).eval())  # a misplaced BN shows
    assert isinstance(model, ResNet)
    return model


def _basic_unit_formula(order: str, unit: ResidualUnit, x: torch.Tensor) -> torch.Tensor:
    """[R2] Fig. 4 (a)-(e), written out."""
    c1, c2, b1, b2 = unit.conv1, unit.conv2, unit.bn1, unit.bn2
    if order == "original":
        return F.relu(b2(c2(F.relu(b1(c1(x))))) + x)
    if order == "bn_after_add":
        return F.relu(b2(c2(F.relu(b1(c1(x)))) + x))
    if order == "relu_before_add":
        return F.relu(b2(c2(F.relu(b1(c1(x)))))) + x
    if order == "relu_preact":
        return b2(c2(F.relu(b1(c1(F.relu(x)))))) + x
    return c2(F.relu(b2(c1(F.relu(b1(x)))))) + x  # full_preact


ORDERS = ["original", "bn_after_add", "relu_before_add", "relu_preact", "full_preact"]


@pytest.mark.parametrize("order", ORDERS)
def test_basic_unit_follows_the_r2_ordering(order: str) -> None:
    model = _eval_model("cifar_resnet20", unit_order=order)
    unit = model.layer1[1]  # an identity unit that is not the first of the network
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        assert torch.allclose(unit(x), _basic_unit_formula(order, unit, x), atol=1e-5)


@pytest.mark.parametrize("order", ORDERS)
def test_bottleneck_unit_follows_the_r2_ordering(order: str) -> None:
    model = _eval_model("cifar_resnet164", unit_order=order)
    unit = model.layer2[1]
    x = torch.randn(2, 128, 8, 8)
    convs = [unit.conv1, unit.conv2, unit.conv3]
    bns = [unit.bn1, unit.bn2, unit.bn3]
    with torch.no_grad():
        out = x
        if order == "full_preact":
            for conv, bn in zip(convs, bns, strict=True):
                out = conv(F.relu(bn(out)))
            expected = out + x
        elif order == "relu_preact":
            for conv, bn in zip(convs, bns, strict=True):
                out = bn(conv(F.relu(out)))
            expected = out + x
        else:
            for conv, bn in zip(convs[:2], bns[:2], strict=True):
                out = F.relu(bn(conv(out)))
            out = convs[2](out)
            expected = {
                "original": lambda r: F.relu(bns[2](r) + x),
                "bn_after_add": lambda r: F.relu(bns[2](r + x)),
                "relu_before_add": lambda r: F.relu(bns[2](r)) + x,
            }[order](out)
        assert torch.allclose(unit(x), expected, atol=1e-4)


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_preactivated_downsampling_shortcut_shares_the_units_bn_relu(shortcut: str) -> None:
    """[R2] reference code: a unit that increases dimensions applies one "common BN, ReLU" to both paths."""
    model = _eval_model("cifar_preact_resnet110", shortcut=shortcut)
    unit = model.layer2[0]
    if shortcut == "B":
        assert isinstance(unit.downsample, nn.Sequential) and len(unit.downsample) == 1  # conv only, no BN
    x = torch.randn(2, 16, 16, 16)
    with torch.no_grad():
        pre = F.relu(unit.bn1(x))
        expected = unit.conv2(F.relu(unit.bn2(unit.conv1(pre)))) + unit.downsample(pre)
        assert torch.allclose(unit(x), expected, atol=1e-5)


def test_preact_network_activates_after_the_stem_and_before_pooling() -> None:
    """[R2] appendix: the first unit takes the stem's BN-ReLU; an extra BN-ReLU follows the last unit."""
    model = _eval_model("cifar_preact_resnet110")
    first = model.layer1[0]
    assert not hasattr(first, "bn1") and first.skip_pre_activation
    assert isinstance(model.final_bn, nn.BatchNorm2d) and model.final_relu
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        stem = F.relu(model.bn1(model.conv1(x)))
        assert torch.allclose(first(stem), first.conv2(F.relu(first.bn2(first.conv1(stem)))) + stem, atol=1e-5)
        features = model.layer3(model.layer2(model.layer1(stem)))
        expected = model.fc(F.relu(model.final_bn(features)).mean(dim=(2, 3)))
        assert torch.allclose(model(x), expected, atol=1e-4)
    assert create_model("cifar_resnet110").final_bn is None


def _unit_pair(mapping: str, **options: object) -> tuple[ResidualUnit, ResidualUnit]:
    """The same identity unit built with and without a shortcut mapping, sharing the residual branch."""
    plain = _eval_model("cifar_resnet20").layer1[1]
    mapped = _eval_model("cifar_resnet20", shortcut_mapping=mapping, **options).layer1[1]
    mapped.load_state_dict(plain.state_dict(), strict=False)
    return plain, mapped


def _residual(unit: ResidualUnit, x: torch.Tensor) -> torch.Tensor:
    return unit.bn2(unit.conv2(F.relu(unit.bn1(unit.conv1(x)))))


def test_constant_scaling() -> None:
    _, unit = _unit_pair("scaling", shortcut_scale=0.5, residual_scale=0.5)
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        assert torch.allclose(unit(x), F.relu(0.5 * _residual(unit, x) + 0.5 * x), atol=1e-5)


def test_exclusive_gating_mixes_branch_and_shortcut_by_the_gate() -> None:
    _, unit = _unit_pair("exclusive_gating", gate_bias=-6.0)
    assert unit.gate is not None and torch.all(unit.gate.bias == -6.0)
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        gate = torch.sigmoid(unit.gate(x))
        expected = F.relu(gate * _residual(unit, x) + (1 - gate) * x)
        assert torch.allclose(unit(x), expected, atol=1e-5)
        nn.init.zeros_(unit.gate.weight)
        nn.init.constant_(unit.gate.bias, -30.0)  # a closed gate leaves only the shortcut
        assert torch.allclose(unit(x), F.relu(x), atol=1e-5)


def test_shortcut_only_gating() -> None:
    plain, unit = _unit_pair("shortcut_gating", gate_bias=0.0)
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        gate = torch.sigmoid(unit.gate(x))
        assert torch.allclose(unit(x), F.relu(_residual(unit, x) + (1 - gate) * x), atol=1e-5)
        nn.init.zeros_(unit.gate.weight)
        nn.init.constant_(unit.gate.bias, -30.0)  # an open shortcut gate is the original unit
        assert torch.allclose(unit(x), plain(x), atol=1e-5)


def test_conv1x1_mapping_puts_a_conv_on_every_shortcut() -> None:
    model = create_model("cifar_resnet20", shortcut_mapping="conv1x1")
    for unit in model.units():
        assert isinstance(unit.downsample, nn.Sequential) and len(unit.downsample) == 1
        assert isinstance(unit.downsample[0], nn.Conv2d) and unit.downsample[0].kernel_size == (1, 1)


def test_dropout_shortcut_scales_the_shortcut_by_half_in_expectation() -> None:
    """[R2] Sec. 3.1: a Bernoulli(0.5) mask while training (no rescaling), the expected 0.5 at test time."""
    _, unit = _unit_pair("dropout", shortcut_dropout=0.5)
    unit.mapping = "identity"  # the same unit without the mapping gives the pre-ReLU residual below
    x = torch.randn(2, 16, 8, 8).abs() + 0.1
    with torch.no_grad():
        residual = _residual(unit, x)
        unit.mapping = "dropout"
        assert torch.allclose(unit(x), F.relu(residual + 0.5 * x), atol=1e-5)
        unit.train()
        for module in unit.modules():  # BN in eval, so only the shortcut is random
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        kept = unit._drop_shortcut(x) / x
        assert set(kept.unique().tolist()) == {0.0, 1.0}
        assert 0.4 < kept.mean().item() < 0.6


@pytest.mark.parametrize("order", ORDERS)
def test_zero_init_residual_makes_every_unit_start_as_its_shortcut(order: str) -> None:
    model = create_model("cifar_resnet20", unit_order=order, zero_init_residual=True, shortcut="B").eval()
    unit = model.layer1[1]
    x = torch.randn(2, 16, 8, 8)
    after_add = {"original": F.relu, "bn_after_add": lambda t: F.relu(unit.bn2(t))}.get(order, lambda t: t)
    with torch.no_grad():
        assert torch.allclose(unit(x), after_add(x), atol=1e-6)


def test_relu_before_add_keeps_the_residual_non_negative() -> None:
    unit = _eval_model("cifar_resnet20", unit_order="relu_before_add").layer1[1]
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        assert torch.all(unit(x) - x >= 0)


def test_units_never_modify_their_input_in_place() -> None:
    for order in ORDERS:
        unit = _eval_model("cifar_resnet20", unit_order=order).layer1[1]
        x = torch.randn(2, 16, 8, 8)
        before = x.clone()
        with torch.no_grad():
            unit(x)
        assert torch.equal(x, before), order


def test_an_ordering_the_forward_cannot_run_fails_when_the_unit_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """forward runs BN then ReLU between two convs; a table row saying otherwise must not build a different net."""
    swapped = dataclasses.replace(UNIT_ORDERS["original"], around_conv=("conv", "relu", "bn"))
    monkeypatch.setitem(UNIT_ORDERS, "original", swapped)
    with pytest.raises(ValueError, match="does not fit the conv-BN-ReLU chain"):
        create_model("cifar_resnet20")
