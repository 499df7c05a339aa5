"""Checking a config: its types and keys by pydantic (against the dataclasses of `resnetlab.config.schema`), then the
ranges and the rules between keys that types cannot express. Every failure is one line that names the key by its
dotted name and says what it accepts; an unknown key comes with the closest valid one."""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from resnetlab.config.schema import ConfigError, TrainConfig

_ADAPTER = TypeAdapter(TrainConfig)

# pydantic's error types, in resnetlab's words: "<key> must be <this>, got <value>".
_ACCEPTS = {
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "list_type": "a list, e.g. [1, 2]",
    "dict_type": "a mapping",
    "dataclass_type": "a mapping",
}


def checked_config(values: Any) -> TrainConfig:
    """The config a mapping describes (sections of keys, as in a recipe), its types and ranges checked."""
    try:
        config = _ADAPTER.validate_python(values)
    except ValidationError as error:
        raise ConfigError(_one_line(error.errors()[0])) from None
    validate(config)
    return config


def _one_line(error: ErrorDetails) -> str:
    loc = error["loc"]
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "config"
    if error["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        return _unknown_key(tuple(str(part) for part in loc))
    if error["type"] == "literal_error":
        choices = typing.get_args(_hint_at(tuple(str(part) for part in loc)))
        return f"{key} must be one of {', '.join(map(str, choices))}, got {error['input']!r}"
    accepts = _ACCEPTS.get(error["type"])
    if accepts is None:
        return f"{key}: {error['msg']}, got {error['input']!r}"
    return f"{key} must be {accepts}, got {error['input']!r}"


def _unknown_key(loc: tuple[str, ...]) -> str:
    *section, name = loc
    prefix = "".join(f"{part}." for part in section)
    names = [field.name for field in dataclasses.fields(_hint_at(tuple(section)))]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {prefix}{close[0]}?)" if close else f"; valid keys: {', '.join(names)}"
    return f"unknown config key {prefix}{name}{hint}"


def _hint_at(loc: tuple[str, ...]) -> Any:
    """The type the schema gives the key at `loc` (a section's dataclass for a section), without its annotations."""
    hint: Any = TrainConfig
    for part in loc:
        hint = typing.get_type_hints(hint)[part]
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    return hint


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
    _require(data.split_seed >= 0, "data.split_seed", ">= 0", data.split_seed)  # numpy's generators take no sign
    _require(runtime.seed >= 0, "runtime.seed", ">= 0", runtime.seed)
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
