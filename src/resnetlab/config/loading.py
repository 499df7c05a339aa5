"""Loading a run's config: YAML recipes (a file, or a shipped recipe by name; with their `base:` chain), `key=value`
overrides, a mapping stored in a checkpoint, each checked (`resnetlab.config.validation`) before anything runs;
saving the resolved record."""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

import resnetlab.files as files
from resnetlab.config.recipes import moved_recipe, recipe_name, recipe_text, unknown_recipe
from resnetlab.config.schema import ConfigError, TrainConfig
from resnetlab.config.validation import checked_config


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that `1e-3` (an exponent without a dot) is a number, as in YAML 1.2 and as
    users mean it in a recipe or on the command line; PyYAML's YAML 1.1 reads it as text."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Defaults, then the recipe (and its `base:` chain), then `key=value` overrides; validated. The recipe is a YAML
    file or a shipped recipe's name (`cifar10/resnet20`, see `resnetlab recipes`): a file that exists wins."""
    return _resolve(_read_source(path) if path is not None else {}, overrides)


def load_recipe(name: str, overrides: Sequence[str] = ()) -> TrainConfig:
    """A shipped recipe by name, then `key=value` overrides; never a file, whatever the working directory holds."""
    return _resolve(_read_recipe(name, seen=()), overrides)


def with_overrides(config: TrainConfig, overrides: Sequence[str]) -> TrainConfig:
    """`key=value` overrides on top of `config`, checked as on the command line; a new config that shares no list or
    mapping with `config`."""
    return _resolve(config_to_dict(config), overrides)


def _resolve(values: dict[str, Any], overrides: Sequence[str]) -> TrainConfig:
    for override in overrides:
        assignment = parse_assignment(override)
        if assignment is None:
            raise ConfigError(f"override {override!r} is not key=value, e.g. optim.lr=0.05")
        _set_dotted(values, *assignment)
    return checked_config(values)


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """A config stored as a mapping (in a checkpoint), checked like a file."""
    return checked_config(values)


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


_CONFIG_HEADER = (
    "# resnetlab run config, resolved. data.batch_size is the global batch, shared out evenly among the processes\n"
    "# under torchrun; optim.lr applies to it unscaled, whatever the number of processes (environment.json).\n"
)


def save_config(config: TrainConfig, path: Path) -> None:
    """Write the resolved config (atomically: a reader never sees half a file)."""
    files.write_text(path, _CONFIG_HEADER + yaml.safe_dump(config_to_dict(config), sort_keys=False))


def _read_source(source: str | Path) -> dict[str, Any]:
    path = Path(source)
    if path.exists():
        return _read_file(path, seen=())
    name = recipe_name(str(source))
    if name is not None:
        return _read_recipe(name, seen=())
    if path.suffix in (".yaml", ".yml"):  # meant as a file: say so, and the recipe it names if it names one
        raise ConfigError(_missing_file(path))
    raise ConfigError(unknown_recipe(str(source)))


def _missing_file(path: Path) -> str:
    moved = moved_recipe(str(path))
    return f"config file {path} does not exist" + (f" (did you mean the recipe {moved}?)" if moved else "")


def _read_file(path: Path, seen: tuple[str, ...]) -> dict[str, Any]:
    resolved = str(path.resolve())
    if resolved in seen:
        raise ConfigError(f"config {path} includes itself through base:")
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(_missing_file(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} cannot be read: {error}") from None
    loaded, base = _parse(text, f"config file {path}")
    if base is None:
        return loaded
    beside = path.parent / base
    if not beside.exists() and (name := recipe_name(base)) is not None:  # a file of one's own on a shipped recipe
        return _merge(_read_recipe(name, (*seen, resolved)), loaded)
    return _merge(_read_file(beside, (*seen, resolved)), loaded)


def _read_recipe(name: str, seen: tuple[str, ...]) -> dict[str, Any]:
    """A shipped recipe; its `base:` is a recipe beside it (`resnet20.yaml`) or any recipe's name."""
    key = f"recipe {name}"
    if key in seen:
        raise ConfigError(f"recipe {name} includes itself through base:")
    loaded, base = _parse(recipe_text(name), key)
    if base is None:
        return loaded
    beside = recipe_name(posixpath.join(posixpath.dirname(name), base)) or recipe_name(base)
    if beside is None:
        raise ConfigError(f"base: {base} of recipe {name} is not a shipped recipe")
    return _merge(_read_recipe(beside, (*seen, key)), loaded)


def _parse(text: str, where: str) -> tuple[dict[str, Any], str | None]:
    """The mapping of sections a recipe's YAML holds, and its `base:` (None without one)."""
    try:
        loaded = yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where} is not valid YAML{line}") from None
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{where} must hold a mapping of sections (model:, data:, ...)")
    base = loaded.pop("base", None)
    if base is not None and not isinstance(base, str):
        raise ConfigError(f"base: in {where} must be a file path or a recipe's name, got {base!r}")
    return loaded, base


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_assignment(text: str) -> tuple[str, Any] | None:
    """`KEY=VALUE` as (KEY, VALUE read by `parse_value`); None when there is no `=` or no key."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        return None
    return key.strip(), parse_value(value)


def parse_value(text: str) -> Any:
    """Values on the command line read as YAML scalars: 0.05, true, null, [32000, 48000]."""
    try:
        return yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError:
        return text


def _set_dotted(values: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = values
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {key}: {part} is a value, not a section")
        node = child
    node[leaf] = value
