"""The int8 engine `quantize_int8` prefers: OpenVINO's CPU runtime, the network quantized by NNCF.

Measured beside ONNX Runtime's static int8 and PyTorch's own int8 flows on this project's CPU (docs/performance.md,
`python -m benchmarks.inference --peers`), OpenVINO's int8 kernels were the fastest on ResNet-50, at batch 32 and at
batch 1.
resnetlab adds what a deployment needs around them: calibration on the run's own training images, the network taken
from PyTorch directly (no ONNX file), the latency hint and the thread count of the process, and the usual interface
(fp32 NCHW images in, fp32 logits out). OpenVINO and NNCF are the `int8` extra.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib.util
import io
import logging
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from resnetlab.errors import UserInputError

PACKAGES = ("openvino", "nncf")


def available() -> bool:
    """Whether OpenVINO and NNCF import here."""
    return all(importlib.util.find_spec(name) is not None for name in PACKAGES)


@functools.cache  # once per process: it runs a subprocess
def telemetry_off() -> None:
    """Opt out of OpenVINO's usage telemetry before it is imported: its tools send usage events unless the consent
    file says no, and resnetlab reaches no network. `opt_in_out --opt_out` (installed with openvino-telemetry) writes
    that file; a machine where it is missing sends nothing anyway."""
    opt_in_out = Path(sys.executable).with_name("opt_in_out")
    if opt_in_out.exists():
        subprocess.run([str(opt_in_out), "--opt_out"], capture_output=True, check=False, timeout=60)


class OpenVINOModel(nn.Module):
    """A compiled OpenVINO network behind the torch interface: fp32 NCHW images in, fp32 logits out (a copy: the
    runtime reuses its output buffer on the next call). One call at a time."""

    engine = "openvino"

    def __init__(
        self, compiled: Any, image_shape: tuple[int, ...], kind: str = "int8", fixed_by: str = "calibrated"
    ) -> None:
        super().__init__()
        self.request = compiled.create_infer_request()
        self.image_shape = image_shape
        self.kind, self.fixed_by = kind, fixed_by  # for the error that refuses another image shape

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[1:]) != self.image_shape:
            raise UserInputError(
                f"this {self.kind} model takes images of shape {list(self.image_shape)} (as {self.fixed_by}), "
                f"not {list(images.shape[1:])}; resize them as the model's preprocessing does"
            )
        array = np.ascontiguousarray(images.detach().to("cpu", torch.float32).numpy())
        return torch.from_numpy(self.request.infer({0: array})[0].copy())


def quantize(model: nn.Module, batches: list[torch.Tensor]) -> OpenVINOModel:
    """`model` converted from PyTorch (any batch size, the calibration images' size), quantized by NNCF's post-training
    quantization on `batches`, compiled for this CPU with the process's thread count."""
    image_shape = tuple(batches[0].shape[1:])
    converted = convert(model, image_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import nncf

        logging.getLogger("nncf").setLevel(logging.ERROR)
        data = [np.ascontiguousarray(batch.float().numpy()) for batch in batches]
        with contextlib.redirect_stdout(io.StringIO()):  # NNCF draws progress bars there: not resnetlab's output
            quantized = nncf.quantize(converted, nncf.Dataset(data), subset_size=len(data))
    return OpenVINOModel(compile_for_cpu(quantized), image_shape)


def convert(model: nn.Module, image_shape: tuple[int, ...]) -> Any:
    """A copy of `model` as an OpenVINO network taking any batch of fp32 NCHW `image_shape` images."""
    telemetry_off()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the converter's tracing notices concern OpenVINO's internals, not the user
        import openvino as ov

        network = copy.deepcopy(model).float().eval().to(memory_format=torch.contiguous_format)
        with torch.no_grad():
            return ov.convert_model(network, example_input=torch.zeros(1, *image_shape), input=[(-1, *image_shape)])


def compile_for_cpu(network: Any, **config: Any) -> Any:
    """`network` compiled for this CPU with the process's thread count and the latency hint, plus `config`."""
    import openvino as ov

    settings = {"INFERENCE_NUM_THREADS": torch.get_num_threads(), "PERFORMANCE_HINT": "LATENCY", **config}
    return ov.Core().compile_model(network, "CPU", settings)
