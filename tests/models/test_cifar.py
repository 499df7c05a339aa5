from __future__ import annotations

import pytest
import torch
from torch import nn

from resnetlab import create_model

# ../shared/docs/paper-facts.md: exact counts with 10 classes; option A is [R1] Table 6.
CIFAR_PARAMS = {
    20: (269_722, 272_474, 283_962),
    32: (464_154, 466_906, 489_594),
    44: (658_586, 661_338, 695_226),
    56: (853_018, 855_770, 900_858),
    110: (1_727_962, 1_730_714, 1_826_202),
    1202: (19_421_274, 19_424_026, 20_538_714),
}


def _params(name: str, **options: object) -> int:
    with torch.device("meta"):
        model: nn.Module = create_model(name, **options)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("depth", list(CIFAR_PARAMS))
def test_cifar_resnet_parameter_counts_for_options_a_b_c(depth: int) -> None:
    counts = tuple(_params(f"cifar_resnet{depth}", shortcut=option) for option in "ABC")
    assert counts == CIFAR_PARAMS[depth]
    assert _params(f"cifar_resnet{depth}") == CIFAR_PARAMS[depth][0]  # option A is the default


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_plain_nets_have_as_many_parameters_as_option_a(depth: int) -> None:
    assert _params(f"cifar_plain{depth}") == CIFAR_PARAMS[depth][0]


def test_preactivation_bottleneck_counts() -> None:
    assert _params("cifar_preact_resnet164") == 1_703_258  # [R2]: about 1.7M
    assert _params("cifar_preact_resnet1001") == 10_327_706  # [R2]: about 10.2M


@pytest.mark.parametrize("name", ["cifar_resnet164", "cifar_preact_resnet164", "cifar_preact_resnet1001"])
def test_r2_bottlenecks_stride_their_first_1x1_as_the_authors_code(name: str) -> None:
    with torch.device("meta"):
        model = create_model(name)
    unit = model.layer2[0]
    assert (unit.conv1.stride, unit.conv2.stride) == ((2, 2), (1, 1))


def test_preact_resnet110_differs_from_resnet110_only_in_ordering() -> None:
    """[R2] Table 2: same option-A shortcuts, so only BNs move. Pre-activation adds the final BN (64 channels); the
    first unit's BN is the stem's (-16); the two downsampling units normalise their narrower input (-16, -32)."""
    assert _params("cifar_preact_resnet110") == CIFAR_PARAMS[110][0]
    with torch.device("meta"):
        model = create_model("cifar_preact_resnet110")
    assert not hasattr(model.layer1[0], "bn1")
    assert (model.layer2[0].bn1.num_features, model.layer3[0].bn1.num_features, model.final_bn.num_features) == (
        16,
        32,
        64,
    )


def test_cifar_layout_follows_r1_section_4_2() -> None:
    model = create_model("cifar_resnet20")
    maps = model.forward_intermediates(torch.randn(1, 3, 32, 32))
    assert [tuple(m.shape[1:]) for m in maps] == [(16, 32, 32), (16, 32, 32), (32, 16, 16), (64, 8, 8)]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) + 1 == 20  # 6n+2 weighted layers: 19 convs and the fc
    assert all(c.kernel_size == (3, 3) for c in convs)
