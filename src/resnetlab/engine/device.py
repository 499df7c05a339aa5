"""Where and in which precision a run computes."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from resnetlab.engine.config import Device, Precision
from resnetlab.errors import UserInputError


def resolve_device(name: Device) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UserInputError("runtime.device=cuda but no CUDA device is available; use --device cpu or auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    # Any x86 CPU runs bf16 through oneDNN; it is fast only with AMX or AVX512-BF16, which the benchmarks measure.
    return device.type == "cpu"


def autocast(device: torch.device, precision: Precision) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast for the forward pass; fp32 otherwise (no gradient scaler needed for bf16)."""
    if precision == "bf16":
        if not bf16_supported(device):
            raise UserInputError(f"bf16 is not supported on {device}; use --precision fp32")
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
