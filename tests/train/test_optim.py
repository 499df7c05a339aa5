"""SGD's parameter groups: weight decay (and BN/bias exemption), the backbone's lower LR, frozen parameters."""

from __future__ import annotations

import pytest

from resnetlab.config import OptimConfig
from resnetlab.models import create_model
from resnetlab.train.optim import build_optimizer, set_learning_rate


def test_the_backbone_learns_at_a_fraction_of_the_heads_rate() -> None:
    model = create_model("cifar_resnet20", num_classes=4)
    optimizer = build_optimizer(model, OptimConfig(lr=0.1, backbone_lr_scale=0.1, decay_bn_and_bias=False))
    set_learning_rate(optimizer, 0.02)
    head = {id(p) for p in model.fc.parameters()}
    for group in optimizer.param_groups:
        is_head_group = {id(p) for p in group["params"]} <= head
        assert group["lr"] == pytest.approx(0.02 if is_head_group else 0.002)
    grouped = sum(len(g["params"]) for g in optimizer.param_groups)
    assert grouped == len(list(model.parameters()))


def test_the_group_layout_does_not_depend_on_the_weight_decay_value() -> None:
    """A checkpoint's optimizer state must fit the optimizer a resume builds, whatever the decay value."""
    model = create_model("cifar_resnet20")
    for decay in (0.0, 1e-4):
        optimizer = build_optimizer(model, OptimConfig(weight_decay=decay, decay_bn_and_bias=False))
        assert [g["weight_decay"] for g in optimizer.param_groups] == [decay, 0.0]


def test_frozen_parameters_are_left_out_and_by_default_every_parameter_decays() -> None:
    model = create_model("cifar_resnet20", num_classes=4)
    for parameter in model.layer1.parameters():
        parameter.requires_grad_(False)
    optimizer = build_optimizer(model, OptimConfig(lr=0.1, weight_decay=1e-3))
    grouped = [id(p) for group in optimizer.param_groups for p in group["params"]]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters() if p.requires_grad)
    assert not {id(p) for p in model.layer1.parameters()} & set(grouped)
    # [R1] decays every weight, BN scales and biases included: one group, at the configured rate.
    assert [(g["weight_decay"], g["lr"]) for g in optimizer.param_groups] == [(1e-3, 0.1)]
