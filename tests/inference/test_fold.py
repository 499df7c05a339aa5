from __future__ import annotations

import pytest
import torch
from torch import nn

from resnetlab.inference.fold import fold_batchnorm
from resnetlab.models import create_model
from tests.helpers.batchnorm import randomise_batchnorm


def _randomise_batchnorm(model: nn.Module) -> None:
    randomise_batchnorm(model, mean=(-1.0, 1.0), generator=torch.Generator().manual_seed(0))


def _count(model: nn.Module, kind: type[nn.Module]) -> int:
    return sum(isinstance(module, kind) for module in model.modules())


@pytest.mark.parametrize(
    ("name", "size", "left"),
    [("cifar_resnet20", 32, 0), ("resnet18", 64, 0), ("cifar_preact_resnet110", 32, 54), ("preact_resnet18", 64, 8)],
)
def test_folding_keeps_the_outputs_and_removes_the_foldable_batchnorms(name: str, size: int, left: int) -> None:
    model = create_model(name).eval()
    _randomise_batchnorm(model)
    folded = fold_batchnorm(model)
    images = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = model(images), folded(images)
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())
    # Pre-activation units keep the BN on each unit's input (the sum the shortcut also reads) and the final one.
    assert _count(folded, nn.BatchNorm2d) == left
    assert _count(model, nn.BatchNorm2d) > left  # the original is untouched


def test_a_convolution_read_twice_is_not_folded() -> None:
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            return self.bn(y) + y

    model = Shared().eval()
    _randomise_batchnorm(model)
    folded = fold_batchnorm(model)
    images = torch.randn(1, 3, 8, 8)
    assert _count(folded, nn.BatchNorm2d) == 1
    assert torch.allclose(folded(images), model(images), atol=1e-5)
