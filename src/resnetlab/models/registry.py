"""The model registry: one name per network, each backed by a `ResNetSpec`."""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from resnetlab.errors import UserInputError
from resnetlab.models.features import FeatureExtractor
from resnetlab.models.network import ResNet
from resnetlab.models.spec import ResNetSpec


class UnknownModelError(UserInputError):
    """A model name that is not registered."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    spec: ResNetSpec
    source: str  # where the architecture comes from, e.g. "[R1] Table 1"


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, spec: ResNetSpec, *, source: str) -> None:
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is registered twice")
    _REGISTRY[name] = ModelEntry(name, spec, source)


def list_models(pattern: str = "*") -> list[str]:
    """Registered names matching a shell-style pattern (`"cifar_*"`, `"resnet*"`), sorted by family and depth."""
    return sorted((n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern)), key=_natural_key)


def model_entry(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=5, cutoff=0.5)
        hint = f"closest: {', '.join(close)}" if close else "see `resnetlab models` for the list"
        raise UnknownModelError(f"unknown model {name!r}; {hint}") from None


def create_model(
    name: str,
    *,
    features_only: bool = False,
    out_indices: Sequence[int] | None = None,
    **options: Any,
) -> nn.Module:
    """Build a registered network, e.g. `create_model("cifar_resnet20", shortcut="B", num_classes=100)`.

    Options are the fields of `ResNetSpec` a user may change (`num_classes`, `in_chans`, `shortcut`, `stride_in`,
    `zero_init_residual`, `unit_order`/`preact`, and the [R2] shortcut mappings). With `features_only=True` the
    model returns the feature maps at `out_indices` (0 = stem, i = stage i) instead of logits.
    """
    spec = model_entry(name).spec.with_options(**options)
    model = ResNet(spec)
    if features_only:
        return FeatureExtractor(model, out_indices)
    if out_indices is not None:
        raise UserInputError("out_indices only applies with features_only=True")
    return model


def _natural_key(name: str) -> list[str | int]:
    """Sort `cifar_resnet110` after `cifar_resnet56`: runs of digits compare as numbers."""
    # re.split with a capturing group puts text at even positions and digit runs at odd ones, so types align.
    return [int(part) if index % 2 else part for index, part in enumerate(re.split(r"(\d+)", name))]
