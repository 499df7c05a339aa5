"""`TrainStep`: one optimisation step on one batch, as the training loop runs it and as benchmarks/ measure it."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from resnetlab.config import Precision
from resnetlab.runtime.device import check_precision, checked_autocast, grad_scaler


class TrainStep:
    """Forward (in `precision`), cross-entropy, backward, optional clipping, optimizer step.

    Returns the loss and the logits, detached and left on the device: reading them is the caller's choice, so a step
    never waits for the device (no host sync per step).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        device: torch.device,
        precision: Precision = "fp32",
        label_smoothing: float = 0.0,
        grad_clip: float | None = None,
        compile: bool = False,
    ) -> None:
        self.model, self.optimizer = model, optimizer
        # Resolved and checked once here: the (compiled) forward only enters the autocast it names.
        self.device, self.precision = device, check_precision(device, precision)
        self.label_smoothing, self.grad_clip = label_smoothing, grad_clip
        self.scaler = grad_scaler(device, precision)
        # Compiled: the forward pass and the loss as one graph (and so its backward); the module itself is unchanged,
        # so checkpoints and evaluation see the same parameters under their usual names.
        self._forward_loss: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] = (
            torch.compile(self._forward_and_loss) if compile else self._forward_and_loss
        )

    def _forward_and_loss(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with checked_autocast(self.device, self.precision):
            logits = self.model(images)
        return F.cross_entropy(logits.float(), labels, label_smoothing=self.label_smoothing), logits

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss, logits = self._forward_loss(images, labels)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the scaled ones
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.detach(), logits.detach()
