"""An exponential moving average of a model's weights (optional; not part of [R1] or [R2]'s recipes)."""

from __future__ import annotations

from typing import Any

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


class WeightAverage:
    """After each step, average <- decay * average + (1 - decay) * weights, for parameters and BN statistics alike
    (the averaged weights need statistics that match them, not the last step's)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self._averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
        self._averaged.eval()

    @property
    def module(self) -> nn.Module:
        """The averaged copy of the model: a plain network of the same architecture, ready to evaluate or export."""
        module: nn.Module = self._averaged.module
        return module

    def update(self, model: nn.Module) -> None:
        self._averaged.update_parameters(model)

    def state_dict(self) -> dict[str, Any]:
        """The number of updates only: the averaged weights are `module`'s, which a checkpoint already holds once
        (as the weights that eval and predict use)."""
        return {"n_averaged": self._averaged.n_averaged.clone()}

    def load_state_dict(self, state: dict[str, Any], weights: dict[str, Any]) -> None:
        """Restore from `state_dict()` and the averaged weights (`module.state_dict()`) saved beside it."""
        self.module.load_state_dict(weights)
        self._averaged.n_averaged.copy_(state["n_averaged"])
