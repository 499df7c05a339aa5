from __future__ import annotations

import pytest
import torch

from resnetlab import optimize_for_inference
from resnetlab.errors import UserInputError
from resnetlab.inference.optimize import fast_bf16
from resnetlab.models import create_model


def _trained_like(name: str) -> torch.nn.Module:
    """A model with non-trivial BN statistics: one training-mode pass over random data."""
    model = create_model(name, num_classes=10)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 3, 32, 32))
    return model.eval()


@pytest.mark.parametrize(
    "options",
    [
        {"precision": "fp32", "channels_last": False, "fold_bn": False},
        {"precision": "fp32", "channels_last": True, "fold_bn": True},
        {"precision": "bf16", "channels_last": True, "fold_bn": True},
        {"precision": "bf16", "channels_last": True, "fold_bn": True, "compile": True},
        {"precision": "bf16", "channels_last": True, "fold_bn": True, "compile": True, "freeze": True},
    ],
)
def test_the_optimised_model_takes_fp32_nchw_and_gives_the_same_logits(options: dict[str, object]) -> None:
    model = _trained_like("cifar_resnet20")
    fast = optimize_for_inference(model, **options)  # type: ignore[arg-type]
    images = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected, got = model(images), fast(images)
    assert got.dtype == torch.float32 and got.shape == expected.shape
    tolerance = 5e-2 if options["precision"] == "bf16" else 1e-4
    assert (got - expected).abs().max().item() <= tolerance * expected.abs().max().item()
    assert next(model.parameters()).dtype == torch.float32  # the original is untouched
    assert model.conv1.weight.is_contiguous()


def test_auto_precision_follows_the_hardware() -> None:
    fast = optimize_for_inference(_trained_like("cifar_resnet20"))
    expected = torch.bfloat16 if fast_bf16(torch.device("cpu")) else torch.float32
    assert fast.dtype == expected


def test_fp16_on_a_cpu_is_refused_with_the_alternatives() -> None:
    with pytest.raises(UserInputError, match="fp16 needs a CUDA device, not cpu; use --precision bf16 or fp32"):
        optimize_for_inference(create_model("cifar_resnet20", num_classes=10), precision="fp16", device="cpu")


def test_auto_engine_is_the_measured_one_where_installed_and_pytorch_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from resnetlab.inference import openvino_float, optimize
    from resnetlab.runtime import paths

    cpu = torch.device("cpu")
    monkeypatch.setattr(paths, "this_cpu_class", lambda: "amx-bf16")  # measured: OpenVINO
    monkeypatch.setattr(openvino_float, "available", lambda: True)
    assert optimize.choose_engine("auto", cpu) == "openvino"
    assert optimize.choose_engine("auto", torch.device("cuda")) == "pytorch"
    assert optimize.choose_engine("pytorch", cpu) == "pytorch"
    monkeypatch.setattr(openvino_float, "available", lambda: False)
    assert optimize.choose_engine("auto", cpu) == "pytorch"  # not installed: the PyTorch path, no error
    with pytest.raises(
        UserInputError, match=r"needs OpenVINO: pip install 'resnetlab\[int8\]', or use --engine pytorch"
    ):
        optimize.choose_engine("openvino", cpu)
    monkeypatch.setattr(paths, "this_cpu_class", lambda: "avx2")  # nothing measured: PyTorch
    monkeypatch.setattr(openvino_float, "available", lambda: True)
    assert optimize.choose_engine("auto", cpu) == "pytorch"
    with pytest.raises(UserInputError, match="runs on the CPU, not cuda"):
        optimize.choose_engine("openvino", torch.device("cuda"))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_openvino_engine_gives_the_pytorch_logits_for_any_batch(precision: str) -> None:
    from resnetlab.inference import openvino_float
    from resnetlab.inference.optimize import fastest_inference_model

    if not openvino_float.available():
        pytest.skip("OpenVINO (the int8 extra) is not installed")
    if precision == "bf16" and not fast_bf16(torch.device("cpu")):
        pytest.skip("bf16 is emulated on this CPU")
    model = _trained_like("cifar_resnet20")
    engine = fastest_inference_model(model, (3, 32, 32), engine="openvino", precision=precision)  # type: ignore[arg-type]
    images = torch.randn(5, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(images)
    tolerance = 1e-3 if precision == "fp32" else 0.1  # bf16 keeps 8 bits of mantissa
    assert torch.allclose(engine(images), expected, atol=tolerance * expected.abs().max())
    assert torch.allclose(engine(images[:1]), engine(images)[:1], atol=1e-4 if precision == "fp32" else 1e-1)
    with pytest.raises(UserInputError, match=r"OpenVINO .* takes images of shape \[3, 32, 32\] \(as converted\)"):
        engine(torch.randn(1, 3, 40, 40))
