"""Data-parallel training across processes with PyTorch's own DistributedDataParallel, as launched by torchrun.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE for every process it starts; gloo carries the gradients on CPUs, NCCL
on GPUs. The config's batch size is the global batch: each of N processes trains on batch_size / N rows of it, and
DDP averages the gradients, so the learning rate needs no scaling rule: N processes take the steps one process would.

Status: the pieces below (environment, process group, sharded batches, the wrapped model) are tested with two gloo
processes; the training loop does not use them yet (rank-0-only writing and metric reduction are the next step).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from resnetlab.errors import UserInputError


@dataclass(frozen=True)
class Distributed:
    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the run directory: logs, checkpoints, plots."""
        return self.rank == 0

    @property
    def shard(self) -> tuple[int, int]:
        return self.rank, self.world_size


def from_environment() -> Distributed | None:
    """The torchrun process this is, or None when running as a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return None
    try:
        return Distributed(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    except (KeyError, ValueError):
        raise UserInputError("WORLD_SIZE is set but RANK is not a number; launch with torchrun") from None


def per_process_batch(global_batch: int, context: Distributed) -> int:
    if global_batch % context.world_size:
        raise UserInputError(
            f"data.batch_size={global_batch} (the global batch) must divide evenly over {context.world_size} "
            f"processes; use a multiple of {context.world_size}"
        )
    return global_batch // context.world_size


def start(context: Distributed, device: torch.device) -> None:
    """Join the process group: gloo on CPU, NCCL on CUDA (one GPU per process, chosen by LOCAL_RANK)."""
    if device.type == "cuda":
        torch.cuda.set_device(context.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def wrap(model: nn.Module, device: torch.device, *, sync_batchnorm: bool) -> nn.Module:
    """DistributedDataParallel around `model`; with `sync_batchnorm`, BN normalises with the global batch's
    statistics, which makes N processes compute exactly what one process on the whole batch would."""
    if sync_batchnorm:
        if device.type != "cuda":  # PyTorch's SyncBatchNorm runs on GPUs only
            raise UserInputError("runtime.sync_batchnorm needs CUDA devices; on CPUs each process normalises its shard")
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
