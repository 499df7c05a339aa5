"""The default training and inference paths per CPU class, chosen by measurement, never assumed.

CPUs are told apart by the flags that decide which kernels run fastest: native bf16 through AMX tiles or AVX512-BF16,
AVX-512 without bf16 (bf16 is emulated there, about 12x slower than fp32), AVX2 only. Benchmarks record the class of
the machine they ran on (benchmarks/harness.py), so that each measurement says which CPUs it speaks for; the table
below takes, per class, the fastest path a measurement found, and names it. `resnetlab info` prints the path this
machine gets and why."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch

CpuClass = Literal["amx-bf16", "avx512-bf16", "avx512", "avx2", "other"]

CLASS_NAMES: dict[CpuClass, str] = {
    "amx-bf16": "AMX and AVX512-BF16 (native bf16 in tiles and vectors)",
    "avx512-bf16": "AVX-512 with AVX512-BF16 (native bf16 in vectors), no AMX",
    "avx512": "AVX-512 without BF16 (bf16 emulated)",
    "avx2": "AVX2 only (bf16 emulated)",
    "other": "neither AVX2 nor AVX-512",
}


def cpu_class(capability: Mapping[str, Any]) -> CpuClass:
    """The class of a CPU from torch's report of its flags (`torch._C._cpu._get_cpu_capability()`) or a benchmark's
    saved copy of them."""
    if capability.get("amx_bf16"):
        return "amx-bf16"
    if capability.get("avx512_bf16"):
        return "avx512-bf16"
    if capability.get("avx512_f") or capability.get("avx512f"):
        return "avx512"
    return "avx2" if capability.get("avx2") else "other"


@functools.cache
def this_cpu_class() -> CpuClass:
    return cpu_class(torch._C._cpu._get_cpu_capability())


@dataclass(frozen=True)
class TrainingPath:
    """How a training step computes by default on a CPU class: its precision and memory format, and the measurement
    that chose them. torch.compile stays a choice (`runtime.compile`, `--compile`): it costs seconds to minutes of
    start-up, which short runs never repay, and measured little on top of bf16 where bf16 is native."""

    precision: Literal["bf16", "fp32"]
    channels_last: bool
    evidence: str  # the run that measured this path fastest (a committed file under docs/, or where it is reported)


# The fastest eager path that benchmarks.train_step measured on each class (the plain fp32 NCHW loop is the reference
# every row is measured against, so no default is slower than it). tests/runtime/test_paths.py checks every row that
# names a committed file against that file.
TRAINING_PATHS: dict[CpuClass, TrainingPath] = {
    "amx-bf16": TrainingPath("bf16", True, "docs/benchmarks/train-step-amx-bf16.json"),
    "avx512-bf16": TrainingPath(
        "bf16", True, "the AMD EPYC (Zen 4) run of 2026-11-22 on the performance page (no committed file yet)"
    ),
    "avx512": TrainingPath(
        "fp32",
        True,
        "an Intel Xeon (AVX-512, no BF16) measurement of 2026-11: fp32 channels_last 1.41x the NCHW reference "
        "(no committed file yet)",
    ),
    "avx2": TrainingPath(
        "fp32", False, "an AVX2-only measurement of 2026-11: channels_last 0.93x the NCHW reference (no committed file)"
    ),
    "other": TrainingPath("fp32", False, "nothing measured: the plain fp32 NCHW path"),
}
CUDA_PATH = TrainingPath("bf16", True, "CUDA: bf16 where the GPU supports it, and cuDNN's native channels_last layout")


def training_path(device: torch.device) -> TrainingPath:
    """The default path for `device`: its CPU class's row, or CUDA's."""
    return CUDA_PATH if device.type == "cuda" else TRAINING_PATHS[this_cpu_class()]


def resolve_channels_last(setting: bool | Literal["auto"], device: torch.device) -> bool:
    """`runtime.channels_last`: as set, or ("auto") as the device's measured path has it."""
    return training_path(device).channels_last if setting == "auto" else setting


@dataclass(frozen=True)
class InferencePath:
    """Which engine predicts by default on a CPU class, and the measurement that chose it. Its precision is
    `precision: auto`'s (bf16 where native, else fp32); OpenVINO is used only where it is installed (the int8 extra),
    PyTorch (`optimize_for_inference`) otherwise."""

    engine: Literal["openvino", "pytorch"]
    evidence: str


# The fastest float engine that `python -m benchmarks.inference --peers` measured on each class, for ResNet-50 at
# batch 32 and batch 1. tests/runtime/test_paths.py checks every row that names a committed file against it.
INFERENCE_PATHS: dict[CpuClass, InferencePath] = {
    "amx-bf16": InferencePath("openvino", "docs/benchmarks/inference-peers-amx-bf16.json"),
    "avx512-bf16": InferencePath("openvino", "docs/benchmarks/inference-peers.json"),
    "avx512": InferencePath(
        "openvino",
        "an Intel Xeon (AVX-512, no BF16) measurement of 2026-11: OpenVINO f32 1.40x resnetlab's fp32 channels_last "
        "throughput at batch 32 and 0.78x its batch-1 latency (no committed file yet)",
    ),
    "avx2": InferencePath("pytorch", "nothing measured on this class yet: PyTorch, the engine resnetlab trains with"),
    "other": InferencePath("pytorch", "nothing measured: PyTorch"),
}
CUDA_INFERENCE = InferencePath("pytorch", "CUDA: OpenVINO's engine here runs on CPUs only")


def inference_path(device: torch.device) -> InferencePath:
    """The default inference engine for `device`: its CPU class's row, or CUDA's."""
    return CUDA_INFERENCE if device.type == "cuda" else INFERENCE_PATHS[this_cpu_class()]
