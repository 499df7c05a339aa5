from __future__ import annotations

import re

import pytest
import torch

from resnetlab import create_model, list_models
from resnetlab.errors import UserInputError
from resnetlab.models import ResNet, model_entry

DEEPEST = {"cifar_resnet1202", "cifar_resnet1001", "cifar_preact_resnet1001", "preact_resnet200", "wide_resnet101_2"}


def _marked(names: list[str]) -> list[object]:
    return [pytest.param(n, marks=pytest.mark.slow) if n in DEEPEST else n for n in names]


def _smallest_of_each_family() -> set[str]:
    first: dict[str, str] = {}
    for name in list_models():  # sorted by family, then by depth
        first.setdefault(re.sub(r"\d.*", "", name), name)  # "cifar_preact_resnet164" -> "cifar_preact_resnet"
    return set(first.values())


SMALLEST = _smallest_of_each_family()


def _forward_and_backward(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The logits (of 7 classes) and a gradient for every parameter, the stem's included."""
    logits = model(images)
    assert logits.shape == (1, 7)
    logits.logsumexp(dim=1).mean().backward()
    assert model.conv1.weight.grad is not None
    assert all(p.grad is not None for p in model.parameters())
    return logits


@pytest.mark.parametrize("name", _marked(list_models()))
def test_forward_and_backward_at_the_default_input_size(name: str) -> None:
    """Every network at full depth and its default input size. A CIFAR net (32 px) computes for real, on one image
    (BN still sees >= 7x7 values per channel): cheaper than the meta device's per-op cost. An ImageNet net (224 px)
    runs on the meta device, which gives the same shapes and the same parameters reached by the gradient without the
    arithmetic or the weights' initialisation; the smallest of each ImageNet family also computes for real, on one
    64x64 image (its last stage a 2x2 map)."""
    if model_entry(name).spec.stem == "cifar":
        model = create_model(name, num_classes=7)
        images = torch.randn(1, *model.default_input_size)
    else:
        with torch.device("meta"):
            shapes = create_model(name, num_classes=7)
        assert isinstance(shapes, ResNet)
        _forward_and_backward(shapes, torch.randn(1, *shapes.default_input_size, device="meta"))
        if name not in SMALLEST:
            return
        model = create_model(name, num_classes=7)
        images = torch.randn(1, model.default_input_size[0], 64, 64)
    assert isinstance(model, ResNet)
    logits = _forward_and_backward(model, images)
    assert torch.isfinite(logits).all()
    assert model.conv1.weight.grad is not None and model.conv1.weight.grad.abs().sum() > 0


def test_features_then_head_is_the_forward_pass() -> None:
    model = create_model("resnet18").eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        features = model.forward_features(images)
        assert features.shape == (2, 512, 2, 2)
        assert torch.allclose(model.forward_head(features), model(images))
        assert model.forward_head(features, pre_logits=True).shape == (2, model.num_features)


def test_intermediates_match_feature_info() -> None:
    model = create_model("resnet50")
    maps = model.forward_intermediates(torch.randn(1, 3, 64, 64))
    assert [(m.shape[1], 64 // m.shape[2]) for m in maps] == [(f.num_chs, f.reduction) for f in model.feature_info]
    assert [f.module for f in model.feature_info] == ["stem", "layer1", "layer2", "layer3", "layer4"]


def test_reset_classifier() -> None:
    model = create_model("cifar_resnet20")
    model.reset_classifier(5)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 5)
    model.reset_classifier(0)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 64)
    with pytest.raises(UserInputError, match="num_classes must be a whole number >= 0"):
        model.reset_classifier(-3)


def test_he_initialisation_and_unit_batchnorm() -> None:
    model = create_model("cifar_resnet56")
    conv = model.layer3[4].conv2  # fan_out = 64 * 3 * 3
    assert abs(conv.weight.std().item() - (2.0 / (64 * 9)) ** 0.5) < 0.005
    assert torch.all(model.layer3[4].bn2.weight == 1) and torch.all(model.layer3[4].bn2.bias == 0)


def test_channels_last_and_bfloat16_inputs() -> None:
    model = create_model("cifar_resnet20").eval().to(memory_format=torch.channels_last)
    images = torch.randn(2, 3, 32, 32).to(memory_format=torch.channels_last)
    with torch.no_grad():
        reference = model(images.contiguous())
        assert torch.allclose(model(images), reference, atol=1e-4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert torch.allclose(model(images).float(), reference, atol=0.15, rtol=0.05)


def test_runs_on_cuda_when_present() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    model = create_model("cifar_resnet20").cuda()
    assert model(torch.randn(2, 3, 32, 32, device="cuda")).device.type == "cuda"
