"""Checkpoints: the file format (written atomically, digest-checked, versioned, read without unpickling anything but
tensors and plain values) and the typed records a checkpoint carries.

A checkpoint file is a header (`format`, `version`) around the stored mapping. Version 2 wraps that mapping in a
payload whose SHA-256 travels with it, so damage that still unpickles (a flipped bit, a file cut short and padded by a
copy tool) is caught on load; version 1 files (the mapping beside the header, no digest) still load. A version this
resnetlab does not know is refused, never read as if it were one it knows.

The stored mapping's layout is the one version 1 introduced, kept so files stay readable by older resnetlab; code
reads it through records, never by string keys:

- `ModelRecord` (models/record.py): what the model is and how to feed it; `SavedModel` adds its weights and the
  run's config: all that eval, predict and export need.
- `TrainingCheckpoint`: a SavedModel plus what resuming needs: the optimizer, the AMP scaler, the EMA state and where
  the loop stood (epoch, batch, iteration, warm-up, best accuracy, running sums, random state), which the loop's own
  state type reads and writes (train/running.py's `Position`).

Which file a source names (a run folder, a checkpoint, pretrained weights) is decided in runs/weights.py.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import shutil
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

import resnetlab.files as files
from resnetlab.errors import UserInputError
from resnetlab.models.record import RECORD_KEYS, ModelRecord

FORMAT = "resnetlab-checkpoint"  # the header that tells a resnetlab checkpoint from any other PyTorch file
VERSION = 2  # the version written, and the newest read
PREVIOUS_SUFFIX = ".prev"  # `last.pt.prev`: the checkpoint before the latest, kept to fall back on


class NotACheckpointError(UserInputError):
    """A readable PyTorch file that is not one of resnetlab's checkpoints (a bare state dict, say)."""


class DamagedCheckpointError(UserInputError):
    """A checkpoint that cannot be read back as it was written."""


class UnreadableVersionError(UserInputError):
    """A checkpoint of a version this resnetlab cannot read (written by a newer one)."""


class CheckpointFallbackWarning(UserWarning):
    """The latest checkpoint was damaged; the previous one is used instead."""


# --- the records ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # weights are tensors: compare them with torch.equal
class SavedModel:
    """A trained model as a checkpoint stores it: its record, the weights eval and predict use, the run's config."""

    record: ModelRecord
    weights: dict[str, torch.Tensor] = field(repr=False)  # stored as "model"; with EMA, the averaged weights
    # The run's TrainConfig as config_to_dict wrote it (None: a model-only file). Parsed where it is used
    # (config_from_dict), so that a config an older resnetlab wrote does not stop predict from reading the model.
    config: dict[str, Any] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        stored = {**self.record.to_dict(), "model": self.weights}
        return stored if self.config is None else {**stored, "config": self.config}

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any], source: str | Path) -> SavedModel:
        missing = [key for key in (*RECORD_KEYS, "model") if key not in stored]
        if missing:
            raise UserInputError(f"{source} lacks {', '.join(missing)}: it is not a trained model's checkpoint")
        weights, config = stored["model"], stored.get("config")
        if not isinstance(weights, Mapping) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
            raise UserInputError(f"{source} holds no weights (a mapping of parameter names to tensors) as its model")
        return cls(
            ModelRecord.from_dict(stored, source), dict(weights), dict(config) if isinstance(config, Mapping) else None
        )


@dataclass(frozen=True, eq=False)  # weights are tensors: compare them with torch.equal
class TrainingCheckpoint:
    """Everything `resume` needs to continue a run exactly: the saved model and the training state around it."""

    model: SavedModel
    # Where the training loop stood, as stored: {"progress": {...}, "rng": {...}}. Read and written by the loop's own
    # state type (train/running.py's `Position.to_dict` / `from_dict`), the one set of types for it, live and saved.
    loop: dict[str, Any] = field(repr=False)
    optimizer: dict[str, Any] = field(repr=False)
    scaler: dict[str, Any] | None = field(default=None, repr=False)  # the AMP loss scaler (fp16)
    # With EMA, `model.weights` are the average; training continues from these (stored as "trained_model"), and the
    # average's own counters are in `average`. None without EMA.
    trained_weights: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    average: dict[str, Any] | None = field(default=None, repr=False)
    source: str = ""  # the file it was read from, for the errors that name it

    def to_dict(self) -> dict[str, Any]:
        stored = {**self.model.to_dict(), **self.loop, "optimizer": self.optimizer}
        optional = {"scaler": self.scaler, "trained_model": self.trained_weights, "average": self.average}
        return {**stored, **{key: value for key, value in optional.items() if value is not None}}

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any], source: str | Path) -> TrainingCheckpoint:
        model = SavedModel.from_dict(stored, source)
        missing = [key for key in ("optimizer", "progress", "rng") if key not in stored]
        if missing:
            raise UserInputError(f"{source} lacks {', '.join(missing)}: it is not a checkpoint a run can resume from")
        _check_loop(stored, source)
        return cls(
            model,
            {"progress": stored["progress"], "rng": stored["rng"]},
            stored["optimizer"],
            stored.get("scaler"),
            stored.get("trained_model"),
            stored.get("average"),
            str(source),
        )


# Where the loop stood, as every version stores it: checked when the file is read, so that a malformed one is one line
# before any data is loaded (train/running.py's Position reads the values).
LOOP_KEYS = ("epoch", "batch", "iteration", "warming_up", "best_top1")


