"""Layer responses ([R1] Sec. 4.2, Fig. 7): the standard deviation of each 3x3 layer's output, after its BN and
before the ReLU or the addition, measured on held-out images with the trained network in evaluation mode.

[R1] argues that residual functions are closer to zero than the unreferenced functions of plain nets, so a ResNet's
responses are smaller, and the deeper the ResNet the smaller each layer's. Per layer this reports the standard
deviation of each channel over images and positions, averaged over the channels (a channel's own mean, which BN's
shift sets, does not count as response). Where BN comes before the convolution (pre-activation units [R2]), the
convolution's output is the response; so too for the last convolution of a unit with BN after the addition.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from resnetlab.models.network import ResNet
from resnetlab.models.unit import ResidualUnit


@dataclass(frozen=True)
class LayerResponse:
    name: str  # the 3x3 convolution, e.g. "layer2.0.conv1"
    std: float


def response_points(model: ResNet) -> list[tuple[str, nn.Module]]:
    """(3x3 conv name, the module whose output is its response), in the order the layers run."""
    units = [(name, m) for name, m in model.named_modules() if isinstance(m, ResidualUnit)]
    post_activation = not units or not units[0][1].order.bn_before_conv
    points: list[tuple[str, nn.Module]] = []
    if isinstance(model.conv1, nn.Conv2d) and model.conv1.kernel_size == (3, 3):  # the CIFAR nets' stem
        points.append(("conv1", model.bn1 if post_activation else model.conv1))
    for name, unit in units:
        for index in range(1, unit.num_convs + 1):
            conv = getattr(unit, f"conv{index}")
            if conv.kernel_size != (3, 3):
                continue
            # The BN right after this conv, if the unit has one there; with BN after the addition ([R2] Fig. 4b)
            # the last conv's BN normalises the sum, not the conv's output, so the conv's output is the response.
            ops = unit.order.around_last_conv if index == unit.num_convs else unit.order.around_conv
            bn_follows = "bn" in ops and ops.index("bn") > ops.index("conv")
            bn: nn.Module | None = getattr(unit, f"bn{index}", None)
            response = bn if bn is not None and bn_follows else conv
            points.append((f"{name}.conv{index}", response))
    return points


class _Moments:
    """Per-channel running sums of a layer's outputs, in float64 (millions of values per channel)."""

    def __init__(self) -> None:
        self.total: torch.Tensor | float = 0.0
        self.squares: torch.Tensor | float = 0.0
        self.count = 0

    def add(self, output: torch.Tensor) -> None:
        values = output.detach().double().transpose(0, 1).flatten(1)  # channels x (images * positions)
        self.total = self.total + values.sum(1)
        self.squares = self.squares + values.square().sum(1)
        self.count += values.shape[1]

    def mean_channel_std(self) -> float:
        mean = torch.as_tensor(self.total) / self.count
        variance = (torch.as_tensor(self.squares) / self.count - mean.square()).clamp(min=0)
        return float(variance.sqrt().mean())


@torch.no_grad()
def layer_responses(model: ResNet, images: torch.Tensor, batch_size: int = 250) -> list[LayerResponse]:
    """The response of every 3x3 layer to `images` (normalised as the model expects), in layer order."""
    points = response_points(model)
    moments = {name: _Moments() for name, _ in points}
    handles = [
        module.register_forward_hook(lambda _m, _i, output, name=name: moments[name].add(output))
        for name, module in points
    ]
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        for batch in images.split(batch_size):
            model(batch.to(device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return [LayerResponse(name, moments[name].mean_channel_std()) for name, _ in points]
