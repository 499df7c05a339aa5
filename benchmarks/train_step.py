"""Training step: the reference (torchvision's model, or the same architecture for CIFAR nets, fp32, NCHW, eager,
a standard SGD step) against resnetlab's TrainStep with each fast-path option added in turn.

    python -m benchmarks.train_step                  # cifar_resnet20 b128 32 px, resnet18 and resnet50 b32 224 px
    python -m benchmarks.train_step --case resnet50 --rounds 5
    python -m benchmarks.train_step --tiny           # seconds; what CI runs
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from benchmarks.harness import (
    Result,
    Variant,
    common_arguments,
    matmul_peak,
    measure,
    memory_of,
    peak_rss_in_subprocess,
    report,
    save,
)
from resnetlab import complexity, create_model
from resnetlab.engine.config import Precision
from resnetlab.engine.step import TrainStep


@dataclass(frozen=True)
class Case:
    name: str
    model: str  # resnetlab registry name
    reference: Callable[[], nn.Module]  # what a user builds without resnetlab
    batch: int
    size: int
    classes: int


CASES = {
    "cifar_resnet20": Case("cifar_resnet20", "cifar_resnet20", lambda: create_model("cifar_resnet20"), 128, 32, 10),
    "resnet18": Case("resnet18", "resnet18", lambda: torchvision.models.resnet18(), 32, 224, 1000),
    "resnet50": Case("resnet50", "resnet50", lambda: torchvision.models.resnet50(), 32, 224, 1000),
}
TINY = {"cifar_resnet20": Case("cifar_resnet20", "cifar_resnet20", lambda: create_model("cifar_resnet20"), 8, 32, 10)}

# (name, precision, channels_last, compile): the reference first, then one option added at a time.
FAST_VARIANTS: list[tuple[str, Precision, bool, bool]] = [
    ("channels_last", "fp32", True, False),
    ("bf16", "bf16", False, False),
    ("bf16+channels_last", "bf16", True, False),
    ("bf16+channels_last+compile", "bf16", True, True),
]


def _inputs(case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(case.batch, 3, case.size, case.size, generator=generator)
    labels = torch.randint(0, case.classes, (case.batch,), generator=generator)
    return images, labels


def _sgd(model: nn.Module) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)


def reference_setup(case: Case) -> Callable[[], Any]:
    torch.manual_seed(0)
    model = case.reference().train()
    optimizer = _sgd(model)
    images, labels = _inputs(case)

    def step() -> None:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()

    return step


def fast_setup(case: Case, precision: Precision, channels_last: bool, compile: bool) -> Callable[[], Any]:
    torch.manual_seed(0)
    model = create_model(case.model, num_classes=case.classes).train()
    images, labels = _inputs(case)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    step = TrainStep(model, _sgd(model), device=torch.device("cpu"), precision=precision, compile=compile)
    return lambda: step(images, labels)


def variants(case: Case) -> list[Variant]:
    macs = complexity(create_model(case.model, num_classes=case.classes), (3, case.size, case.size)).macs
    flops = 3 * 2 * macs * case.batch  # forward + backward (twice the forward's arithmetic)
    found = [Variant("reference", lambda: reference_setup(case), flops, "fp32", "fp32, NCHW, eager")]
    for name, precision, channels_last, compile in FAST_VARIANTS:
        found.append(
            Variant(
                name,
                lambda p=precision, c=channels_last, k=compile: fast_setup(case, p, c, k),  # type: ignore[misc]
                flops,
                precision,
            )
        )
    return found


def main(argv: list[str] | None = None) -> None:
    parser = common_arguments(__doc__ or "")
    parser.add_argument("--case", choices=sorted(CASES), action="append", help="default: all")
    parser.add_argument("--memory-of", default=None, help="==SUPPRESS==")
    args = parser.parse_args(argv)
    cases = TINY if args.tiny else {name: CASES[name] for name in (args.case or CASES)}
    if args.memory_of:  # the subprocess side of peak_rss_in_subprocess: one variant, a few steps, then its RSS
        case_name, variant_name = args.memory_of.split(":")
        variant = next(v for v in variants(cases[case_name]) if v.name == variant_name)
        print(json.dumps(memory_of(variant.setup)))
        return
    rounds = args.rounds or (2 if args.tiny else 7)
    warmup = args.warmup or (1 if args.tiny else 2)
    device = torch.device("cpu")
    peaks = {"fp32": matmul_peak(torch.float32, device), "bf16": matmul_peak(torch.bfloat16, device)}
    results: list[Result] = []
    for case in cases.values():
        found = variants(case)
        measured = measure(case.name, found, items=case.batch, warmup=warmup, rounds=rounds, device=device)
        if not args.no_memory:
            for result in measured:
                extra = ["--tiny"] if args.tiny else ["--case", case.name]
                result.peak_rss_mb = peak_rss_in_subprocess(
                    "benchmarks.train_step", [*extra, "--memory-of", f"{case.name}:{result.variant}"]
                )
        results += measured
        print(report(measured, peaks, "reference"), flush=True)
    print(f"\nmatmul peak: fp32 {peaks['fp32'] / 1e9:.0f} GFLOP/s, bf16 {peaks['bf16'] / 1e9:.0f} GFLOP/s")
    out = args.out or Path("benchmarks/results") / ("train_step-tiny.json" if args.tiny else "train_step.json")
    save(results, peaks, out, ["python", "-m", "benchmarks.train_step", *(argv if argv is not None else sys.argv[1:])])
    print(f"results: {out}")


if __name__ == "__main__":
    main()
