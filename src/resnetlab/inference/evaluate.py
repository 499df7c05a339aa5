"""Evaluation: loss, top-1/top-5 accuracy, per-class accuracy and the confusion matrix, counted on the device."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from resnetlab.config import Precision
from resnetlab.runtime.device import autocast


@dataclass(frozen=True)
class EvalResult:
    loss: float
    top1: float
    top5: float
    count: int
    per_class: list[float]  # accuracy of each class (NaN-free: a class with no samples counts 0)
    confusion: list[list[int]]  # rows: true class, columns: predicted class

    @property
    def error(self) -> float:
        return 1.0 - self.top1

    def summary(self) -> dict[str, float | int]:
        return {"loss": self.loss, "top1": self.top1, "top5": self.top5, "count": self.count}


def evaluate(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],  # images may hold V views per label, view-major per image
    num_classes: int,
    *,
    device: torch.device,
    precision: Precision = "fp32",
) -> EvalResult:
    was_training = model.training
    model.eval()
    k = min(5, num_classes)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    top5_hits = torch.zeros((), dtype=torch.int64, device=device)
    confusion = torch.zeros(num_classes * num_classes, dtype=torch.int64, device=device)
    count = 0
    with torch.inference_mode():
        for images, labels in batches:
            with autocast(device, precision):
                logits = model(images)
            logits = logits.float()
            views = logits.shape[0] // labels.shape[0]
            if views > 1:
                # Several views per image ([R1] Sec. 3.4's 10-crop testing): their softmax scores are averaged, and
                # the log of that average stands in for the logits (cross-entropy of it is the averaged model's).
                logits = logits.view(labels.shape[0], views, -1).softmax(dim=2).mean(dim=1).log()
            loss_sum += F.cross_entropy(logits, labels, reduction="sum").double()
            top5_hits += (logits.topk(k, dim=1).indices == labels[:, None]).any(dim=1).sum()
            confusion += torch.bincount(labels * num_classes + logits.argmax(dim=1), minlength=num_classes**2)
            count += labels.numel()
    model.train(was_training)
    matrix = confusion.view(num_classes, num_classes).cpu()
    per_class_total = matrix.sum(dim=1).clamp(min=1)
    correct = matrix.diagonal().sum().item()
    return EvalResult(
        loss=loss_sum.item() / max(count, 1),
        top1=correct / max(count, 1),
        top5=top5_hits.item() / max(count, 1),
        count=count,
        per_class=(matrix.diagonal() / per_class_total).tolist(),
        confusion=matrix.tolist(),
    )
