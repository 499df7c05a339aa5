"""The loss surface around trained weights (Li et al., "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018)
and the loss along the line from the initial to the trained weights (Goodfellow et al., ICLR 2015).

A plane through the trained weights theta spans two random directions d1, d2; a point (a, b) of it is the network
with weights theta + a d1 + b d2, evaluated in eval mode (BN with its running statistics) on a fixed set of images.
Each direction is filter-normalised (Li et al. Sec. 4): every filter of every conv and linear weight is scaled to the
norm of the same filter of theta, so that a step means the same relative change in every layer, whatever its scale;
BN parameters and biases are not perturbed (their direction is zero).

Two measures put numbers on a surface instead of adjectives:
- `monotone_share`: the share of grid points whose loss rises at every grid point along the straight ray from the
  centre to them (1.0 for a bowl; chaotic surfaces, with walls and pits on the way out, score lower);
- `centre_curvature`: the second difference of the loss at the centre along each direction, per unit step squared.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

Direction = dict[str, torch.Tensor]


def filter_normalized_direction(model: nn.Module, generator: torch.Generator) -> Direction:
    """A random direction in `model`'s parameter space, filter-normalised (Li et al. Sec. 4); zero for BN parameters
    and biases (every parameter of one dimension)."""
    direction: Direction = {}
    for name, weight in model.named_parameters():
        if weight.dim() <= 1:
            direction[name] = torch.zeros_like(weight)
            continue
        random = torch.randn(weight.shape, generator=generator, dtype=weight.dtype).to(weight.device)
        filters, weights = random.flatten(1), weight.detach().flatten(1)  # a filter: one output channel (or neuron)
        scale = weights.norm(dim=1, keepdim=True) / filters.norm(dim=1, keepdim=True).clamp_min(1e-12)
        direction[name] = (filters * scale).view_as(weight)
    return direction


@contextmanager
def moved(model: nn.Module, centre: Direction, steps: Sequence[tuple[float, Direction]]) -> Iterator[nn.Module]:
    """`model` with its parameters at centre + sum of alpha * direction, restored to `centre` afterwards."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.copy_(centre[name])
            for alpha, direction in steps:
                parameter.add_(direction[name], alpha=alpha)
    try:
        yield model
    finally:
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                parameter.copy_(centre[name])


@dataclass(frozen=True)
class Point:
    loss: float  # mean cross-entropy over the images
    error: float  # share of the images misclassified


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int, precision: str) -> Point:
    """Mean loss and error of `model` in eval mode on `images` (bf16 autocast on the CPU when `precision` says so)."""
    model.eval()
    total_loss, wrong = 0.0, 0
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    with torch.no_grad(), autocast:
        for start in range(0, len(images), batch):
            logits = model(images[start : start + batch]).float()
            target = labels[start : start + batch]
            total_loss += nn.functional.cross_entropy(logits, target, reduction="sum").item()
            wrong += int((logits.argmax(dim=1) != target).sum())
    return Point(total_loss / len(images), wrong / len(images))


def grid_coordinates(size: int, span: float) -> list[float]:
    """`size` evenly spaced coordinates from -span to span (an odd size puts the trained weights at the centre)."""
    return [-span + 2 * span * i / (size - 1) for i in range(size)]


def monotone_share(loss: Sequence[Sequence[float]]) -> float:
    """The share of grid points (the centre excluded) whose loss rises strictly at every grid point along the straight
    ray from the centre out to them. `loss[i][j]` on an odd square grid with the trained weights at the centre."""
    size = len(loss)
    centre = size // 2
    rising = total = 0
    for i in range(size):
        for j in range(size):
            di, dj = i - centre, j - centre
            if di == dj == 0:
                continue
            steps = math.gcd(abs(di), abs(dj))  # the grid points on the ray: centre + k * (di, dj) / steps
            ray = [loss[centre + k * di // steps][centre + k * dj // steps] for k in range(steps + 1)]
            total += 1
            rising += all(b > a for a, b in itertools.pairwise(ray))
    return rising / total


def centre_curvature(loss: Sequence[Sequence[float]], step: float) -> tuple[float, float]:
    """The second difference of the loss at the centre along each direction, (L(+h) - 2 L(0) + L(-h)) / h**2, for the
    first index (direction 1) and the second (direction 2)."""
    c = len(loss) // 2
    along_1 = (loss[c + 1][c] - 2 * loss[c][c] + loss[c - 1][c]) / step**2
    along_2 = (loss[c][c + 1] - 2 * loss[c][c] + loss[c][c - 1]) / step**2
    return along_1, along_2


def reestimate_bn(model: nn.Module, images: torch.Tensor, batch: int) -> None:
    """BN's running statistics measured afresh on `images` (the cumulative mean over the batches, in train mode, no
    gradient: torch's `update_bn`), for weights that were never trained together with the statistics they carry;
    `model` is left in eval mode."""
    update_bn(images.split(batch), model)
    model.eval()


def interpolate(
    model: nn.Module,
    initial: dict[str, torch.Tensor],
    trained: dict[str, torch.Tensor],
    fractions: Sequence[float],
    measure: Callable[[nn.Module], Point],
    reestimate: Callable[[nn.Module], None] | None = None,
) -> list[Point]:
    """Goodfellow et al.'s line: the network at (1 - t) * initial + t * trained for each t of `fractions`, every
    floating-point entry of the state interpolated; `model` is left with the trained state.

    With `reestimate` (e.g. `reestimate_bn` on training images), BN's running statistics are measured afresh at each
    t before `measure`. Interpolated statistics do not belong to the interpolated weights: between the ends they
    misjudge every layer's scale, and past t = 1 the interpolated variance can turn negative (a NaN loss). Garipov et
    al. (NeurIPS 2018) re-estimate them in the same way along the paths they draw between trained networks."""
    points = []
    try:
        for t in fractions:
            state = {
                name: torch.lerp(initial[name], value, t) if value.is_floating_point() else value
                for name, value in trained.items()
            }
            model.load_state_dict(state)
            if reestimate is not None:
                reestimate(model)
            points.append(measure(model))
    finally:
        model.load_state_dict(trained)
    return points


@dataclass(frozen=True)
class Grid:
    """Where and on what a surface is measured: `size` x `size` points (odd: the trained weights at the centre) from
    -span to +span along each direction, on `images` training images, for `directions` pairs of random directions
    (seeds 0, 1, ...: two pairs give each measure a spread, as two training seeds would)."""

    size: int = 21
    span: float = 1.0
    images: int = 1000
    directions: int = 2
    line_points: int = 25  # the initial-to-trained line, t from 0 to 1.2

    def coordinates(self) -> list[float]:
        return grid_coordinates(self.size, self.span)

    def fractions(self) -> list[float]:
        return [1.2 * k / (self.line_points - 1) for k in range(self.line_points)]
