from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from resnetlab.inference.evaluate import evaluate


class _Fixed(nn.Module):
    """Logits read straight from the input's first pixel row, so a test sets each view's scores."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0, 0, :]


def test_several_views_per_image_average_their_softmax() -> None:
    # One image, two views: one says class 0 strongly, the other class 1 weakly; the average picks class 0.
    views = torch.tensor([[4.0, 0.0], [0.0, 1.0]]).view(2, 1, 1, 2)
    result = evaluate(_Fixed(), [(views, torch.tensor([1]))], 2, device=torch.device("cpu"))
    probabilities = torch.tensor([[4.0, 0.0], [0.0, 1.0]]).softmax(1).mean(0)
    assert result.top1 == 0.0 and result.confusion == [[0, 0], [1, 0]]
    assert result.loss == pytest.approx(-math.log(probabilities[1].item()), rel=1e-5)


def test_one_view_per_image_is_plain_cross_entropy() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
    result = evaluate(_Fixed(), [(logits.view(2, 1, 1, 2), torch.tensor([0, 0]))], 2, device=torch.device("cpu"))
    assert result.top1 == 0.5
    assert result.loss == pytest.approx(torch.nn.functional.cross_entropy(logits, torch.tensor([0, 0])).item())
