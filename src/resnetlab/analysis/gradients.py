"""Backward signals per layer: how large the gradient of the loss is at each 3x3 layer's response, from the last layer
back to the first.

The "vanishing gradients" story says deep plain nets fail because this signal dies out on its way back. [R1] Sec. 4.1
says otherwise for nets with BN: "we have also verified that the backward propagated gradients exhibit healthy norms
with BN", so the degradation of plain nets is an optimisation difficulty, not vanishing. This measures it: the
root-mean-square of the loss gradient at each response (the same points as `layer_responses`), in training mode, on
one batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from resnetlab.analysis.responses import response_points
from resnetlab.models.network import ResNet


@dataclass(frozen=True)
class LayerGradient:
    name: str  # the 3x3 convolution whose response the gradient is taken at, e.g. "layer2.0.conv1"
    rms: float  # root-mean-square of d(loss)/d(response) over the batch's elements


def response_gradients(model: ResNet, images: torch.Tensor, labels: torch.Tensor) -> list[LayerGradient]:
    """One forward and backward pass in training mode (BN on batch statistics, as in training); the weights, their
    gradients and the BN running statistics are left as they were."""
    points = response_points(model)
    rms: dict[str, float] = {}

    def keep(name: str, output: torch.Tensor) -> None:
        output.register_hook(lambda grad: rms.__setitem__(name, grad.norm().item() / math.sqrt(grad.numel())))

    handles = [
        module.register_forward_hook(lambda _m, _i, output, name=name: keep(name, output)) for name, module in points
    ]
    was_training = model.training
    saved_grads = {n: p.grad for n, p in model.named_parameters()}
    saved_buffers = {n: b.clone() for n, b in model.named_buffers()}
    try:
        model.train()
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(images), labels).backward()
    finally:
        for handle in handles:
            handle.remove()
        for name, parameter in model.named_parameters():
            parameter.grad = saved_grads[name]
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                buffer.copy_(saved_buffers[name])
        model.train(was_training)
    return [LayerGradient(name, rms[name]) for name, _ in points]