def _check_loop(stored: Mapping[str, Any], source: str | Path) -> None:
    progress, rng = stored["progress"], stored["rng"]
    if not isinstance(progress, Mapping) or not isinstance(rng, Mapping):
        raise UserInputError(f"{source} holds a malformed training state (progress and rng must be mappings)")
    missing = [key for key in LOOP_KEYS if key not in progress] + (["rng.torch"] if "torch" not in rng else [])
    if missing:
        raise UserInputError(f"{source} holds a malformed training state (KeyError: {', '.join(missing)})")


# --- the file ---------------------------------------------------------------------------------------------------------


def previous_path(path: Path) -> Path:
    return path.with_name(path.name + PREVIOUS_SUFFIX)


def save_checkpoint(state: Mapping[str, Any], path: Path) -> None:
    """Write `state` (a record's `to_dict()`) to a temporary file in the same directory, flush it to disk, then rename
    it over `path`.

    A rename within one file system is atomic, so a crash at any moment leaves either the old or the new file; the
    old one also stays as `path.prev` (hard-linked before the rename, so `path` itself never goes missing).
    """
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    payload = buffer.getvalue()
    wrapped = {
        "format": FORMAT,
        "version": VERSION,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8),
    }
    try:
        with files.written(path) as partial:
            with open(partial, "wb") as handle:
                torch.save(wrapped, handle)
                handle.flush()
                os.fsync(handle.fileno())  # on disk before the rename makes it the checkpoint
            if path.exists():
                _keep_previous(path)
    except OSError as error:
        kept = f"; {path} still holds the previous checkpoint" if path.exists() else ""
        raise UserInputError(f"cannot write checkpoint {path}: {error.strerror or error}{kept}") from None


def _keep_previous(path: Path) -> None:
    with files.written(previous_path(path)) as linked:
        try:
            os.link(path, linked)  # no copy: the same bytes under a second name
        except OSError:  # a file system without hard links
            shutil.copy2(path, linked)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The mapping stored in the checkpoint at `path` (with its `format` and `version`), checked against its digest.
    resnetlab reads it through the records above (`read_model`, `read_training_checkpoint`)."""
    if not path.is_file():
        raise UserInputError(f"checkpoint {path} does not exist")
    state = _safe_load(path, path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise NotACheckpointError(f"{path} is not a resnetlab checkpoint (no '{FORMAT}' header)")
    version = state.get("version", 1)
    if type(version) is int and version > VERSION:
        raise UnreadableVersionError(
            f"checkpoint {path} has version {version}, written by a newer resnetlab (this one reads versions up to "
            f"{VERSION}); upgrade resnetlab"
        )
    if type(version) is not int or version < 1:
        raise UnreadableVersionError(
            f"checkpoint {path} has an unknown version ({version!r}); this resnetlab reads versions 1 to {VERSION}"
        )
    if version == 1:
        return state
    payload = state.get("payload")
    if not isinstance(payload, torch.Tensor) or not isinstance(state.get("sha256"), str):
        raise DamagedCheckpointError(f"checkpoint {path} is damaged (its payload or digest is missing)")
    data = payload.numpy().tobytes()
    if hashlib.sha256(data).hexdigest() != state["sha256"]:
        raise DamagedCheckpointError(f"checkpoint {path} is damaged (its content does not match its SHA-256)")
    inner = _safe_load(io.BytesIO(data), path)
    if not isinstance(inner, dict):
        raise DamagedCheckpointError(f"checkpoint {path} is damaged (its payload is not a mapping)")
    return {**inner, "format": FORMAT, "version": version}


def load_checkpoint_or_previous(path: Path) -> dict[str, Any]:
    """The checkpoint at `path`, or, when it is damaged or missing, the one before it (with a warning)."""
    previous = previous_path(path)
    try:
        return load_checkpoint(path)
    except UserInputError as error:
        # Not a checkpoint, or one of a newer version: the file is what it is, and an older one would hide that.
        if isinstance(error, (NotACheckpointError, UnreadableVersionError)) or not previous.is_file():
            raise
        warnings.warn(
            f"{error}; continuing from the checkpoint before it, {previous}", CheckpointFallbackWarning, stacklevel=2
        )
        return load_checkpoint(previous)


def read_model(path: Path) -> SavedModel:
    """The trained model in the checkpoint at `path` (any checkpoint: a run's last.pt or best.pt, a model-only file)."""
    return SavedModel.from_dict(load_checkpoint(path), path)


def read_training_checkpoint(path: Path) -> TrainingCheckpoint:
    """The state a run resumes from: the checkpoint at `path`, or the one before it when that is damaged."""
    return TrainingCheckpoint.from_dict(load_checkpoint_or_previous(path), path)


def _safe_load(source: Path | io.BytesIO, path: Path) -> Any:
    try:
        # weights_only: tensors, containers and plain values only; a checkpoint that carries code is refused.
        return torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        unsafe = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
        if unsafe is None:  # not a pickle torch can read at all: a text file, a truncated write
            raise DamagedCheckpointError(f"checkpoint {path} is damaged or not a PyTorch file") from None
        raise UserInputError(
            f"refusing to load {path}: it holds more than tensors and plain values (a pickled {unsafe.group(1)})"
        ) from None
    except Exception as error:  # the unpickler meets garbage as KeyError, IndexError, EOFError, RuntimeError, ...
        raise DamagedCheckpointError(
            f"checkpoint {path} is damaged or not a PyTorch file ({type(error).__name__})"
        ) from None


def export_weights(model_state: Mapping[str, torch.Tensor], path: Path, record: ModelRecord) -> None:
    """Model weights alone as safetensors (no pickle at all), with the model's record as string metadata."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in model_state.items()}
    with files.written(path) as partial:
        save_file(tensors, str(partial), metadata=record.to_metadata())
