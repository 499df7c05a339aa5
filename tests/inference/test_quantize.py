from __future__ import annotations

import pytest
import torch

from resnetlab.errors import UserInputError
from resnetlab.inference import openvino_int8
from resnetlab.inference.quantize import quantize_int8
from tests.helpers.batchnorm import trained_like as _trained_like

pytestmark = pytest.mark.skipif(
    "x86" not in torch.backends.quantized.supported_engines, reason="this PyTorch build has no x86 quantized backend"
)


ENGINES = [
    "pytorch",
    pytest.param(
        "openvino", marks=pytest.mark.skipif(not openvino_int8.available(), reason="the int8 extra is not installed")
    ),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["cifar_resnet20", "cifar_preact_resnet110"])
def test_int8_model_takes_fp32_nchw_and_stays_close_to_fp32(name: str, engine: str) -> None:
    model = _trained_like(name)
    calibration = [torch.randn(32, 3, 32, 32, generator=torch.Generator().manual_seed(i)) for i in range(4)]
    quantized = quantize_int8(model, calibration, engine=engine)  # type: ignore[arg-type]
    assert quantized.engine == engine
    images = torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(9))
    with torch.inference_mode():
        expected, got = model(images), quantized(images)
    assert got.dtype == torch.float32 and got.shape == expected.shape
    # int8 rounds every activation to 1 of 256 levels: close to fp32, not equal (and not the original's weights).
    relative = ((got - expected).norm() / expected.norm()).item()
    assert 0 < relative < 0.15
    assert next(model.parameters()).dtype == torch.float32 and model.training is False  # the original is untouched


def test_int8_needs_calibration_images() -> None:
    with pytest.raises(UserInputError, match="needs at least one batch of images"):
        quantize_int8(_trained_like("cifar_resnet20"), [])


def test_int8_refuses_a_model_off_the_cpu() -> None:
    with pytest.raises(UserInputError, match="runs on the CPU only"):
        quantize_int8(_trained_like("cifar_resnet20").to("meta"), [torch.randn(2, 3, 32, 32)])


def test_asking_for_openvino_without_it_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openvino_int8, "available", lambda: False)
    model = _trained_like("cifar_resnet20")
    assert quantize_int8(model, [torch.randn(4, 3, 32, 32)]).engine == "pytorch"  # auto: the engine that is there
    with pytest.raises(UserInputError, match=r"needs OpenVINO and NNCF: pip install 'resnetlab\[int8\]'"):
        quantize_int8(model, [torch.randn(4, 3, 32, 32)], engine="openvino")
