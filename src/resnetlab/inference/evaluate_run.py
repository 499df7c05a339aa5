"""`resnetlab eval`: a saved model on the test split of the data it was trained on (or other data with its classes)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from resnetlab.config import DataConfig, EvalView, ModelConfig, RuntimeConfig, TrainConfig, config_from_dict
from resnetlab.data import batches as make_batches
from resnetlab.data import guess_dataset, load_splits
from resnetlab.data.imageset import DataSplits, generator
from resnetlab.errors import UserInputError
from resnetlab.inference.evaluate import EvalResult, evaluate
from resnetlab.inference.optimize import optimize_for_inference
from resnetlab.inference.quantize import quantize_int8
from resnetlab.inference.trained import Trained, load_trained, trained_config
from resnetlab.runtime.device import check_precision, resolve_device
from resnetlab.runtime.paths import resolve_channels_last

EvalPrecision = Literal["auto", "fp32", "bf16", "fp16", "int8"]
CALIBRATION_IMAGES = 512  # enough to settle the activation ranges of a ResNet (int8 only)


@dataclass(frozen=True)
class TrainedOnData:
    """A trained model with the data it is to see, normalised with the statistics it was trained with."""

    config: TrainConfig
    trained: Trained
    data: DataConfig
    splits: DataSplits

    @property
    def device(self) -> torch.device:
        return next(self.trained.model.parameters()).device


def open_trained(
    source: Path | Trained,
    device: torch.device | None = None,
    *,
    data_path: str | None = None,
    view: EvalView | None = None,
) -> TrainedOnData:
    """A checkpoint (or run directory, or a model loaded from one) and its data (or other data with the same classes),
    on `device` (default: the run's own `runtime.device`, resolved on this machine)."""
    trained = load_trained(source, torch.device("cpu")) if isinstance(source, Path) else source
    config = _config_of(trained, data_path)
    trained.model.to(device or resolve_device(config.runtime.device))
    data = config.data
    # Other data than the run's: all of it is evaluated, or its own test split when it has one. The run's own data
    # keeps the run's test split (its training images are never scored).
    other = data_path is not None and (trained.config is None or not _same_path(data_path, data.path))
    if data_path is not None:
        data = dataclasses.replace(data, path=data_path, dataset=guess_dataset(Path(data_path)))
        if data.dataset != "folder":  # folder-only settings of the run do not apply to CIFAR or digits
            data = dataclasses.replace(data, augment="none", storage="auto", eval_view="center")
    if view is not None:
        data = dataclasses.replace(data, eval_view=view)
    splits = load_splits(data, whole=other)
    if list(splits.test.classes) != trained.classes:
        raise UserInputError(
            f"the data's classes ({', '.join(splits.test.classes[:5])}, ...) are not the checkpoint's "
            f"({', '.join(trained.classes[:5])}, ...); evaluate on data with the same classes"
        )
    # The statistics the model was trained with, not those of the data evaluated now.
    preprocess = trained.record.preprocess
    channels = splits.test.image_shape[0]
    if channels != preprocess.input_size[0]:
        raise UserInputError(
            f"the data's images have {channels} channel(s), the model takes {preprocess.input_size[0]}; evaluate on "
            "images like those it was trained on"
        )
    trained_statistics = dataclasses.replace(
        splits,
        mean=preprocess.mean,
        std=preprocess.std,
        pixel_mean=preprocess.pixel_mean if preprocess.pixel_mean is not None else splits.pixel_mean,
    )
    return TrainedOnData(config, trained, data, trained_statistics)


def _config_of(trained: Trained, data_path: str | None) -> TrainConfig:
    """A run's own config; for pretrained weights (no run behind them) with data to evaluate on, one made for it: the
    weights' network and normalisation, fp32 (the precision they were published in)."""
    if trained.config is not None or data_path is None:
        return config_from_dict(trained_config(trained))
    record = trained.record
    options = {k: v for k, v in record.model_options.items() if k not in ("num_classes", "in_chans")}
    preprocess = record.preprocess
    return TrainConfig(
        model=ModelConfig(name=record.model_name, options=options),
        data=DataConfig(
            dataset=guess_dataset(Path(data_path)),
            path=data_path,
            image_size=preprocess.input_size[-1],
            mean=list(preprocess.mean),
            std=list(preprocess.std),
        ),
        runtime=RuntimeConfig(precision="fp32"),
    )


def _same_path(path: str, run_path: str | None) -> bool:
    return run_path is not None and Path(path).resolve() == Path(run_path).resolve()


def sample_images(
    opened: TrainedOnData, split: Literal["train", "test"], count: int, purpose: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels): a random sample of `count` images of one split (seeded by the run's seed and `purpose`),
    single view, on the CPU, as the model sees them at evaluation: a class-sorted folder's first images would all be
    of one class."""
    images = opened.splits.train if split == "train" else opened.splits.test
    seed = opened.config.runtime.seed
    chosen = torch.randperm(len(images), generator=generator(purpose, seed))[:count]
    single_view = dataclasses.replace(opened.data, eval_view="center")
    stream = make_batches(
        single_view, opened.splits, images.subset(chosen), train=False, seed=seed, device=torch.device("cpu")
    )
    batches = list(stream.epoch(0))
    return torch.cat([images for images, _ in batches]), torch.cat([labels for _, labels in batches])


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
    trained = load_trained(path, torch.device("cpu"))
    config = _config_of(trained, data_path)
    # int8 kernels are CPU kernels (x86 backend).
    device = torch.device("cpu") if precision == "int8" else resolve_device(config.runtime.device)
    if precision != "int8":  # before the data is read: a wrong precision fails at once
        check_precision(device, precision or config.runtime.precision)
    opened = open_trained(trained, device, data_path=data_path, view=view)
    channels_last = resolve_channels_last(config.runtime.channels_last, device)  # concrete in a run's saved config
    batches = make_batches(
        opened.data,
        opened.splits,
        opened.splits.test,
        train=False,
        seed=config.runtime.seed,
        device=device,
        channels_last=channels_last,
    )
    model: nn.Module
    if precision == "int8":
        # In batches of 64: 512 ImageNet-sized images in one pass would take gigabytes of activations.
        # The run's own training images: never the images evaluated (other data may be evaluated whole).
        own = opened if data_path is None else open_trained(trained, device)
        calibration = sample_images(own, "train", CALIBRATION_IMAGES, "int8-calibration")[0].split(64)
        model = quantize_int8(opened.trained.model, calibration, channels_last=channels_last)
        if compile and getattr(model, "engine", "") == "pytorch":  # OpenVINO compiles its network itself
            model = torch.compile(model, dynamic=False)  # type: ignore[assignment]
    else:
        # As the run evaluated it: BN folded, the run's precision (unless overridden) and memory layout.
        model = optimize_for_inference(
            opened.trained.model,
            precision=precision or config.runtime.precision,
            channels_last=channels_last,
            compile=compile,
        )
    result = evaluate(model, batches.epoch(0), len(opened.trained.classes), device=device)
    return result, opened.trained.classes
