"""Inference: the reference (torchvision's model or the same CIFAR architecture, fp32, NCHW, eager, no_grad) against
`resnetlab.optimize_for_inference` with each option added in turn.

    python -m benchmarks.inference          # resnet50 b32 throughput, resnet50 b1 latency, cifar_resnet20 b1024 / b1
    python -m benchmarks.inference --tiny   # seconds; what CI runs
    python -m benchmarks.inference --peers  # with ONNX Runtime and OpenVINO beside them (benchmarks/peers.py)
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torchvision
from torch import nn

from benchmarks import harness, peers
from benchmarks.harness import Variant, run_benchmark
from resnetlab import complexity, create_model, optimize_for_inference, quantize_int8
from resnetlab.inference.quantize import Int8Engine


@dataclass(frozen=True)
class Case:
    name: str
    model: str
    reference: Callable[[], nn.Module]
    batch: int
    size: int


CASES = {
    "resnet50-b32": Case("resnet50-b32", "resnet50", lambda: torchvision.models.resnet50(), 32, 224),
    "resnet50-b1": Case("resnet50-b1", "resnet50", lambda: torchvision.models.resnet50(), 1, 224),
    "cifar_resnet20-b1024": Case(
        "cifar_resnet20-b1024", "cifar_resnet20", lambda: create_model("cifar_resnet20"), 1024, 32
    ),
    "cifar_resnet20-b1": Case("cifar_resnet20-b1", "cifar_resnet20", lambda: create_model("cifar_resnet20"), 1, 32),
}
# resnetlab's paths against the runtime a user would deploy instead: int8 against int8, bf16 against fp32 (the
# runtimes' default; OpenVINO's default is bf16 on this CPU, so it is compared too).
PEER_PAIRS = [
    ("int8", "ort-int8"),
    ("int8", "openvino-int8"),
    ("int8-pytorch", "ort-int8"),
    ("fold_bn+channels_last+bf16", "ort-fp32"),
    ("fold_bn+channels_last+bf16+compile", "ort-fp32"),
    ("fold_bn+channels_last+bf16", "openvino"),
    ("fold_bn+channels_last+bf16+compile", "openvino"),
]
PEERS_VARIABLE = "RESNETLAB_BENCH_PEERS"  # set by --peers; the memory subprocesses inherit it
TINY = {
    "cifar_resnet20-b16": Case("cifar_resnet20-b16", "cifar_resnet20", lambda: create_model("cifar_resnet20"), 16, 32)
}

# (name, options of optimize_for_inference), one option added at a time.
FAST_VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("fold_bn", {"precision": "fp32", "channels_last": False, "fold_bn": True}),
    ("fold_bn+channels_last", {"precision": "fp32", "channels_last": True, "fold_bn": True}),
    ("fold_bn+channels_last+bf16", {"precision": "bf16", "channels_last": True, "fold_bn": True}),
    (
        "fold_bn+channels_last+bf16+compile",
        {"precision": "bf16", "channels_last": True, "fold_bn": True, "compile": True, "freeze": False},
    ),
    (
        "fold_bn+channels_last+bf16+compile+freeze",
        {"precision": "bf16", "channels_last": True, "fold_bn": True, "compile": True, "freeze": True},
    ),
]


def _images(case: Case) -> torch.Tensor:
    return torch.randn(case.batch, 3, case.size, case.size, generator=torch.Generator().manual_seed(0))


def reference_setup(case: Case) -> Callable[[], Any]:
    torch.manual_seed(0)
    model = case.reference().eval()
    images = _images(case)

    def run() -> torch.Tensor:
        with torch.no_grad():
            return model(images)

    return run


def fast_setup(case: Case, options: dict[str, Any]) -> Callable[[], Any]:
    torch.manual_seed(0)
    model = optimize_for_inference(create_model(case.model).eval(), **options)
    images = _images(case)

    def run() -> torch.Tensor:
        with torch.inference_mode():
            return model(images)

    return run


def int8_setup(case: Case, engine: Int8Engine = "auto") -> Callable[[], Any]:
    """resnetlab.quantize_int8 with `engine`, calibrated on random images as the peers' int8 variants are: its speed
    only (its accuracy on trained runs: `python -m benchmarks.int8_accuracy`)."""
    torch.manual_seed(0)
    images = _images(case)
    calibration = [torch.from_numpy(batch) for batch in peers.calibration_batches(images)]
    model = quantize_int8(create_model(case.model).eval(), calibration, engine=engine)

    def run() -> torch.Tensor:
        with torch.inference_mode():
            return model(images)

    return run


def variants(case: Case) -> list[Variant]:
    @functools.cache
    def flops() -> float:
        return 2 * complexity(create_model(case.model), (3, case.size, case.size)).macs * case.batch

    found = [Variant("reference", lambda: reference_setup(case), flops, "fp32", "fp32, NCHW, eager, no_grad")]
    for name, options in FAST_VARIANTS:
        dtype = "bf16" if options["precision"] == "bf16" else "fp32"
        found.append(Variant(name, lambda o=options: fast_setup(case, o), flops, dtype))  # type: ignore[misc]
    int8_notes = "opt-in, changes results; OpenVINO (NNCF PTQ) where installed, else PyTorch's x86 kernels"
    found.append(Variant("int8", lambda: int8_setup(case), flops, "int8", int8_notes))
    pytorch_notes = "the same with PyTorch's own engine (FX PTQ, x86 kernels): what works without the int8 extra"
    found.append(Variant("int8-pytorch", lambda: int8_setup(case, "pytorch"), flops, "int8", pytorch_notes))
    if os.environ.get(PEERS_VARIABLE):
        for name, setup, dtype, notes in peers.available():
            found.append(Variant(name, lambda s=setup: peer_setup(case, s), flops, dtype, notes))  # type: ignore[misc]
    return found


def peer_setup(case: Case, setup: Callable[[nn.Module, torch.Tensor], Callable[[], Any]]) -> Callable[[], Any]:
    """A runtime's session on the same architecture, weights and images as resnetlab's variants."""
    torch.manual_seed(0)
    return setup(create_model(case.model).eval(), _images(case))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    given = list(argv)  # recorded as run, --peers included
    if "--peers" in argv:
        argv.remove("--peers")
        os.environ[PEERS_VARIABLE] = "1"
        missing = peers.missing_peers()
        if missing:
            print(f"peers left out (not importable here): {', '.join(missing)}; pip install -e '.[bench]'")
    run_benchmark(
        "benchmarks.inference",
        __doc__,
        argv,
        CASES,
        TINY,
        variants,
        rounds=(15, 2),
        warmup=(3, 1),
        pairs=PEER_PAIRS,
        command=given,
    )


def markdown(payload: dict[str, Any]) -> str:
    """A saved run of this benchmark as the docs show it (docs_hooks/benchmarks.py): its table and comparisons."""
    return harness.markdown(payload, PEER_PAIRS)


if __name__ == "__main__":
    main()
