"""What a run is built from before its first step: seeds, then data and model, on every process alike; the batch
streams; and the model as evaluation runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from resnetlab.config import TrainConfig
from resnetlab.data import BatchStream, DataSplits, FileSet, FileStream, ImageSet, batches, load_splits
from resnetlab.data.shard import check_batches_shard
from resnetlab.errors import UserInputError
from resnetlab.inference.optimize import optimize_for_inference
from resnetlab.models import model_entry
from resnetlab.models.pretrained import PretrainedWeights
from resnetlab.runtime.device import autocast, resolve_device
from resnetlab.runtime.distributed import Parallel, parallel_for, per_process_batch
from resnetlab.runtime.paths import resolve_channels_last
from resnetlab.train.build import build_model, seed_everything


@dataclass(frozen=True)
class Setup:
    device: torch.device
    splits: DataSplits
    model: nn.Module
    parallel: Parallel


def prepare(config: TrainConfig, *, resuming: bool = False, init_weights: PretrainedWeights | None = None) -> Setup:
    """Seed, then data and model: the same order on every start, so a run is reproducible from its config."""
    seed_everything(config.runtime.seed)
    parallel, device = parallel_for(resolve_device(config.runtime.device))  # a torchrun process joins its group
    autocast(device, config.runtime.precision)  # refuses bf16 where it is unsupported, before anything is written
    model_entry(config.model.name)  # an unknown name fails before the data is read
    splits = load_splits(config.data)
    if parallel.context is not None:  # the global batch must share out evenly, in every batch
        per_process_batch(config.data.batch_size, parallel.context)
        check_batches_shard(len(splits.train), config.data.batch_size, parallel.shard)
    # A resumed run's weights come from its checkpoint: the initial weights (model.init) are not read again.
    model = build_model(config, splits.train, load_init=not resuming, init_weights=init_weights)
    channels_last = resolve_channels_last(config.runtime.channels_last, device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model.to(device)
    if device.type == "cuda" and not config.runtime.deterministic:
        torch.backends.cudnn.benchmark = True  # fixed input shapes: the fastest convolution kernels, found once
    return Setup(device, splits, model.to(memory_format=memory_format), parallel)


def initial_model(config: TrainConfig) -> nn.Module:
    """The network a run of `config` started from, rebuilt on the CPU: the same seeding, data and construction as
    `prepare`, so the same initial weights (tests/train/test_prepare.py compares them with a run's)."""
    seed_everything(config.runtime.seed)
    model_entry(config.model.name)
    splits = load_splits(config.data)
    return build_model(config, splits.train, load_init=True)


def on_main(parallel: Parallel, make: Callable[[], Path]) -> Path:
    """`make()` on rank 0, its result (or its one-line error) on every process."""
    outcome: tuple[str, object]
    if parallel.is_main:
        try:
            outcome = ("ok", make())
        except UserInputError as error:
            outcome = ("error", str(error))
            parallel.from_main(outcome)
            raise
    else:
        outcome = ("waiting", None)
    shared = parallel.from_main(outcome)
    assert isinstance(shared, tuple)
    if shared[0] == "error":
        raise UserInputError(str(shared[1]))
    return Path(str(shared[1]))


def stream(
    config: TrainConfig,
    splits: DataSplits,
    data: ImageSet | FileSet,
    device: torch.device,
    *,
    train: bool,
    shard: tuple[int, int] = (0, 1),
) -> BatchStream | FileStream:
    return batches(
        config.data,
        splits,
        data,
        train=train,
        seed=config.runtime.seed,
        device=device,
        channels_last=resolve_channels_last(config.runtime.channels_last, device),
        shard=shard,
    )


def for_inference(model: nn.Module, config: TrainConfig) -> nn.Module:
    """The model as `eval` and `predict` will run it (BN folded, the run's precision and layout), so the accuracy a
    run reports is the one they reproduce."""
    device = next(model.parameters()).device
    channels_last = resolve_channels_last(config.runtime.channels_last, device)
    return optimize_for_inference(model, precision=config.runtime.precision, channels_last=channels_last)
