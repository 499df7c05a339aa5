from __future__ import annotations

import pytest
import torch

from resnetlab import UnknownModelError, create_model, list_models
from resnetlab.errors import UserInputError
from resnetlab.models import ResNet


def test_every_network_of_both_papers_is_registered() -> None:
    expected = (
        [f"resnet{d}" for d in (18, 34, 50, 101, 152)]
        + [f"plain{d}" for d in (18, 34, 50, 101, 152)]
        + [f"cifar_resnet{d}" for d in (20, 32, 44, 56, 110, 1202)]
        + [f"cifar_plain{d}" for d in (20, 32, 44, 56, 110)]
        + [f"cifar_preact_resnet{d}" for d in (110, 164, 1001)]
        + [f"preact_resnet{d}" for d in (18, 34, 50, 101, 152, 200)]
        + ["resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2"]
    )
    assert set(expected) <= set(list_models())


def test_patterns_filter_and_depths_sort_as_numbers() -> None:
    assert list_models("cifar_resnet*") == [
        "cifar_resnet20",
        "cifar_resnet32",
        "cifar_resnet44",
        "cifar_resnet56",
        "cifar_resnet110",
        "cifar_resnet164",
        "cifar_resnet1001",
        "cifar_resnet1202",
    ]
    assert list_models("nothing*") == []


def test_unknown_name_lists_the_closest_names() -> None:
    with pytest.raises(UnknownModelError, match="unknown model 'resnet5'; closest: resnet50"):
        create_model("resnet5")
    with pytest.raises(UnknownModelError, match="cifar_resnet110"):
        create_model("cifar_resnet11")


def test_options_reach_the_network() -> None:
    model = create_model("cifar_resnet20", num_classes=100, in_chans=1)
    assert isinstance(model, ResNet)
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 100)


def test_out_indices_out_of_range_or_without_features_only_are_refused() -> None:
    with pytest.raises(UserInputError, match=r"out_indices must be a non-empty subset of 0\.\.3"):
        create_model("cifar_resnet20", features_only=True, out_indices=(4,))
    with pytest.raises(UserInputError, match="only applies with features_only=True"):
        create_model("cifar_resnet20", out_indices=(1,))
