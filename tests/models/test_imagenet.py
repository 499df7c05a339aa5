from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from resnetlab import create_model
from resnetlab.models import ResNet, ZeroPadShortcut
from tests.helpers.batchnorm import randomise_batchnorm

# torchvision's own parameter counts (its weights' `num_params` metadata).
TORCHVISION_PARAMS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnext50_32x4d": 25_028_904,
    "resnext101_32x8d": 88_791_336,
    "resnext101_64x4d": 83_455_272,
    "wide_resnet50_2": 68_883_240,
    "wide_resnet101_2": 126_886_696,
}


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta_model(name: str, **options: object) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **options)


@pytest.mark.parametrize(("name", "params"), TORCHVISION_PARAMS.items())
def test_parameter_counts_equal_torchvision(name: str, params: int) -> None:
    assert _params(_meta_model(name)) == params
    with torch.device("meta"):
        assert _params(getattr(torchvision.models, name)()) == params


def _randomise_batchnorm(model: nn.Module) -> None:
    """Narrow ranges: up to 50 units in a row compound them."""
    randomise_batchnorm(model, mean=(-0.2, 0.2), var=(0.5, 1.5), scale=(0.5, 1.0), shift=(-0.2, 0.2))


@pytest.mark.parametrize("name", list(TORCHVISION_PARAMS))
def test_torchvision_weights_load_strictly_and_give_the_same_logits(name: str) -> None:
    reference = getattr(torchvision.models, name)(num_classes=10).eval()
    _randomise_batchnorm(reference)
    ours = create_model(name, num_classes=10).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = reference(images), ours(images)
    assert expected.abs().max() > 1e-3  # the comparison is not between two zero tensors
    assert (expected - got).abs().max() < 1e-5


def test_zero_init_residual_zeroes_the_same_parameters_as_torchvision() -> None:
    reference = torchvision.models.resnet50(zero_init_residual=True)
    ours = create_model("resnet50", zero_init_residual=True)
    zero_in_reference = {k for k, v in reference.state_dict().items() if v.dtype.is_floating_point and not v.any()}
    zero_in_ours = {k for k, v in ours.state_dict().items() if v.dtype.is_floating_point and not v.any()}
    assert zero_in_ours == zero_in_reference
    assert "layer1.0.bn3.weight" in zero_in_ours


@pytest.mark.parametrize(("stride_in", "strided"), [("3x3", "conv2"), ("1x1", "conv1")])
def test_stride_placement_in_the_bottleneck(stride_in: str, strided: str) -> None:
    model = _meta_model("resnet50", stride_in=stride_in)
    unit = model.layer2[0]
    strides = {name: getattr(unit, name).stride for name in ("conv1", "conv2", "conv3")}
    assert strides == {name: (2, 2) if name == strided else (1, 1) for name in strides}


def test_option_a_on_imagenet_nets_pads_instead_of_projecting() -> None:
    model = _meta_model("resnet50", shortcut="A")
    assert isinstance(model.layer1[0].downsample, ZeroPadShortcut)  # 64 -> 256 channels at stride 1
    assert isinstance(model.layer2[0].downsample, ZeroPadShortcut)
    projections = 64 * 256 + 256 * 512 + 512 * 1024 + 1024 * 2048 + 2 * (256 + 512 + 1024 + 2048)
    assert _params(model) == TORCHVISION_PARAMS["resnet50"] - projections


def test_option_c_projects_every_shortcut() -> None:
    model = _meta_model("resnet34", shortcut="C")
    assert all(unit.downsample is not None for unit in model.units())
    assert _params(model) > TORCHVISION_PARAMS["resnet34"]


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_plain_nets_are_the_same_stacks_without_shortcuts(depth: int) -> None:
    plain, residual_a = _meta_model(f"plain{depth}"), _meta_model(f"resnet{depth}", shortcut="A")
    assert isinstance(plain, ResNet)
    assert all(unit.downsample is None and not unit.residual for unit in plain.units())
    assert _params(plain) == _params(residual_a)
