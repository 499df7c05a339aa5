"""Loading a run's config: YAML recipes (a file, or a shipped recipe by name; with their `base:` chain), `key=value`
overrides, a mapping stored in a checkpoint; every value type-checked and range-checked before anything runs; saving
the resolved record."""

from __future__ import annotations

import dataclasses
import difflib
import posixpath
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from resnetlab.config.recipes import moved_recipe, recipe_name, recipe_text, unknown_recipe
from resnetlab.config.schema import ConfigError, TrainConfig


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
    config = _build(TrainConfig, values, prefix="")
    validate(config)
    return config


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """A config stored as a mapping (in a checkpoint), checked like a file."""
    config = _build(TrainConfig, values, prefix="")
    validate(config)
    return config


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


_CONFIG_HEADER = (
    "# resnetlab run config, resolved. data.batch_size is the global batch, shared out evenly among the processes\n"
    "# under torchrun; optim.lr applies to it unscaled, whatever the number of processes (environment.json).\n"
)


def save_config(config: TrainConfig, path: Path) -> None:
    """Write the resolved config (atomically: a reader never sees half a file)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(_CONFIG_HEADER + yaml.safe_dump(config_to_dict(config), sort_keys=False))
    partial.replace(path)


def validate(config: TrainConfig) -> None:
    """Range checks that types cannot express; each failure names the key and the accepted range."""
    data, optim, schedule, runtime = config.data, config.optim, config.schedule, config.runtime
    _require(0.0 <= data.val_fraction < 1.0, "data.val_fraction", "in [0, 1)", data.val_fraction)
    _require(data.batch_size >= 1, "data.batch_size", ">= 1", data.batch_size)
    _require(data.eval_batch_size >= 1, "data.eval_batch_size", ">= 1", data.eval_batch_size)
    _require(0.0 < data.test_fraction < 1.0, "data.test_fraction", "in (0, 1)", data.test_fraction)
    _require(data.image_size is None or data.image_size >= 1, "data.image_size", ">= 1 or null", data.image_size)
    _require(data.memory_limit_gb > 0, "data.memory_limit_gb", "> 0", data.memory_limit_gb)
    _require(data.workers >= 0, "data.workers", ">= 0", data.workers)
    _require(data.crop_size >= 1, "data.crop_size", ">= 1", data.crop_size)
    low, high = [*data.scale_range, 0, 0][:2]
    _require(
        len(data.scale_range) == 2 and data.crop_size <= low <= high,
        "data.scale_range",
        f"[low, high] with data.crop_size ({data.crop_size}) <= low <= high",
        data.scale_range,
    )
    _require(
        data.eval_resize >= data.crop_size,
        "data.eval_resize",
        f">= data.crop_size ({data.crop_size})",
        data.eval_resize,
    )
    _require(0.0 <= data.color_jitter < 1.0, "data.color_jitter", "in [0, 1)", data.color_jitter)
    _require(data.lighting >= 0, "data.lighting", ">= 0", data.lighting)
    _require(optim.lr > 0, "optim.lr", "> 0", optim.lr)
    _require(0.0 <= optim.momentum < 1.0, "optim.momentum", "in [0, 1)", optim.momentum)
    _require(optim.weight_decay >= 0, "optim.weight_decay", ">= 0", optim.weight_decay)
    _require(optim.grad_clip is None or optim.grad_clip > 0, "optim.grad_clip", "> 0 or null", optim.grad_clip)
    _require(config.data.cutout >= 0, "data.cutout", ">= 0 (0 turns it off)", config.data.cutout)
    _require(optim.backbone_lr_scale > 0, "optim.backbone_lr_scale", "> 0", optim.backbone_lr_scale)
    frozen = config.model.freeze_stages
    _require(frozen >= 0, "model.freeze_stages", ">= 0 (0 freezes nothing)", frozen)
    _check_statistics(data.mean, data.std)
    _require(0.0 <= optim.label_smoothing < 1.0, "optim.label_smoothing", "in [0, 1)", optim.label_smoothing)
    ema = optim.ema_decay
    _require(ema is None or 0.0 < ema < 1.0, "optim.ema_decay", "in (0, 1) or null", ema)
    _require(schedule.length >= 1, "schedule.length", ">= 1", schedule.length)
    milestones = schedule.milestones
    _require(
        all(0 < m < schedule.length for m in milestones) and milestones == sorted(set(milestones)),
        "schedule.milestones",
        f"increasing and between 0 and schedule.length ({schedule.length} {schedule.unit}s; a new length "
        "needs its own milestones, e.g. --set 'schedule.milestones=[...]')",
        milestones,
    )
    _require(0.0 < schedule.gamma <= 1.0, "schedule.gamma", "in (0, 1]", schedule.gamma)
    _require(0 <= schedule.warmup < schedule.length, "schedule.warmup", "in [0, schedule.length)", schedule.warmup)
    _require(schedule.warmup_lr is None or schedule.warmup_lr > 0, "schedule.warmup_lr", "> 0", schedule.warmup_lr)
    until = schedule.warmup_until_error
    _require(until is None or 0.0 < until < 1.0, "schedule.warmup_until_error", "in (0, 1)", until)
    _require(until is None or schedule.warmup_lr is not None, "schedule.warmup_lr", "set with warmup_until_error", None)
    _require(
        schedule.warmup_lr is None or until is not None,
        "schedule.warmup_until_error",
        "set with warmup_lr (the warm-up LR holds until training error falls below it)",
        None,
    )
    _require(runtime.eval_every >= 1, "runtime.eval_every", ">= 1", runtime.eval_every)
    _require(runtime.log_every >= 1, "runtime.log_every", ">= 1", runtime.log_every)
    _require(runtime.checkpoint_every >= 0, "runtime.checkpoint_every", ">= 0", runtime.checkpoint_every)


def _check_statistics(mean: list[float] | None, std: list[float] | None) -> None:
    _require((mean is None) == (std is None), "data.mean and data.std", "set together or both null", [mean, std])
    if mean is not None and std is not None:
        _require(len(mean) == len(std) >= 1, "data.std", f"as long as data.mean ({len(mean)} values)", std)
        _require(all(s > 0 for s in std), "data.std", "> 0 per channel", std)


def _require(ok: bool, key: str, rule: str, value: object) -> None:
    if not ok:
        raise ConfigError(f"{key} must be {rule}, got {value!r}")


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
        loaded = yaml.safe_load(text)
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
        return yaml.safe_load(text)
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


def _build(cls: type[Any], values: Any, prefix: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [key for key in values if key not in names]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), names, n=1)
        hint = f" (did you mean {prefix}{close[0]}?)" if close else f"; valid keys: {', '.join(names)}"
        raise ConfigError(f"unknown config key {prefix}{key}{hint}")
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, f"{prefix}{name}.")
        else:
            kwargs[name] = _check_type(value, hint, f"{prefix}{name}")
    return cls(**kwargs)


def _check_type(value: Any, hint: Any, key: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _check_type(value, next(a for a in args if a is not type(None)), key)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{key} must be one of {', '.join(map(str, args))}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, e.g. [1, 2], got {value!r}")
        return [_check_type(item, args[0], f"{key}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {value!r}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str) and re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", value.strip()):
            value = float(value)  # YAML 1.1 reads 1e-3 (an exponent without a dot) as text
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be text, got {value!r}")
        return value
    return value
