"""`resnetlab eval`: a saved model on the test split of the data it was trained on (or other data with its classes)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from resnetlab.data import batches as make_batches
from resnetlab.data import guess_dataset, load_splits
from resnetlab.data.fileset import FileSet
from resnetlab.data.imageset import DataSplits, ImageSet, generator
from resnetlab.engine.config import DataConfig, EvalView, config_from_dict
from resnetlab.engine.device import resolve_device
from resnetlab.engine.evaluate import EvalResult, evaluate
from resnetlab.engine.inference import optimize_for_inference
from resnetlab.engine.predict import load_trained, load_trained_config
from resnetlab.engine.quantize import quantize_int8
from resnetlab.errors import UserInputError

EvalPrecision = Literal["auto", "fp32", "bf16", "fp16", "int8"]
CALIBRATION_IMAGES = 512  # enough to settle the activation ranges of a ResNet (int8 only)


def evaluate_checkpoint(
    path: Path,
    *,
    data_path: str | None = None,
    view: EvalView | None = None,
    compile: bool = False,
    precision: EvalPrecision | None = None,
) -> tuple[EvalResult, list[str]]:
    """`view` overrides the run's data.eval_view (e.g. "flip" for test-time augmentation); `compile` runs the model
    through torch.compile (pays off on large test sets: compiling takes seconds to minutes); `precision` overrides the
    run's, "int8" quantizes the model, calibrated on training images (CPU only)."""
    config = config_from_dict(load_trained_config(path))
    device = torch.device("cpu") if precision == "int8" else resolve_device(config.runtime.device)
    trained = load_trained(path, device)
    data = config.data
    if data_path is not None:  # other data: its own kind, the run's split settings
        data = dataclasses.replace(data, path=data_path, dataset=guess_dataset(Path(data_path)))
        if data.dataset != "folder":  # folder-only settings of the run do not apply to CIFAR or digits
            data = dataclasses.replace(data, augment="none", storage="auto", eval_view="center")
    if view is not None:
        data = dataclasses.replace(data, eval_view=view)
    splits = load_splits(data)
    if list(splits.test.classes) != trained.classes:
        raise UserInputError(
            f"the data's classes ({', '.join(splits.test.classes[:5])}, ...) are not the checkpoint's "
            f"({', '.join(trained.classes[:5])}, ...); evaluate on data with the same classes"
        )
    # The statistics the model was trained with, not those of the data evaluated now.
    preprocess = trained.checkpoint["preprocess"]
    trained_statistics = dataclasses.replace(
        splits,
        mean=tuple(preprocess["mean"]),
        std=tuple(preprocess["std"]),
        pixel_mean=trained.checkpoint["pixel_mean"],
    )
    batches = make_batches(
        data,
        trained_statistics,
        splits.test,
        train=False,
        seed=config.runtime.seed,
        device=device,
        channels_last=config.runtime.channels_last,
    )
    model: nn.Module
    if precision == "int8":
        calibration = _calibration_images(data, trained_statistics, splits.train, config.runtime.seed)
        model = quantize_int8(trained.model, calibration, channels_last=config.runtime.channels_last)
        if compile:
            model = torch.compile(model, dynamic=False)  # type: ignore[assignment]
    else:
        # As the run evaluated it: BN folded, the run's precision (unless overridden) and memory layout.
        model = optimize_for_inference(
            trained.model,
            precision=precision or config.runtime.precision,
            channels_last=config.runtime.channels_last,
            compile=compile,
        )
    result = evaluate(model, batches.epoch(0), len(trained.classes), device=device)
    return result, trained.classes


def _calibration_images(
    data: DataConfig, statistics: DataSplits, train: ImageSet | FileSet, seed: int
) -> list[torch.Tensor]:
    """A random sample of the training split (not the test images), as the model sees them at evaluation."""
    chosen = torch.randperm(len(train), generator=generator("int8-calibration", seed))[:CALIBRATION_IMAGES]
    single_view = dataclasses.replace(data, eval_view="center")
    stream = make_batches(
        single_view, statistics, train.subset(chosen), train=False, seed=seed, device=torch.device("cpu")
    )
    return [images for images, _ in stream.epoch(0)]
