from __future__ import annotations

import pytest
import torch
from torch import nn

from resnetlab import create_model
from resnetlab.models import ZeroPadShortcut


def test_zero_pad_shortcut_subsamples_and_appends_zero_channels() -> None:
    x = torch.randn(2, 16, 32, 32)
    out = ZeroPadShortcut(extra_channels=16, stride=2)(x)
    assert out.shape == (2, 32, 16, 16)
    assert torch.equal(out[:, :16], x[:, :, ::2, ::2])
    assert not out[:, 16:].any()


def test_option_a_at_a_downsampling_unit_of_a_cifar_resnet() -> None:
    model = create_model("cifar_resnet20").eval()
    unit = model.layer2[0]
    assert isinstance(unit.downsample, ZeroPadShortcut)
    assert sum(p.numel() for p in unit.downsample.parameters()) == 0

    seen: dict[str, torch.Tensor] = {}
    unit.downsample.register_forward_hook(lambda module, inputs, output: seen.update(x=inputs[0], out=output))
    model(torch.randn(2, 3, 32, 32))
    x, out = seen["x"], seen["out"]
    assert x.shape == (2, 16, 32, 32) and out.shape == (2, 32, 16, 16)
    assert torch.equal(out, torch.cat([x[:, :, ::2, ::2], torch.zeros(2, 16, 16, 16)], dim=1))


def test_option_a_works_on_odd_map_sizes() -> None:
    model = create_model("cifar_resnet20")
    assert model(torch.randn(2, 3, 33, 35)).shape == (2, 10)


@pytest.mark.parametrize(("option", "projected_units"), [("A", 0), ("B", 2), ("C", 9)])
def test_projection_count_per_option(option: str, projected_units: int) -> None:
    model = create_model("cifar_resnet20", shortcut=option)
    projections = [u for u in model.units() if isinstance(u.downsample, nn.Sequential)]
    assert len(projections) == projected_units
    assert all(isinstance(p.downsample[1], nn.BatchNorm2d) for p in projections)  # [R1]: conv + BN
