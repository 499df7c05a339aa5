"""SGD as [R1] uses it, with the option to exempt BN and bias terms from weight decay, and fine-tuning's lower
learning rate for the pretrained backbone than for the new head."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from resnetlab.config import OptimConfig
from resnetlab.train.freeze import is_head


def build_optimizer(model: nn.Module, config: OptimConfig) -> torch.optim.SGD:
    """Parameter groups by (weight decay, LR scale); each group's `lr_scale` multiplies the scheduled LR."""
    # Keyed by (exempt from decay, LR scale), not by the decay's value: the groups, and so a checkpoint's optimizer
    # state, keep the same layout whatever the weight decay is.
    groups: dict[tuple[bool, float], list[nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:  # frozen stages: no update, and no weight decay pulling them either
            continue
        # 1-D tensors are BN scales/shifts and biases: decaying them pulls BN towards zero for no regularising gain.
        exempt = parameter.ndim <= 1 and not config.decay_bn_and_bias
        scale = 1.0 if is_head(name) else config.backbone_lr_scale
        groups.setdefault((exempt, scale), []).append(parameter)
    param_groups: list[dict[str, Any]] = [
        {
            "params": params,
            "weight_decay": 0.0 if exempt else config.weight_decay,
            "lr_scale": scale,
            "lr": config.lr * scale,
        }
        for (exempt, scale), params in groups.items()
    ]
    return torch.optim.SGD(
        param_groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov, fused=config.fused or None
    )


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
