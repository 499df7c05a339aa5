from __future__ import annotations

import warnings

import pytest
import torch

from resnetlab.errors import UserInputError
from resnetlab.models import create_model
from resnetlab.train.step import TrainStep


def _step(**options: object) -> tuple[torch.nn.Module, TrainStep]:
    torch.manual_seed(0)
    model = create_model("cifar_resnet20", num_classes=4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, TrainStep(model, optimizer, device=torch.device("cpu"), **options)  # type: ignore[arg-type]


def test_a_step_lowers_the_loss_on_its_batch_and_returns_detached_results() -> None:
    _, step = _step()
    images, labels = torch.randn(16, 3, 32, 32), torch.arange(16) % 4
    first, logits = step(images, labels)
    assert not first.requires_grad and not logits.requires_grad and logits.shape == (16, 4)
    for _ in range(5):
        last, _ = step(images, labels)
    assert last < first


def test_gradient_clipping_bounds_the_update() -> None:
    model, step = _step(grad_clip=1e-6)
    before = [p.detach().clone() for p in model.parameters()]
    step(torch.randn(8, 3, 32, 32), torch.arange(8) % 4)
    moved = sum((p - b).abs().sum().item() for p, b in zip(model.parameters(), before, strict=True))
    assert moved < 1e-3  # lr 0.1 x a gradient of norm 1e-6, plus weight decay none


def test_fp16_needs_a_gpu() -> None:
    with pytest.raises(UserInputError, match="fp16 needs a CUDA device"):
        _, step = _step(precision="fp16")
        step(torch.randn(2, 3, 32, 32), torch.arange(2))


def test_a_compiled_bf16_step_traces_the_forward_and_loss_without_a_graph_break() -> None:
    # The precision is checked once, when the step is built: a check inside the compiled forward (its cached CPU
    # probe) broke the graph at every step, and the recompiles soon ran the forward eagerly.
    from torch._dynamo.utils import counters

    from resnetlab.runtime.device import EmulatedBf16Warning

    torch._dynamo.reset()
    counters.clear()
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(2)
    )
    model(torch.randn(1, 3, 8, 8))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmulatedBf16Warning)  # a CPU without native bf16 still traces the same graph
        step = TrainStep(model, optimizer, device=torch.device("cpu"), precision="bf16", compile=True)
        for _ in range(3):
            step(torch.randn(4, 3, 8, 8), torch.arange(4) % 2)
    assert not counters["graph_break"], dict(counters["graph_break"])
