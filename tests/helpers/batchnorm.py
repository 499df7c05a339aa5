"""Batch normalisation that is not the identity, so that a misplaced, missing or mis-copied BN changes the output."""

from __future__ import annotations

import torch
from torch import nn

from resnetlab.models import create_model

Range = tuple[float, float]


def randomise_batchnorm(
    model: nn.Module,
    *,
    mean: Range = (-0.5, 0.5),
    var: Range = (0.5, 2.0),
    scale: Range = (0.5, 1.5),
    shift: Range = (-0.5, 0.5),
    generator: torch.Generator | None = None,
) -> nn.Module:
    """Every BatchNorm2d of `model` with running statistics and affine terms drawn uniformly from these ranges (narrow
    them for deep nets, whose units compound them); `model` itself, for chaining."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert module.running_mean is not None and module.running_var is not None
            for tensor, (low, high) in (
                (module.running_mean, mean),
                (module.running_var, var),
                (module.weight.data, scale),
                (module.bias.data, shift),
            ):
                tensor.uniform_(low, high, generator=generator)
    return model


def trained_like(name: str) -> nn.Module:
    """A model with non-trivial BN statistics: a few training-mode passes over random data."""
    torch.manual_seed(0)
    model = create_model(name, num_classes=10).train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 3, 32, 32))
    return model.eval()
