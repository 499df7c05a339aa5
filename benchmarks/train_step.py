"""Training step: the reference (torchvision's model, or the same architecture for CIFAR nets, fp32, NCHW, eager,
a standard SGD step) against resnetlab's TrainStep with each fast-path option added in turn.

    python -m benchmarks.train_step                  # CIFAR ResNet-20/56/110 b128 32 px, resnet18/50 b32 224 px
    python -m benchmarks.train_step --case resnet50 --rounds 5
    python -m benchmarks.train_step --case cifar_resnet56 --case cifar_resnet110 --rounds 3
    python -m benchmarks.train_step --tiny           # seconds; what CI runs
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from benchmarks.harness import Variant, run_benchmark
from benchmarks.harness import markdown as harness_markdown
from resnetlab import complexity, create_model
from resnetlab.config import OptimConfig, Precision
from resnetlab.runtime.device import fast_bf16
from resnetlab.train.optim import build_optimizer
from resnetlab.train.step import TrainStep


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
    # The deeper CIFAR nets of [R1] Table 6, for planning the experiments' budgets.
    "cifar_resnet56": Case("cifar_resnet56", "cifar_resnet56", lambda: create_model("cifar_resnet56"), 128, 32, 10),
    "cifar_resnet110": Case("cifar_resnet110", "cifar_resnet110", lambda: create_model("cifar_resnet110"), 128, 32, 10),
    "resnet18": Case("resnet18", "resnet18", lambda: torchvision.models.resnet18(), 32, 224, 1000),
    "resnet50": Case("resnet50", "resnet50", lambda: torchvision.models.resnet50(), 32, 224, 1000),
}
TINY = {"cifar_resnet20": Case("cifar_resnet20", "cifar_resnet20", lambda: create_model("cifar_resnet20"), 8, 32, 10)}

# (name, precision, channels_last, compile, fused SGD): the reference first, then one option added at a time, and the
# default without the fused optimizer step (the option optim.fused switches off). The fp32 rows are every CPU's; the
# bf16 rows are measured only where the CPU computes bf16 natively (emulated, a step takes about 12x the fp32 one).
FAST_VARIANTS: list[tuple[str, Precision, bool, bool, bool]] = [
    ("fused_sgd", "fp32", False, False, True),
    ("channels_last", "fp32", True, False, True),
    ("compile", "fp32", False, True, True),
    ("channels_last+compile", "fp32", True, True, True),
    ("bf16", "bf16", False, False, True),
    ("bf16+channels_last", "bf16", True, False, True),
    ("bf16+channels_last+compile", "bf16", True, True, True),
    ("bf16+channels_last+unfused_sgd", "bf16", True, False, False),
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


def fast_setup(case: Case, precision: Precision, channels_last: bool, compile: bool, fused: bool) -> Callable[[], Any]:
    torch.manual_seed(0)
    model = create_model(case.model, num_classes=case.classes).train()
    images, labels = _inputs(case)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, OptimConfig(lr=0.01, momentum=0.9, weight_decay=1e-4, fused=fused))
    step = TrainStep(model, optimizer, device=torch.device("cpu"), precision=precision, compile=compile)
    return lambda: step(images, labels)


def variants(case: Case) -> list[Variant]:
    @functools.cache
    def flops() -> float:  # forward + backward (twice the forward's arithmetic)
        macs = complexity(create_model(case.model, num_classes=case.classes), (3, case.size, case.size)).macs
        return 3 * 2 * macs * case.batch

    found = [Variant("reference", lambda: reference_setup(case), flops, "fp32", "fp32, NCHW, eager")]
    native = fast_bf16(torch.device("cpu"))
    for name, precision, channels_last, compile, fused in FAST_VARIANTS:
        if precision == "bf16" and not native:
            continue
        found.append(
            Variant(
                name,
                lambda p=precision, c=channels_last, k=compile, f=fused: fast_setup(case, p, c, k, f),  # type: ignore[misc]
                flops,
                precision,
            )
        )
    return found


def markdown(payload: dict[str, Any]) -> str:
    """A saved run as the performance page shows it (docs_hooks/benchmarks.py)."""
    return harness_markdown(payload)


def main(argv: list[str] | None = None) -> None:
    run_benchmark("benchmarks.train_step", __doc__, argv, CASES, TINY, variants, rounds=(7, 2), warmup=(2, 1))


if __name__ == "__main__":
    main()
