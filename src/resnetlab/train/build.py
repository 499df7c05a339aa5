"""What a run is built from: its resolved config, the seeds, and the network sized from the data."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import torch
from torch import nn

from resnetlab.config import TrainConfig
from resnetlab.data import DataSplits, FileSet, ImageSet
from resnetlab.errors import UserInputError
from resnetlab.models import create_model
from resnetlab.models.pretrained import PretrainedWeights, load_into
from resnetlab.models.record import ModelRecord, Preprocess
from resnetlab.runs.weights import load_weights
from resnetlab.runtime.device import resolve_device, resolve_precision
from resnetlab.runtime.paths import resolve_channels_last
from resnetlab.train.freeze import freeze_stages


def resolved_config(config: TrainConfig) -> TrainConfig:
    """Paths made absolute (the saved config must find the data and the initial weights from any directory), and
    precision and memory format "auto" made concrete (the record says what ran)."""
    data, runtime = config.data, config.runtime
    device = resolve_device(runtime.device)
    precision = resolve_precision(device, runtime.precision)
    channels_last = resolve_channels_last(runtime.channels_last, device)
    path = str(Path(data.path).expanduser().resolve()) if data.path is not None else None
    cache = str(Path(data.cache_dir).expanduser().resolve()) if data.cache_dir is not None else None
    out_dir = str(Path(runtime.out_dir).expanduser().resolve())
    init = config.model.init
    if init is not None and not init.startswith(("torchvision:", "timm:")):
        init = str(Path(init).expanduser().resolve())
    return dataclasses.replace(
        config,
        model=dataclasses.replace(config.model, init=init),
        data=dataclasses.replace(data, path=path, cache_dir=cache),
        runtime=dataclasses.replace(runtime, out_dir=out_dir, precision=precision, channels_last=channels_last),
    )


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(
    config: TrainConfig,
    train_set: ImageSet | FileSet,
    *,
    load_init: bool = True,
    init_weights: PretrainedWeights | None = None,
) -> nn.Module:
    """The configured network, sized from the data: classes and input channels come from the dataset.

    With model.init, the pretrained weights (`init_weights` when the caller has loaded them already); their head is
    kept only when their class names are the data's, so new classes start from a fresh head.
    """
    options = dict(config.model.options)
    num_classes, in_chans = len(train_set.classes), train_set.image_shape[0]
    for key, from_data in (("num_classes", num_classes), ("in_chans", in_chans)):
        if options.setdefault(key, from_data) != from_data:
            raise UserInputError(f"model.options.{key}={options[key]} but the data has {from_data}; drop the option")
    model = create_model(config.model.name, **options)
    if config.model.init is not None and load_init:
        weights = init_weights or load_weights(config.model.init)
        load_into(model, weights, config.model.name, keep_head=weights.classes == list(train_set.classes))
    freeze_stages(model, config.model.freeze_stages)
    return model


def model_record(config: TrainConfig, splits: DataSplits) -> ModelRecord:
    """What it takes to rebuild and feed the model later (eval, predict, export), stored in every checkpoint."""
    channels, height, width = splits.train.image_shape
    # Streamed images at their native size were seen through the centre view: shorter side to eval_resize first.
    centre_view = isinstance(splits.train, FileSet) and config.data.image_size is None
    return ModelRecord(
        model_name=config.model.name,
        model_options={**config.model.options, "num_classes": len(splits.train.classes), "in_chans": channels},
        classes=tuple(splits.train.classes),
        preprocess=Preprocess(
            normalize=config.data.normalize,
            mean=tuple(splits.mean),
            std=tuple(splits.std),
            input_size=(channels, height, width),
            resize=config.data.eval_resize if centre_view else None,
            pixel_mean=splits.pixel_mean,
        ),
    )
