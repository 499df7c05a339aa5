"""Checkpoints: written atomically, read without unpickling anything but tensors and plain values."""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from resnetlab.errors import UserInputError
from resnetlab.models.pretrained import CHECKPOINT_FORMAT

FORMAT = CHECKPOINT_FORMAT
VERSION = 1


class NotACheckpointError(UserInputError):
    """A readable PyTorch file that is not one of resnetlab's checkpoints (a bare state dict, say)."""


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write to a temporary file in the same directory, flush it to disk, then rename over `path`.

    A rename within one file system is atomic, so a crash at any moment leaves either the old or the new file.
    """
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "wb") as handle:
            torch.save({"format": FORMAT, "version": VERSION, **state}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        kept = f"; {path} still holds the previous checkpoint" if path.exists() else ""
        raise UserInputError(f"cannot write checkpoint {path}: {error.strerror or error}{kept}") from None


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserInputError(f"checkpoint {path} does not exist")
    try:
        # weights_only: tensors, containers and plain values only; a checkpoint that carries code is refused.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        unsafe = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
        if unsafe is None:  # not a pickle torch can read at all: a text file, a truncated write
            raise UserInputError(f"checkpoint {path} is damaged or not a PyTorch file") from None
        raise UserInputError(
            f"refusing to load {path}: it holds more than tensors and plain values (a pickled {unsafe.group(1)})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise UserInputError(f"checkpoint {path} is damaged or not a PyTorch file ({type(error).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise NotACheckpointError(f"{path} is not a resnetlab checkpoint (no '{FORMAT}' header)")
    return state


def export_weights(model_state: dict[str, torch.Tensor], path: Path, metadata: dict[str, Any]) -> None:
    """Model weights alone as safetensors (no pickle at all), with the model's recipe as string metadata."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in model_state.items()}
    partial = path.with_name(f".{path.name}.partial")
    save_file(tensors, str(partial), metadata={key: json.dumps(value) for key, value in metadata.items()})
    partial.replace(path)
