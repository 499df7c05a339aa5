from __future__ import annotations

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
