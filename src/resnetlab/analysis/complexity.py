"""Parameters, multiply-accumulates and activation memory, counted by PyTorch itself.

MACs come from `torch.utils.flop_counter.FlopCounterMode` (FLOPs / 2), so every conv and linear layer is counted
from the shapes that actually run, with no per-layer formulas to drift from the model. Like torchvision's "GFLOPS"
and [R1]'s "FLOPs" they cover convolutions and matrix products; BN, ReLU, additions and pooling are not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

from resnetlab.errors import UserInputError
from resnetlab.models.network import ResNet


@dataclass(frozen=True)
class Complexity:
    """Cost of one forward pass of one image."""

    params: int
    macs: int
    activations: int  # bytes of every tensor the forward pass produces (views and in-place results excluded)
    activation_count: int  # the same, in elements
    input_size: tuple[int, int, int]


@dataclass(frozen=True)
class PartComplexity:
    """One row of a per-stage summary."""

    name: str
    output_shape: tuple[int, ...]
    params: int
    macs: int


def complexity(model: nn.Module, input_size: int | Sequence[int] | None = None) -> Complexity:
    """Count `model`'s parameters, MACs and activation memory for one image of `input_size`.

    `input_size` is N (square, the model's input channels), (H, W) or (C, H, W); by default the model's own.
    Works on any device, including `meta` (shapes only, nothing computed), which makes it instant for large nets.
    """
    size = resolve_input_size(model, input_size)
    image = _example_input(model, size)
    with _eval_mode(model), torch.no_grad(), FlopCounterMode(display=False) as flops, _ActivationCounter() as acts:
        model(image)
    params = sum(p.numel() for p in model.parameters())
    return Complexity(params, flops.get_total_flops() // 2, acts.bytes, acts.elements, size)


def stage_complexity(model: ResNet, input_size: int | Sequence[int] | None = None) -> list[PartComplexity]:
    """Per-part output shape, parameters and MACs: the stem, each stage, and the head."""
    size = resolve_input_size(model, input_size)
    parts: list[tuple[str, list[nn.Module | None], Callable[[torch.Tensor], torch.Tensor]]] = [
        ("stem", [model.conv1, model.bn1], model.forward_stem)
    ]
    for name in model.stage_names:
        stage = getattr(model, name)
        parts.append((name, [stage], stage))
    parts.append(("head", [model.final_bn, model.fc], lambda x: model.forward_head(model.forward_final_activation(x))))
    rows = []
    x = _example_input(model, size)
    with _eval_mode(model), torch.no_grad():
        for name, modules, run in parts:
            with FlopCounterMode(display=False) as flops:
                x = run(x)
            params = sum(p.numel() for m in modules if m is not None for p in m.parameters())
            rows.append(PartComplexity(name, tuple(x.shape[1:]), params, flops.get_total_flops() // 2))
    return rows


def resolve_input_size(model: nn.Module, input_size: int | Sequence[int] | None) -> tuple[int, int, int]:
    default = getattr(model, "default_input_size", None)
    if input_size is None:
        if default is None:
            raise UserInputError("this model has no default input size: pass input_size, e.g. 224 or (3, 224, 224)")
        channels, height, width = default
        return (channels, height, width)
    channels = default[0] if default is not None else _first_conv_channels(model)
    dims = (input_size,) * 2 if isinstance(input_size, int) else tuple(input_size)
    if len(dims) == 2:
        dims = (channels, *dims)
    if len(dims) != 3 or any(not isinstance(d, int) or d < 1 for d in dims):
        raise UserInputError(
            f"input_size must be N, (H, W) or (C, H, W) with positive whole numbers, got {input_size!r}"
        )
    channels, height, width = dims
    return (channels, height, width)


def _first_conv_channels(model: nn.Module) -> int:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
    raise UserInputError("cannot tell this model's input channels: pass input_size as (C, H, W)")


def _example_input(model: nn.Module, size: tuple[int, int, int]) -> torch.Tensor:
    reference = next(model.parameters())
    return torch.zeros(1, *size, device=reference.device, dtype=reference.dtype)


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Count in eval mode (no BN statistics updated) and put the model back as it was."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


class _ActivationCounter(TorchDispatchMode):
    """Adds up the tensor each aten op allocates; views and in-place ops allocate nothing new."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0
        self.elements = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if not func._schema.is_mutable and not func.is_view:
            # Only the op's main result: BN's saved statistics are per-channel extras whose size even differs
            # between devices (empty on CPU, C-sized on meta).
            result = next((t for t in tree_leaves(out) if isinstance(t, torch.Tensor)), None)
            if result is not None:
                self.elements += result.numel()
                self.bytes += result.numel() * result.element_size()
        return out
