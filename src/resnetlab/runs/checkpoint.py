"""Checkpoints: written atomically, read without unpickling anything but tensors and plain values."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from resnetlab.errors import UserInputError
from resnetlab.models.pretrained import CHECKPOINT_FORMAT

FORMAT = CHECKPOINT_FORMAT
# Version 2 wraps the state in a payload whose SHA-256 travels with it, so damage that still unpickles (a flipped
# bit, a file cut short and padded by a copy tool) is caught on load. Version 1 files (no digest) still load.
VERSION = 2
PREVIOUS_SUFFIX = ".prev"  # `last.pt.prev`: the checkpoint before the latest, kept to fall back on


class NotACheckpointError(UserInputError):
    """A readable PyTorch file that is not one of resnetlab's checkpoints (a bare state dict, say)."""


class DamagedCheckpointError(UserInputError):
    """A checkpoint that cannot be read back as it was written."""


class CheckpointFallbackWarning(UserWarning):
    """The latest checkpoint was damaged; the previous one is used instead."""


def previous_path(path: Path) -> Path:
    return path.with_name(path.name + PREVIOUS_SUFFIX)


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write to a temporary file in the same directory, flush it to disk, then rename over `path`.

    A rename within one file system is atomic, so a crash at any moment leaves either the old or the new file; the
    old one also stays as `path.prev` (hard-linked before the rename, so `path` itself never goes missing).
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    wrapped = {
        "format": FORMAT,
        "version": VERSION,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8),
    }
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "wb") as handle:
            torch.save(wrapped, handle)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            _keep_previous(path)
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        path.with_name(f".{path.name}.prev.partial").unlink(missing_ok=True)
        kept = f"; {path} still holds the previous checkpoint" if path.exists() else ""
        raise UserInputError(f"cannot write checkpoint {path}: {error.strerror or error}{kept}") from None


def _keep_previous(path: Path) -> None:
    linked = path.with_name(f".{path.name}.prev.partial")
    linked.unlink(missing_ok=True)
    try:
        os.link(path, linked)  # no copy: the same bytes under a second name
    except OSError:  # a file system without hard links
        shutil.copy2(path, linked)
    linked.replace(previous_path(path))


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserInputError(f"checkpoint {path} does not exist")
    state = _safe_load(path, path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise NotACheckpointError(f"{path} is not a resnetlab checkpoint (no '{FORMAT}' header)")
    if state.get("version", 1) < 2:
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
    return {"format": FORMAT, "version": state["version"], **inner}


def load_checkpoint_or_previous(path: Path) -> dict[str, Any]:
    """The checkpoint at `path`, or, when it is damaged or missing, the one before it (with a warning)."""
    previous = previous_path(path)
    try:
        return load_checkpoint(path)
    except (DamagedCheckpointError, UserInputError) as error:
        if isinstance(error, NotACheckpointError) or not previous.is_file():
            raise
        warnings.warn(
            f"{error}; continuing from the checkpoint before it, {previous}", CheckpointFallbackWarning, stacklevel=2
        )
        return load_checkpoint(previous)


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


def export_weights(model_state: dict[str, torch.Tensor], path: Path, metadata: dict[str, Any]) -> None:
    """Model weights alone as safetensors (no pickle at all), with the model's recipe as string metadata."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in model_state.items()}
    partial = path.with_name(f".{path.name}.partial")
    save_file(tensors, str(partial), metadata={key: json.dumps(value) for key, value in metadata.items()})
    partial.replace(path)
