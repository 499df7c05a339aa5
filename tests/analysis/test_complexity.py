from __future__ import annotations

import pytest
import torch
from torch import nn

from resnetlab import complexity, create_model
from resnetlab.analysis import stage_complexity
from resnetlab.errors import UserInputError


def _meta(name: str, **options: object) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **options)


@pytest.mark.parametrize(
    ("name", "options", "macs"),
    [
        ("resnet50", {}, 4.089e9),  # torchvision "GFLOPS", v1.5
        ("resnet50", {"stride_in": "1x1"}, 3.86e9),  # v1: [R1] Table 1 says 3.8e9 (rounded)
        ("resnet18", {}, 1.814e9),
        ("resnet34", {}, 3.664e9),
        ("resnet101", {}, 7.801e9),
        ("resnet152", {}, 11.514e9),
        ("cifar_resnet20", {}, 40.6e6),  # paper-facts: about 40.6M
    ],
)
def test_macs_match_the_published_numbers(name: str, options: dict[str, object], macs: float) -> None:
    assert complexity(_meta(name, **options)).macs == pytest.approx(macs, rel=0.01)


def test_v1_stride_placement_is_about_3_8_gmacs() -> None:
    v1 = complexity(_meta("resnet50", stride_in="1x1")).macs
    assert 3.75e9 < v1 < 3.9e9


def test_real_and_meta_models_count_the_same() -> None:
    real, meta = complexity(create_model("cifar_resnet20")), complexity(_meta("cifar_resnet20"))
    assert real == meta
    assert real.params == 269_722
    assert real.input_size == (3, 32, 32)


def test_activation_memory_counts_what_the_forward_pass_allocates() -> None:
    plain, residual = complexity(_meta("cifar_plain20")), complexity(_meta("cifar_resnet20"))
    assert plain.activations == 4 * plain.activation_count  # fp32
    # The only difference: each of the 9 units stores its sum (16x32x32, 32x16x16 or 64x8x8, three each)
    # and the 2 option-A shortcuts their subsampled, zero-padded maps (32x16x16 and 64x8x8).
    sums = 3 * (16 * 32 * 32 + 32 * 16 * 16 + 64 * 8 * 8)
    padded = 32 * 16 * 16 + 64 * 8 * 8  # F.pad allocates; the strided slice before it is a view
    assert residual.activation_count - plain.activation_count == sums + padded


def test_input_size_forms() -> None:
    model = _meta("resnet18")
    assert complexity(model, 112).input_size == (3, 112, 112)
    assert complexity(model, (96, 128)).input_size == (3, 96, 128)
    # 128 px keeps every map at 4/7 of its 224-px side, so every conv costs (4/7)^2 as much.
    assert complexity(model, 128).macs == pytest.approx(complexity(model).macs * (4 / 7) ** 2, rel=0.005)
    with pytest.raises(UserInputError, match="input_size must be N, \\(H, W\\) or \\(C, H, W\\)"):
        complexity(model, (0, 10))


def test_counting_leaves_the_model_as_it_was() -> None:
    model = create_model("cifar_resnet20").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    complexity(model)
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_stage_rows_add_up_to_the_whole() -> None:
    model = _meta("resnet50")
    rows = stage_complexity(model)
    total = complexity(model)
    assert [r.name for r in rows] == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    assert [r.output_shape for r in rows][1:5] == [(256, 56, 56), (512, 28, 28), (1024, 14, 14), (2048, 7, 7)]
    assert sum(r.params for r in rows) == total.params
    assert sum(r.macs for r in rows) == total.macs
