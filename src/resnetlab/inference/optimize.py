"""`optimize_for_inference`: a trained model made fast for evaluation and prediction, same inputs, same answers.

What it does, each switchable, each measured in benchmarks/inference.py:
- BN folded into the preceding convolutions (one pass over the activations instead of two);
- channels_last memory layout (oneDNN's native layout on CPUs: no reorders around every convolution);
- bf16 weights and activations where the hardware computes bf16 natively (AMX or AVX512-BF16 on x86, CUDA),
  instead of autocast, which would cast every weight on every call (what makes batch-1 latency slow);
- optionally torch.compile (Inductor fuses the ReLUs and additions into the convolutions' epilogues), optionally with
  Inductor's freezing (the weights become constants and are prepacked for oneDNN at compile time). Freezing is off by
  default: on this project's Zen 4 test machine it measured no faster and used more memory (docs/performance.md).
The returned module takes the usual fp32 NCHW batch and returns fp32 logits.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from torch import nn

from resnetlab.errors import UserInputError
from resnetlab.inference import openvino_float
from resnetlab.inference.fold import fold_batchnorm
from resnetlab.runtime.device import check_precision, fast_bf16
from resnetlab.runtime.paths import inference_path

__all__ = ["InferenceModel", "fast_bf16", "fastest_inference_model", "optimize_for_inference"]

InferencePrecision = Literal["auto", "fp32", "bf16", "fp16"]
Engine = Literal["auto", "pytorch", "openvino"]
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class InferenceModel(nn.Module):
    """The optimised network behind an fp32 NCHW interface."""

    def __init__(self, network: nn.Module, dtype: torch.dtype, channels_last: bool) -> None:
        super().__init__()
        self.network = network
        self.dtype = dtype
        self.channels_last = channels_last

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        inputs = images.to(dtype=self.dtype, memory_format=memory_format)
        return self.network(inputs).float()


def optimize_for_inference(
    model: nn.Module,
    *,
    precision: InferencePrecision = "auto",
    channels_last: bool = True,
    fold_bn: bool = True,
    compile: bool = False,
    freeze: bool = False,
    device: torch.device | str | None = None,
) -> InferenceModel:
    """A copy of `model` for inference only (the original is untouched).

    precision "auto" picks bf16 where `fast_bf16` says it is native, fp32 elsewhere. Logits match the original
    within bf16 rounding (about 1e-2 relative on ImageNet-sized networks). `freeze` only matters with `compile`;
    a frozen model no longer follows later changes to the original's weights (it is a copy anyway).
    """
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    dtype = _DTYPES[check_precision(device, precision)]
    network = fold_batchnorm(model) if fold_bn else copy.deepcopy(model).eval()
    network = network.to(device=device, dtype=dtype)
    if channels_last:
        network = network.to(memory_format=torch.channels_last)
    for parameter in network.parameters():
        parameter.requires_grad_(False)
    if compile:
        compiled: nn.Module = torch.compile(  # type: ignore[assignment]
            network, dynamic=False, options={"freezing": freeze}
        )
        network = compiled
    return InferenceModel(network, dtype, channels_last).eval()


def choose_engine(engine: Engine, device: torch.device) -> Literal["pytorch", "openvino"]:
    """`engine` for `device`: "auto" is the CPU class's measured fastest (runtime/paths.py) where it is installed;
    OpenVINO asked for where it cannot run is a one-line error."""
    if engine == "auto":
        measured = inference_path(device).engine
        return "openvino" if measured == "openvino" and openvino_float.available() else "pytorch"
    if engine == "openvino" and device.type != "cpu":
        raise UserInputError(f"the OpenVINO engine runs on the CPU, not {device}; use --engine pytorch")
    if engine == "openvino" and not openvino_float.available():
        raise UserInputError(
            "the OpenVINO engine needs OpenVINO: pip install 'resnetlab[int8]', or use --engine pytorch"
        )
    return engine


def fastest_inference_model(
    model: nn.Module,
    image_shape: tuple[int, int, int],
    *,
    engine: Engine = "auto",
    precision: InferencePrecision = "auto",
    compile: bool = False,
) -> nn.Module:
    """A copy of `model` for predicting `image_shape` images (fp32 NCHW in, fp32 logits out) on the engine measured
    fastest for this CPU class (`engine` "auto"), or the one named. OpenVINO folds BatchNorm and picks its own
    layouts (`compile` only concerns PyTorch); PyTorch runs `optimize_for_inference`."""
    device = next(model.parameters()).device
    resolved = check_precision(device, precision)
    if choose_engine(engine, device) == "openvino":
        if resolved not in openvino_float.HINTS:
            raise UserInputError(f"the OpenVINO engine computes in fp32 or bf16, not {resolved}; use --engine pytorch")
        return openvino_float.compile_float(model, image_shape, resolved)
    return optimize_for_inference(model, precision=resolved, compile=compile, device=device)
