"""`FeatureExtractor`: a network's per-stage feature maps as its output."""

from __future__ import annotations

import torch
from torch import nn

from resnetlab import create_model
from resnetlab.models import FeatureExtractor, ResNet


def test_features_only_returns_the_chosen_stage_maps() -> None:
    model = create_model("cifar_resnet20", features_only=True, out_indices=(1, 3))
    assert isinstance(model, FeatureExtractor)
    maps = model(torch.randn(2, 3, 32, 32))
    assert [tuple(m.shape) for m in maps] == [(2, 16, 32, 32), (2, 64, 8, 8)]
    assert [(f.module, f.num_chs, f.reduction) for f in model.feature_info] == [("layer1", 16, 1), ("layer3", 64, 4)]


def test_the_maps_are_the_networks_own_stages_in_index_order() -> None:
    network = create_model("resnet18", num_classes=5).eval()
    assert isinstance(network, ResNet)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        stem = network.forward_stem(x)
        stage1 = network.layer1(stem)
        stage2 = network.layer2(stage1)
        extractor = FeatureExtractor(network, out_indices=(2, 0))  # given unsorted: returned in index order
        maps = extractor(x)
    assert extractor.out_indices == (0, 2)
    assert len(maps) == 2 and torch.equal(maps[0], stem) and torch.equal(maps[1], stage2)
    assert [f.module for f in extractor.feature_info] == ["stem", "layer2"]


def test_by_default_every_map_is_returned_and_described_by_its_feature_info() -> None:
    extractor = FeatureExtractor(create_model("resnet18").eval())
    size = 64
    with torch.no_grad():
        maps = extractor(torch.randn(1, 3, size, size))
    assert [f.module for f in extractor.feature_info] == ["stem", "layer1", "layer2", "layer3", "layer4"]
    assert len(maps) == len(extractor.feature_info)
    for feature_map, info in zip(maps, extractor.feature_info, strict=True):
        assert tuple(feature_map.shape) == (1, info.num_chs, size // info.reduction, size // info.reduction)


def test_the_classifier_is_dropped() -> None:
    network = create_model("cifar_resnet20", num_classes=10)
    assert isinstance(network, ResNet)
    extractor = FeatureExtractor(network, out_indices=(3,))
    assert isinstance(network.fc, nn.Identity)
    assert not [name for name in extractor.state_dict() if name.startswith("model.fc.")]
