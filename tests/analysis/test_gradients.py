from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from resnetlab.analysis.gradients import response_gradients
from resnetlab.models import create_model


def test_gradient_at_a_response_matches_autograd_and_leaves_the_model_as_it_was() -> None:
    model = create_model("cifar_plain20").eval()
    images = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    labels = torch.randint(0, 10, (16,), generator=torch.Generator().manual_seed(3))
    before = {n: t.clone() for n, t in model.state_dict().items()}

    gradients = response_gradients(model, images, labels)

    assert [g.name for g in gradients][:2] == ["conv1", "layer1.0.conv1"] and len(gradients) == 19
    assert all(torch.equal(before[n], t) for n, t in model.state_dict().items())  # BN statistics restored
    assert all(p.grad is None for p in model.parameters()) and model.training is False
    # The same number by hand: keep the response of layer2.0.conv2 (its bn2 output) and take the loss's gradient.
    # The network goes on with a copy, so the ReLU that follows in place leaves the kept response as BN gave it.
    kept: list[torch.Tensor] = []

    def keep_and_copy(_module: torch.nn.Module, _inputs: object, out: torch.Tensor) -> torch.Tensor:
        kept.append(out)
        return out.clone()

    handle = model.layer2.get_submodule("0").bn2.register_forward_hook(keep_and_copy)
    model.train()
    loss = F.cross_entropy(model(images), labels)
    handle.remove()
    (grad,) = torch.autograd.grad(loss, kept[0])
    expected = grad.norm().item() / math.sqrt(grad.numel())
    assert {g.name: g.rms for g in gradients}["layer2.0.conv2"] == pytest.approx(expected, rel=1e-5)
