"""`resnetlab finetune`: the shipped recipe finetune/folder, with what the pretrained weights bring.

The recipe (a new head sized from the data, a backbone that learns ten times slower than the head, a short cosine
schedule: the usual recipe for a few hundred images per class) is package data; the weights add their network, their
own input size and normalisation, and how the images are decoded at that size. Every value lands in the run's
config.yaml, and any of them can be changed with --set.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from resnetlab.config import DataConfig, TrainConfig, load_recipe, validate
from resnetlab.errors import UserInputError
from resnetlab.models.pretrained import PretrainedWeights

RECIPE = "finetune/folder"


def finetune_config(weights: PretrainedWeights, data: Path, model: str | None, source: str) -> TrainConfig:
    """The config that fine-tunes `weights` (loaded from `source`) on the class-per-folder tree `data`."""
    name = model or weights.model_name
    if name is None:
        raise UserInputError(f"cannot tell which network {weights.source} is; name it with --model (e.g. resnet50)")
    recipe = load_recipe(RECIPE)
    options = {**recipe.model.options, **weights.model_options}
    config = dataclasses.replace(
        recipe,
        model=dataclasses.replace(recipe.model, name=name, init=source, options=options),
        data=_views(weights, dataclasses.replace(recipe.data, path=str(data))),
    )
    validate(config)
    return config


def _views(weights: PretrainedWeights, data: DataConfig) -> DataConfig:
    """The images as the weights saw them: their normalisation, at their input size."""
    data = dataclasses.replace(data, mean=[float(m) for m in weights.mean], std=[float(s) for s in weights.std])
    if weights.resize is None:
        # Weights trained on small fixed-size images (e.g. a CIFAR recipe): decode the folder at that size once,
        # and augment as the CIFAR recipe does (pad 4, random crop, flip).
        return dataclasses.replace(data, image_size=weights.input_size, storage="memory", augment="cifar")
    # ImageNet-style weights: streamed 224-px views. Training: shorter side to a random size in [resize, 1.25 *
    # resize], a random crop and its flip, mild colour jitter; evaluation: shorter side to `resize`, the centre crop,
    # as the weights were evaluated.
    return dataclasses.replace(
        data,
        storage="stream",
        augment="imagenet",
        crop_size=weights.input_size,
        scale_range=[weights.resize, round(1.25 * weights.resize)],
        eval_resize=weights.resize,
        color_jitter=0.2,
        lighting=0.0,
    )
