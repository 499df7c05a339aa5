"""`quantize_int8`: optional int8 inference on x86 CPUs by static post-training quantization.

Activation ranges are calibrated on a few batches of the user's own images, weights quantized per channel, and the
convolutions and the classifier run in int8 kernels (VNNI). Two engines:
- "openvino" (the default where the `int8` extra is installed): OpenVINO's CPU runtime, quantized by NNCF
  (`resnetlab.inference.openvino_int8`), the fastest int8 path measured on this project's CPU (docs/performance.md);
- "pytorch": PyTorch's FX graph-mode flow with its x86 backend (convolutions, BN and ReLU fused), which needs nothing
  beyond torch. PyTorch has deprecated these quantized-tensor kernels in favour of torchao; they stay as the engine
  that always works.
Unlike `optimize_for_inference`, int8 changes the answers by more than rounding: measure the accuracy against fp32
before using it (`resnetlab eval RUN --precision int8` against `--precision fp32`; docs/performance.md has both for
trained CIFAR-10 nets).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable
from typing import Literal

import torch
from torch import nn

from resnetlab.errors import UserInputError
from resnetlab.inference import openvino_int8

__all__ = ["Int8Engine", "QuantizedModel", "quantize_int8"]

Int8Engine = Literal["auto", "openvino", "pytorch"]

_BACKEND = "x86"


class QuantizedModel(nn.Module):
    """PyTorch's int8 network behind the usual interface: fp32 NCHW images in, fp32 logits out."""

    engine = "pytorch"

    def __init__(self, network: nn.Module, channels_last: bool) -> None:
        super().__init__()
        self.network = network
        self.channels_last = channels_last

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.channels_last:  # the x86 int8 convolutions run in NHWC; converting once here spares a reorder per layer
            images = images.contiguous(memory_format=torch.channels_last)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the deprecation of quantized tensors, see the module docstring
            return self.network(images)


def quantize_int8(
    model: nn.Module,
    calibration: Iterable[torch.Tensor],
    *,
    channels_last: bool = True,
    engine: Int8Engine = "auto",
) -> nn.Module:
    """An int8 copy of `model` (the original is untouched), its activation ranges observed on `calibration`: batches
    of fp32 NCHW images normalised as the model expects, on the CPU (a few hundred images are enough for ResNets).
    `engine`: "auto" takes OpenVINO where the `int8` extra is installed, PyTorch's own kernels otherwise; the
    returned model's `engine` attribute says which. `channels_last` applies to the PyTorch engine."""
    if any(p.device.type != "cpu" for p in model.parameters()):
        raise UserInputError("int8 inference runs on the CPU only; move the model there first (model.cpu())")
    batches = [batch.cpu() for batch in calibration]
    if not batches:
        raise UserInputError("int8 calibration needs at least one batch of images; none were given")
    if engine == "auto":
        engine = "openvino" if openvino_int8.available() else "pytorch"
    if engine == "openvino":
        if not openvino_int8.available():
            raise UserInputError("the openvino int8 engine needs OpenVINO and NNCF: pip install 'resnetlab[int8]'")
        return openvino_int8.quantize(model, batches)
    return _pytorch_int8(model, batches, channels_last)


def _pytorch_int8(model: nn.Module, batches: list[torch.Tensor], channels_last: bool) -> QuantizedModel:
    """PyTorch's FX flow, x86 backend (see the module docstring)."""
    if _BACKEND not in torch.backends.quantized.supported_engines:
        raise UserInputError("int8 inference needs PyTorch's x86 quantized backend, which this build lacks")
    torch.backends.quantized.engine = _BACKEND
    first = batches[0]
    network = copy.deepcopy(model).eval()
    if channels_last:
        network = network.to(memory_format=torch.channels_last)
    with warnings.catch_warnings():
        # The flow warns, on import and per layer, that it is deprecated (see the module docstring); said once there.
        warnings.simplefilter("ignore")
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

        prepared = prepare_fx(network, get_default_qconfig_mapping(_BACKEND), example_inputs=(first,))
        with torch.no_grad():
            for batch in batches:
                prepared(batch)
        converted = convert_fx(prepared)
    return QuantizedModel(converted, channels_last).eval()
