"""What a trained model is, beyond its weights: the network to build, its classes, and how pixels become its input.

Every trained model resnetlab hands around carries one `ModelRecord`: a run's checkpoints and its model.safetensors
store it, pretrained weights produce one (`PretrainedWeights.model_record`), and eval, predict, embed, explain and
export read it (`record.preprocess.input_size`, never a string key).

Why here, in models/: the record describes a model and needs nothing but torch, and pretrained-weight loading (this
package) reads it from a run's model.safetensors. The checkpoint *file* (its header, versions, SHA-256, the training
loop's state) is runs/checkpoint.py's business, and which file a source names is runs/weights.py's, one layer up;
models/ never imports upward.

`to_dict()` gives the layout checkpoints have stored since version 1 (`model_name`, `model_options`, `classes`,
`preprocess`, and the per-pixel mean beside them as `pixel_mean`), so files stay readable by older resnetlab;
`from_dict()` reads every version's layout back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import torch

from resnetlab.errors import UserInputError

Normalize = Literal["channel", "pixel_mean"]
RECORD_KEYS = ("model_name", "model_options", "classes", "preprocess")  # the plain-valued part, as stored


@dataclass(frozen=True)
class Preprocess:
    """How training turned uint8 pixels into the model's input; eval, predict and export must do the same."""

    normalize: Normalize  # "channel": (x/255 - mean) / std; "pixel_mean": x/255 - pixel_mean, no std ([R1] Sec. 4.2)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    input_size: tuple[int, int, int]  # channels, height, width
    # Shorter side to `resize`, then the centre crop (models trained on streamed folders, and ImageNet weights);
    # None: the image is resized to cover input_size and centre-cropped.
    resize: int | None = None
    # [R1]'s per-pixel mean of the training images (C x H x W, in [0, 1] units); needed when normalize is
    # "pixel_mean". Runs store it whatever their normalisation (older resnetlab reads it unconditionally).
    pixel_mean: torch.Tensor | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.normalize not in ("channel", "pixel_mean"):
            raise ValueError(f"normalize must be channel or pixel_mean, got {self.normalize!r}")
        if self.normalize == "pixel_mean" and self.pixel_mean is None:
            raise ValueError("per-pixel mean subtraction needs the pixel mean")

    def to_dict(self) -> dict[str, Any]:
        """The stored `preprocess` mapping (plain values; the pixel mean is stored beside it, see ModelRecord)."""
        return {
            "normalize": self.normalize,
            "mean": list(self.mean),
            "std": list(self.std),
            "input_size": list(self.input_size),
            "resize": self.resize,
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any], pixel_mean: torch.Tensor | None = None) -> Preprocess:
        channels, height, width = (int(v) for v in stored["input_size"])
        resize = stored.get("resize")  # absent from version 1 files: they predate streamed folders
        return cls(
            normalize=cast(Normalize, stored["normalize"]),
            mean=tuple(float(v) for v in stored["mean"]),
            std=tuple(float(v) for v in stored["std"]),
            input_size=(channels, height, width),
            resize=None if resize is None else int(resize),
            pixel_mean=pixel_mean,
        )


@dataclass(frozen=True)
class ModelRecord:
    """What it takes to rebuild a trained model and feed it: `create_model(model_name, **model_options)`, the
    names of its outputs, and its input preprocessing."""

    model_name: str
    model_options: dict[str, Any]  # as create_model takes them, num_classes and in_chans included
    classes: tuple[str, ...]
    preprocess: Preprocess

    def to_dict(self) -> dict[str, Any]:
        """The layout checkpoints store; `pixel_mean` (a tensor) only when the record has one."""
        stored: dict[str, Any] = {
            "model_name": self.model_name,
            "model_options": dict(self.model_options),
            "classes": list(self.classes),
            "preprocess": self.preprocess.to_dict(),
        }
        if self.preprocess.pixel_mean is not None:
            stored["pixel_mean"] = self.preprocess.pixel_mean
        return stored

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any], source: str | Path) -> ModelRecord:
        """The record in a checkpoint's (or model.safetensors') mapping; extra keys (weights, optimizer) are left."""
        missing = [key for key in RECORD_KEYS if key not in stored]
        if missing:
            raise UserInputError(f"{source} lacks {', '.join(missing)}: it is not a trained model's checkpoint")
        pixel_mean = stored.get("pixel_mean")
        try:
            return cls(
                model_name=str(stored["model_name"]),
                model_options=dict(stored["model_options"]),
                classes=tuple(str(name) for name in stored["classes"]),
                preprocess=Preprocess.from_dict(
                    stored["preprocess"], pixel_mean if isinstance(pixel_mean, torch.Tensor) else None
                ),
            )
        except (KeyError, TypeError, ValueError) as error:
            what = f"no {error}" if isinstance(error, KeyError) else str(error)
            raise UserInputError(f"{source} holds a malformed model record ({what})") from None

    def to_metadata(self) -> dict[str, str]:
        """The record as safetensors metadata (strings: one JSON value per key). The per-pixel mean does not travel
        there: such models are read from their checkpoint."""
        return {key: json.dumps(value) for key, value in self.to_dict().items() if key in RECORD_KEYS}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], source: str | Path) -> ModelRecord:
        try:
            stored = {key: json.loads(metadata[key]) for key in RECORD_KEYS if key in metadata}
        except json.JSONDecodeError as error:
            raise UserInputError(f"{source} holds a malformed model record ({error})") from None
        return cls.from_dict(stored, source)
