"""Running state of the training loop that checkpoints carry: loss and error sums, random generators."""

from __future__ import annotations

from typing import Any

import torch

from resnetlab.runtime.distributed import Parallel


class RunningSums:
    """Running training loss and error on the device: adding costs no host sync, reading costs one."""

    def __init__(self, device: torch.device) -> None:
        self.loss = torch.zeros((), dtype=torch.float64, device=device)
        self.errors = torch.zeros((), dtype=torch.int64, device=device)
        self.count = 0

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.loss += loss.detach().double() * labels.numel()
        self.errors += (logits.detach().argmax(dim=1) != labels).sum()
        self.count += labels.numel()

    def read(self, parallel: Parallel | None = None) -> tuple[float, float, int]:
        """Mean loss, error and count, over every process's share of the batches."""
        if parallel is None or not parallel.active:
            count = max(self.count, 1)
            return self.loss.item() / count, self.errors.item() / count, self.count
        totals = torch.stack(
            [self.loss, self.errors.double(), torch.tensor(float(self.count), device=self.loss.device)]
        )
        loss, errors, count = parallel.sum_(totals).tolist()
        return loss / max(count, 1), errors / max(count, 1), int(count)

    def reset(self) -> None:
        self.loss.zero_()
        self.errors.zero_()
        self.count = 0

    def state(self) -> dict[str, float | int]:
        return {"loss": self.loss.item(), "errors": int(self.errors.item()), "count": self.count}

    def load(self, state: dict[str, float | int]) -> None:
        self.loss.fill_(state["loss"])
        self.errors.fill_(int(state["errors"]))
        self.count = int(state["count"])


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()  # shortcut dropout draws from the CUDA generator there
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
