"""`quantize_int8`: optional int8 inference on x86 CPUs by static post-training quantization.

PyTorch's FX graph-mode flow with its x86 backend: convolutions, BN and ReLU fused, weights quantized per channel,
activation ranges calibrated on a few batches of the user's own images, then int8 kernels (VNNI) for the convolutions
and the classifier. Unlike `optimize_for_inference`, this changes the answers by more than rounding: measure the
accuracy against fp32 before using it (`resnetlab eval RUN --precision int8` against `--precision fp32`).
These are PyTorch's quantized-tensor kernels, which PyTorch has deprecated in favour of torchao; they are kept here
because they run on the pinned torch without another dependency and are measured (docs/performance.md).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable

import torch
from torch import nn

from resnetlab.errors import UserInputError

__all__ = ["QuantizedModel", "quantize_int8"]

_BACKEND = "x86"


class QuantizedModel(nn.Module):
    """The int8 network behind the usual interface: fp32 NCHW images in, fp32 logits out."""

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
    model: nn.Module, calibration: Iterable[torch.Tensor], *, channels_last: bool = True
) -> QuantizedModel:
    """An int8 copy of `model` (the original is untouched), its activation ranges observed on `calibration`: batches
    of fp32 NCHW images normalised as the model expects, on the CPU (a few hundred images are enough for ResNets)."""
    if _BACKEND not in torch.backends.quantized.supported_engines:
        raise UserInputError("int8 inference needs PyTorch's x86 quantized backend, which this build lacks")
    if any(p.device.type != "cpu" for p in model.parameters()):
        raise UserInputError("int8 inference runs on the CPU only; move the model there first (model.cpu())")
    torch.backends.quantized.engine = _BACKEND
    batches = iter(calibration)
    first = next(batches, None)
    if first is None:
        raise UserInputError("int8 calibration needs at least one batch of images; none were given")
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
            for batch in (first, *batches):
                prepared(batch)
        converted = convert_fx(prepared)
    return QuantizedModel(converted, channels_last).eval()
