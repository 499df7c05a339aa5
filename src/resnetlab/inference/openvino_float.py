"""The float engine of `optimize_for_inference` where its CPU class's measurement found OpenVINO fastest.

On the Intel Xeon with AMX (docs/benchmarks/inference-peers-amx-bf16.json), OpenVINO's bf16 ran ResNet-50 at batch 32
in 0.48x the time of resnetlab's compiled PyTorch bf16, and at batch 1 in 0.44x; on the AMD EPYC (Zen 4,
docs/benchmarks/inference-peers.json), 0.80x and 0.64x. The network is taken from PyTorch directly (no ONNX file) and
compiled for this CPU with the process's thread count and the latency hint; bf16 where the CPU computes it natively,
f32 elsewhere, as `precision: auto` has it. OpenVINO is the `int8` extra.
"""

from __future__ import annotations

import importlib.util

from torch import nn

from resnetlab.inference.openvino_int8 import OpenVINOModel, compile_for_cpu, convert

# OpenVINO's name for each precision `optimize_for_inference` takes.
HINTS = {"fp32": "f32", "bf16": "bf16"}


def available() -> bool:
    """Whether OpenVINO imports here (NNCF is needed for int8 only)."""
    return importlib.util.find_spec("openvino") is not None


def compile_float(model: nn.Module, image_shape: tuple[int, int, int], precision: str) -> OpenVINOModel:
    """`model` converted from PyTorch for any batch of `image_shape` images and compiled for this CPU in `precision`
    (fp32 or bf16). The original is untouched."""
    compiled = compile_for_cpu(convert(model, image_shape), INFERENCE_PRECISION_HINT=HINTS[precision])
    return OpenVINOModel(compiled, image_shape, kind=f"OpenVINO {precision}", fixed_by="converted")
