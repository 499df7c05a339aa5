"""Where and in which precision a run computes."""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import torch

from resnetlab.config import Device, Precision
from resnetlab.errors import UserInputError


def resolve_device(name: Device) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UserInputError("runtime.device=cuda but no CUDA device is available; use --device cpu or auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def native_cpu_bf16(capability: Mapping[str, Any]) -> bool:
    """Whether a CPU computes bf16 natively (AVX512-BF16 or AMX), from torch's report of its capability or a saved
    copy of those flags (a benchmark's `machine`): elsewhere bf16 is emulated, far slower than fp32."""
    return bool(capability.get("amx_bf16") or capability.get("avx512_bf16"))


def fast_bf16(device: torch.device) -> bool:
    """Whether bf16 arithmetic runs natively here (and so faster than fp32), not merely emulated."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    return native_cpu_bf16(_cpu_capability())


@functools.cache
def _cpu_capability() -> dict[str, Any]:
    """The CPU's flags as torch reports them: read once, not at every autocast (a step's forward asks)."""
    return dict(torch._C._cpu._get_cpu_capability())


def resolve_precision(device: torch.device, precision: Precision) -> Precision:
    if precision == "auto":
        return "bf16" if fast_bf16(device) else "fp32"
    return precision


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    # Any x86 CPU runs bf16 through oneDNN; it is fast only with AMX or AVX512-BF16, which the benchmarks measure.
    return device.type == "cpu"


class EmulatedBf16Warning(UserWarning):
    """bf16 asked for on a CPU that only emulates it."""


# How much slower a ResNet training step runs in emulated bf16 than in fp32 on an AVX2 or AVX-512 CPU without BF16:
# benchmarks.train_step measured 0.08x the fp32 reference for cifar_resnet56 (docs/performance.md).
EMULATED_BF16_SLOWDOWN = 12


@functools.cache
def _warn_emulated_bf16() -> None:
    """Once a process: bf16 asked for explicitly where the CPU emulates it."""
    warnings.warn(
        f"bf16 is emulated on this CPU (no AVX512-BF16 or AMX): expect about {EMULATED_BF16_SLOWDOWN}x slower steps "
        "than fp32; --precision auto (fp32 here) is the fast path",
        EmulatedBf16Warning,
        stacklevel=4,
    )


def check_precision(device: torch.device, precision: Precision) -> Precision:
    """`precision` resolved for `device`; a clear error where the device cannot compute in it, and one warning where
    it asks for bf16 on a CPU that emulates it."""
    precision = resolve_precision(device, precision)
    if precision == "bf16" and not bf16_supported(device):
        raise UserInputError(f"bf16 is not supported on {device}; use --precision fp32")
    if precision == "bf16" and device.type == "cpu" and not fast_bf16(device):
        _warn_emulated_bf16()
    if precision == "fp16" and device.type != "cuda":
        raise UserInputError(f"fp16 needs a CUDA device, not {device}; use --precision bf16 or fp32")
    return precision


def autocast(device: torch.device, precision: Precision) -> contextlib.AbstractContextManager[Any]:
    """bf16 or fp16 autocast for the forward pass; fp32 otherwise (only fp16 needs a gradient scaler)."""
    return checked_autocast(device, check_precision(device, precision))


def checked_autocast(device: torch.device, precision: Precision) -> contextlib.AbstractContextManager[Any]:
    """`autocast` for a precision `check_precision` has already resolved: no checks, nothing cached, so that a
    compiled step traces it as one graph (a check's cached CPU probe would break the graph at every step)."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    if precision == "fp16":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def grad_scaler(device: torch.device, precision: Precision) -> torch.amp.GradScaler:
    """Loss scaling for fp16, whose narrow exponent range underflows small gradients; a no-op otherwise."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")


@contextlib.contextmanager
def deterministic_mode(enabled: bool) -> Iterator[None]:
    """Deterministic kernels for the duration of a run, then the process's previous settings again (a library call
    must not leave every later computation in the caller's process slower)."""
    if not enabled:
        yield
        return
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
    )
    # cuBLAS needs a fixed workspace to be deterministic; it must be set before CUDA starts.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # warn_only: a CUDA op without a deterministic kernel (e.g. adaptive average pooling's backward) warns instead
    # of stopping the run; on the CPU every op ResNets use is deterministic.
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        torch.backends.cudnn.benchmark = previous[2]
