"""`resnetlab finetune`: the transfer-learning recipe, as config values on top of the defaults.

A new head sized from the data, the pretrained weights' own input size and normalisation, a backbone that learns ten
times slower than the head, and a short cosine schedule: the usual recipe for a few hundred images per class. Every
value lands in the run's config.yaml, and any of them can be changed with --set.
"""

from __future__ import annotations

import json
from pathlib import Path

from resnetlab.errors import UserInputError
from resnetlab.models.pretrained import PretrainedWeights

FINETUNE_EPOCHS = 10
FINETUNE_LR = 0.01  # for the head; the backbone gets FINETUNE_LR * BACKBONE_LR_SCALE
BACKBONE_LR_SCALE = 0.1
FINETUNE_BATCH_SIZE = 32


def finetune_overrides(weights: PretrainedWeights, data: Path, model: str | None, source: str) -> list[str]:
    """Config overrides that fine-tune `weights` (loaded from `source`) on the class-per-folder tree `data`."""
    name = model or weights.model_name
    if name is None:
        raise UserInputError(f"cannot tell which network {weights.source} is; name it with --model (e.g. resnet50)")
    values: dict[str, object] = {
        "model.name": name,
        "model.init": source,
        "data.dataset": "folder",
        "data.path": str(data),
        "data.mean": list(weights.mean),
        "data.std": list(weights.std),
        "data.normalize": "channel",
        "data.batch_size": FINETUNE_BATCH_SIZE,
        "data.eval_batch_size": 64,
        "optim.lr": FINETUNE_LR,
        "optim.backbone_lr_scale": BACKBONE_LR_SCALE,
        "optim.weight_decay": 1e-4,
        "optim.nesterov": True,
        "schedule.kind": "cosine",
        "schedule.unit": "epoch",
        "schedule.length": FINETUNE_EPOCHS,
    }
    for key, value in weights.model_options.items():
        values[f"model.options.{key}"] = value
    if weights.resize is None:
        # Weights trained on small fixed-size images (e.g. a CIFAR recipe): decode the folder at that size once,
        # and augment as the CIFAR recipe does (pad 4, random crop, flip).
        values.update({"data.image_size": weights.input_size, "data.storage": "memory", "data.augment": "cifar"})
    else:
        # ImageNet-style weights: streamed 224-px views. Training: shorter side to a random size in
        # [resize, 1.25 * resize], a random crop and its flip, mild colour jitter; evaluation: shorter side to
        # `resize`, the centre crop, as the weights were evaluated.
        values.update(
            {
                "data.storage": "stream",
                "data.augment": "imagenet",
                "data.crop_size": weights.input_size,
                "data.scale_range": [weights.resize, round(1.25 * weights.resize)],
                "data.eval_resize": weights.resize,
                "data.color_jitter": 0.2,
                "data.lighting": 0.0,
            }
        )
    return [f"{key}={json.dumps(value)}" for key, value in values.items()]
