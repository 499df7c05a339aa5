"""The deployment runtimes a user compares resnetlab with, as benchmark variants of the same case (same architecture,
same random weights and images): ONNX Runtime fp32 and static int8 (QDQ, per-channel weights), OpenVINO with its
default precision, in f32, and NNCF int8. `python -m benchmarks.inference --peers` adds them to its table.

The peers are optional (`pip install -e '.[bench]'`); one that cannot be imported is left out and named. OpenVINO's
telemetry is switched off before it is used: nothing here may reach the network.
"""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from resnetlab.inference.openvino_int8 import telemetry_off

PEERS = ("onnxruntime", "openvino", "nncf")
CALIBRATION_BATCHES = 4  # random images, as resnetlab's own int8 variant calibrates in this benchmark: speed only


def missing_peers() -> list[str]:
    """The peer packages this environment cannot import."""
    return [name for name in PEERS if importlib.util.find_spec(name) is None]


_EXPORTED: dict[tuple[int, ...], Path] = {}  # one export per architecture and input shape, shared by the variants


def _onnx_file(model: nn.Module, images: torch.Tensor, folder: Path) -> Path:
    """The model as ONNX (dynamic batch, opset 18), exported once per parameter shapes and image size: the weights
    are the same seeded ones in every variant of a case."""
    key = (*(p.numel() for p in model.parameters()), *images.shape[1:])
    if key in _EXPORTED:
        return _EXPORTED[key]
    path = folder / "model.onnx"
    batch = torch.export.Dim("batch", min=1, max=4096)
    with torch.no_grad():
        torch.onnx.export(
            model.eval(),
            (images,),
            str(path),
            input_names=["input"],
            output_names=["logits"],
            dynamic_shapes={"x": {0: batch}},
            opset_version=18,
            dynamo=True,
            verbose=False,
        )
    _EXPORTED[key] = path
    return path


def calibration_batches(images: torch.Tensor) -> list[np.ndarray]:
    """The random images every int8 variant calibrates on (speed only): the same for resnetlab's and the peers'."""
    generator = torch.Generator().manual_seed(1)
    shape = (min(len(images), 8), *images.shape[1:])
    return [torch.randn(shape, generator=generator).numpy() for _ in range(CALIBRATION_BATCHES)]


def ort_setup(model: nn.Module, images: torch.Tensor, *, int8: bool) -> Callable[[], Any]:
    """An ONNX Runtime session on the exported model (all graph optimisations, torch's thread count); with `int8`,
    the model quantized statically first: QDQ format, per-channel int8 weights, uint8 activations."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    folder = Path(tempfile.mkdtemp(prefix="resnetlab-ort-"))
    path = _onnx_file(model, images, folder)
    if int8:

        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self.batches = iter(calibration_batches(images))

            def get_next(self) -> dict[str, np.ndarray] | None:
                batch = next(self.batches, None)
                return None if batch is None else {"input": batch}

        prepared, quantized = folder / "prepared.onnx", folder / "int8.onnx"
        quant_pre_process(str(path), str(prepared))
        quantize_static(
            str(prepared),
            str(quantized),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        path = quantized
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {"input": images.numpy()}
    return lambda: session.run(None, feed)[0]


def openvino_setup(model: nn.Module, images: torch.Tensor, *, precision: str) -> Callable[[], Any]:
    """OpenVINO on the CPU: `precision` "default" (its own choice: bf16 where the CPU has it), "f32", or "int8"
    (NNCF's post-training quantization, then compiled with the default precision)."""
    telemetry_off()
    import openvino as ov

    folder = Path(tempfile.mkdtemp(prefix="resnetlab-ov-"))
    converted = ov.convert_model(str(_onnx_file(model, images, folder)))
    if precision == "int8":
        import nncf

        converted = nncf.quantize(converted, nncf.Dataset(calibration_batches(images)), subset_size=CALIBRATION_BATCHES)
    config: dict[str, Any] = {"INFERENCE_NUM_THREADS": torch.get_num_threads()}
    if precision == "f32":
        config["INFERENCE_PRECISION_HINT"] = "f32"
    compiled = ov.Core().compile_model(converted, "CPU", config)
    request = compiled.create_infer_request()
    array = images.numpy()
    return lambda: request.infer({0: array})[0]


# (variant name, setup from (model, images), dtype for the peak, notes)
VARIANTS: list[tuple[str, Callable[[nn.Module, torch.Tensor], Callable[[], Any]], str, str]] = [
    ("ort-fp32", lambda m, x: ort_setup(m, x, int8=False), "fp32", "ONNX Runtime, all graph optimisations"),
    ("ort-int8", lambda m, x: ort_setup(m, x, int8=True), "int8", "ONNX Runtime static QDQ, per-channel"),
    ("openvino", lambda m, x: openvino_setup(m, x, precision="default"), "bf16", "OpenVINO's default precision"),
    ("openvino-f32", lambda m, x: openvino_setup(m, x, precision="f32"), "fp32", "OpenVINO, f32 hint"),
    ("openvino-int8", lambda m, x: openvino_setup(m, x, precision="int8"), "int8", "OpenVINO, NNCF quantize"),
]


# The packages each variant needs.
REQUIRES = {
    "ort-fp32": {"onnxruntime"},
    "ort-int8": {"onnxruntime"},
    "openvino": {"openvino"},
    "openvino-f32": {"openvino"},
    "openvino-int8": {"openvino", "nncf"},
}


def available() -> list[tuple[str, Callable[[nn.Module, torch.Tensor], Callable[[], Any]], str, str]]:
    """The variants whose packages import here."""
    missing = set(missing_peers())
    return [variant for variant in VARIANTS if not REQUIRES[variant[0]] & missing]
