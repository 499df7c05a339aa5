"""Data-parallel training across processes with PyTorch's own DistributedDataParallel, as launched by torchrun.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE for every process it starts; gloo carries the gradients on CPUs, NCCL
on GPUs. The config's batch size is the global batch: each of N processes trains on batch_size / N rows of it, and
DDP averages the gradients, so the learning rate needs no scaling rule: N processes take the steps one process would.

Only rank 0 writes the run directory; the others train their shard, and the training statistics are summed over
all of them. Evaluation runs on rank 0 alone (the others wait), so every reported number is over the whole test set.
"""

from __future__ import annotations

import gc
import os
import re
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from resnetlab.errors import UserInputError

# gloo's errors start with the C++ source location that raised them: "[.../gloo/transport/tcp/pair.cc:561] ...".
_SOURCE_LOCATION = re.compile(r"^\[[^\]]*\]\s*")


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


class Parallel:
    """What the training loop asks of the processes it runs in: one process (every call a no-op) or a torchrun
    group (collectives over gloo or NCCL)."""

    def __init__(self, context: Distributed | None, device: torch.device) -> None:
        self.context = context
        self.device = device

    @property
    def active(self) -> bool:
        return self.context is not None

    @property
    def is_main(self) -> bool:
        return self.context is None or self.context.is_main

    @property
    def shard(self) -> tuple[int, int]:
        return (0, 1) if self.context is None else self.context.shard

    def wrap(self, model: nn.Module, *, sync_batchnorm: bool) -> nn.Module:
        return model if self.context is None else wrap(model, self.device, sync_batchnorm=sync_batchnorm)

    def sum_(self, values: torch.Tensor) -> torch.Tensor:
        """`values` summed over the processes, in place."""
        if self.context is not None:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def any(self, flag: bool) -> bool:
        """True on every process when it is true on one (a stop signal that reached some of them)."""
        if self.context is None:
            return flag
        return bool(self.sum_(torch.tensor([float(flag)], device=self.device)).item() > 0)

    def from_main(self, value: object) -> object:
        """Rank 0's `value`, on every process."""
        if self.context is None:
            return value
        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def check_same_weights(self, model: nn.Module) -> None:
        """DDP keeps every process's copy identical; a run that ends otherwise is a bug, not a result to save."""
        if self.context is None:
            return
        mine = torch.cat([p.detach().double().reshape(-1) for p in model.parameters()])  # channels_last: no view
        everyone = [torch.empty_like(mine) for _ in range(self.context.world_size)]
        dist.all_gather(everyone, mine)
        if not all(torch.equal(everyone[0], other) for other in everyone[1:]):
            raise RuntimeError("the processes ended training with different weights")

    def close(self) -> None:
        if self.context is not None and dist.is_initialized():
            # The DDP wrapper sits in reference cycles (its hooks point back at it), so it would otherwise outlive
            # the process group and be torn down at interpreter exit, after the C++ state its threads need: one
            # process in six then died with SIGABRT ("terminate called without an active exception") on exit.
            gc.collect()
            dist.destroy_process_group()


def parallel_for(device: torch.device) -> tuple[Parallel, torch.device]:
    """The Parallel of this process and its device (under torchrun with CUDA: the GPU of its LOCAL_RANK)."""
    context = from_environment()
    if context is None:
        return Parallel(None, device), device
    if device.type == "cuda":
        device = torch.device("cuda", context.local_rank)
    start(context, device)
    return Parallel(context, device), device


def lost_another_process(error: BaseException) -> str | None:
    """What went wrong, in one line, when `error` is a collective that failed because another training process is gone
    (killed or crashed mid-step); None for any other error, which keeps its traceback. NCCL and the rendezvous store
    raise `torch.distributed.DistError`; gloo raises a plain RuntimeError that names its own source files."""
    if not isinstance(error, RuntimeError) or from_environment() is None:
        return None
    text = str(error).strip()
    if not isinstance(error, dist.DistError) and "/gloo/" not in text:
        return None
    first_sentence = _SOURCE_LOCATION.sub("", text.splitlines()[0] if text else type(error).__name__).split(". ")[0]
    return first_sentence.rstrip(".")
