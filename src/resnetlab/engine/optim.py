"""SGD as [R1] uses it, with the option to exempt BN and bias terms from weight decay."""

from __future__ import annotations

import torch
from torch import nn

from resnetlab.engine.config import OptimConfig


def build_optimizer(model: nn.Module, config: OptimConfig) -> torch.optim.SGD:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for parameter in model.parameters():
        if not parameter.requires_grad:
            continue
        # 1-D tensors are BN scales/shifts and biases: decaying them pulls BN towards zero for no regularising gain.
        (no_decay if parameter.ndim <= 1 and not config.decay_bn_and_bias else decay).append(parameter)
    groups = [{"params": decay, "weight_decay": config.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return torch.optim.SGD(
        groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov, fused=config.fused or None
    )
