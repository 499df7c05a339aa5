"""Per-stage feature maps as a model's output, for analysis and dense tasks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from resnetlab.models.network import FeatureInfo, ResNet, check_indices


class FeatureExtractor(nn.Module):
    """Returns the feature maps at `out_indices` (0 = stem, i = stage i) instead of logits.

    It calls the network's own `forward_intermediates`, so no graph tracing is involved and every model works.
    """

    def __init__(self, model: ResNet, out_indices: Sequence[int] | None = None) -> None:
        super().__init__()
        self.out_indices = tuple(sorted(check_indices(out_indices, len(model.feature_info))))
        model.reset_classifier(0)  # the head is never run; drop its weights
        self.model = model
        self.feature_info: list[FeatureInfo] = [model.feature_info[i] for i in self.out_indices]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.model.forward_intermediates(x, self.out_indices)
