"""The config's ranges and rules between keys live on the schema (`resnetlab.config.schema`): pydantic's bounds beside
each key, the rules between keys as validators of their section. Loading a config and `validate` on a config built in
code refuse a value with the same one line."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from resnetlab.config import (
    ConfigError,
    DataConfig,
    ModelConfig,
    OptimConfig,
    RuntimeConfig,
    ScheduleConfig,
    TrainConfig,
    load_config,
    validate,
)
from resnetlab.config.validation import range_rule

SECTIONS = {"model": ModelConfig, "data": DataConfig, "optim": OptimConfig, "schedule": ScheduleConfig}
SECTIONS["runtime"] = RuntimeConfig
# A number without bounds of its own: its lower bound is another key (data.crop_size), a rule between keys.
BOUNDED_BY_ANOTHER_KEY = {"data.eval_resize"}

# Every range, as its errors word it.
RANGES = {
    "model.freeze_stages": ">= 0 (0 freezes nothing)",
    "data.val_fraction": "in [0, 1)",
    "data.test_fraction": "in (0, 1)",
    "data.split_seed": ">= 0",
    "data.image_size": ">= 1 or null",
    "data.batch_size": ">= 1",
    "data.eval_batch_size": ">= 1",
    "data.memory_limit_gb": "> 0",
    "data.workers": ">= 0",
    "data.crop_size": ">= 1",
    "data.color_jitter": "in [0, 1)",
    "data.lighting": ">= 0",
    "data.cutout": ">= 0 (0 turns it off)",
    "optim.lr": "> 0",
    "optim.momentum": "in [0, 1)",
    "optim.weight_decay": ">= 0",
    "optim.grad_clip": "> 0 or null",
    "optim.label_smoothing": "in [0, 1)",
    "optim.backbone_lr_scale": "> 0",
    "optim.ema_decay": "in (0, 1) or null",
    "schedule.length": ">= 1",
    "schedule.gamma": "in (0, 1]",
    "schedule.warmup": "in [0, schedule.length)",
    "schedule.warmup_lr": "> 0",
    "schedule.warmup_until_error": "in (0, 1)",
    "runtime.seed": ">= 0",
    "runtime.checkpoint_every": ">= 0",
    "runtime.eval_every": ">= 1",
    "runtime.log_every": ">= 1",
}

MILESTONES = (
    "schedule.milestones must be increasing and between 0 and schedule.length ({length} {unit}s; a new length needs "
    "its own milestones, e.g. --set 'schedule.milestones=[...]'), got {got}"
)


def _value_type(hint: Any) -> Any:
    """`Annotated[float, ...] | None` is float; a list stays a list."""
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    values = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return _value_type(values[0]) if typing.get_origin(hint) is not list and len(values) == 1 else hint


def _bounds(hint: Any) -> dict[str, Any]:
    """The pydantic bounds (gt, ge, lt, le) in the Annotated metadata of `hint`, also inside `| None`."""
    if typing.get_origin(hint) is typing.Annotated:
        base, *metadata = typing.get_args(hint)
        constraints = [item for info in metadata if isinstance(info, FieldInfo) for item in info.metadata]
        found = {
            name: getattr(item, name)
            for item in constraints
            for name in ("gt", "ge", "lt", "le")
            if hasattr(item, name)
        }
        return found | _bounds(base)
    return {name: value for arg in typing.get_args(hint) for name, value in _bounds(arg).items()}


def _numeric_keys() -> dict[str, Any]:
    keys = {}
    for section, owner in SECTIONS.items():
        for name, hint in typing.get_type_hints(owner, include_extras=True).items():
            if _value_type(hint) in (int, float):
                keys[f"{section}.{name}"] = hint
    return keys


def test_every_numeric_range_is_declared_on_the_schema() -> None:
    keys = _numeric_keys()
    assert len(keys) == len(RANGES) + len(BOUNDED_BY_ANOTHER_KEY)
    unbounded = {key for key, hint in keys.items() if not _bounds(hint)}
    assert unbounded == BOUNDED_BY_ANOTHER_KEY
    assert {key: range_rule(key) for key in keys if key not in unbounded} == RANGES
    assert range_rule("data.eval_resize") is None and range_rule("data.scale_range") is None


def test_the_schema_bounds_are_the_ranges_in_words() -> None:
    keys = _numeric_keys()
    assert _bounds(keys["data.val_fraction"]) == {"ge": 0, "lt": 1}
    assert _bounds(keys["schedule.gamma"]) == {"gt": 0, "le": 1}
    assert _bounds(keys["optim.ema_decay"]) == {"gt": 0, "lt": 1}  # inside `| None`
    assert _bounds(keys["data.cutout"]) == {"ge": 0}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.val_fraction=1.0", "data.val_fraction must be in [0, 1), got 1.0"),
        ("data.val_fraction=-0.1", "data.val_fraction must be in [0, 1), got -0.1"),
        ("data.test_fraction=1", "data.test_fraction must be in (0, 1), got 1.0"),  # a number key holds 1 as 1.0
        ("data.image_size=0", "data.image_size must be >= 1 or null, got 0"),
        ("data.memory_limit_gb=0", "data.memory_limit_gb must be > 0, got 0.0"),
        ("data.cutout=-1", "data.cutout must be >= 0 (0 turns it off), got -1"),
        ("optim.lr=0.0", "optim.lr must be > 0, got 0.0"),
        ("optim.lr=-1", "optim.lr must be > 0, got -1.0"),
        ("optim.weight_decay=-1e-4", "optim.weight_decay must be >= 0, got -0.0001"),
        ("optim.grad_clip=0", "optim.grad_clip must be > 0 or null, got 0.0"),
        ("optim.ema_decay=1.0", "optim.ema_decay must be in (0, 1) or null, got 1.0"),
        ("model.freeze_stages=-1", "model.freeze_stages must be >= 0 (0 freezes nothing), got -1"),
        ("schedule.gamma=1.5", "schedule.gamma must be in (0, 1], got 1.5"),
        ("schedule.warmup=-1", "schedule.warmup must be in [0, schedule.length), got -1"),
        ("schedule.warmup=30", "schedule.warmup must be in [0, schedule.length), got 30"),
        ("runtime.log_every=0", "runtime.log_every must be >= 1, got 0"),
    ],
)
def test_a_value_out_of_range_is_one_exact_line(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(overrides=[override])
    assert str(error.value) == message


@pytest.mark.parametrize("override", ["data.val_fraction=0", "schedule.gamma=1", "schedule.warmup=29", "optim.lr=1"])
def test_the_bounds_themselves_are_kept_where_they_are_allowed(override: str) -> None:
    load_config(overrides=[override])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["data.scale_range=[300]"],
            "data.scale_range must be [low, high] with data.crop_size (224) <= low <= high, got [300]",
        ),
        (["data.eval_resize=100"], "data.eval_resize must be >= data.crop_size (224), got 100"),
        (["data.std=[0.5]"], "data.mean and data.std must be set together or both null, got [None, [0.5]]"),
        (
            ["data.mean=[0.5]", "data.std=[0.5, 0.5]"],
            "data.std must be as long as data.mean (1 values), got [0.5, 0.5]",
        ),
        (["data.mean=[0.5, 0.5]", "data.std=[0.5, 0]"], "data.std must be > 0 per channel, got [0.5, 0.0]"),
        (["schedule.milestones=[10, 10]"], MILESTONES.format(length=30, unit="epoch", got=[10, 10])),
        (
            ["schedule.unit=iteration", "schedule.milestones=[40]"],
            MILESTONES.format(length=30, unit="iteration", got=[40]),
        ),
        (["schedule.warmup_until_error=0.8"], "schedule.warmup_lr must be set with warmup_until_error, got None"),
        (
            ["schedule.warmup_lr=0.01"],
            "schedule.warmup_until_error must be set with warmup_lr (the warm-up LR holds until training error falls "
            "below it), got None",
        ),
    ],
)
def test_a_broken_rule_between_keys_is_one_exact_line(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(overrides=overrides)
    assert str(error.value) == message


def test_rules_between_keys_belong_to_their_section() -> None:
    with pytest.raises(ValidationError) as error:
        TypeAdapter(ScheduleConfig).validate_python({"length": 10, "milestones": [20]})
    assert str(error.value.errors()[0]["ctx"]["error"]) == MILESTONES.format(length=10, unit="epoch", got=[20])


def test_a_wrong_type_is_reported_before_a_value_out_of_range() -> None:
    with pytest.raises(ConfigError, match=r"^optim\.lr must be a number, got 'fast'$"):
        load_config(overrides=["data.batch_size=0", "optim.lr=fast"])


def _changed(config: TrainConfig, section: str, **changes: Any) -> TrainConfig:
    return dataclasses.replace(config, **{section: dataclasses.replace(getattr(config, section), **changes)})


@pytest.mark.parametrize(
    ("section", "changes", "override", "message"),
    [
        ("optim", {"lr": 0.0}, "optim.lr=0.0", "optim.lr must be > 0, got 0.0"),
        ("data", {"val_fraction": 1.0}, "data.val_fraction=1.0", "data.val_fraction must be in [0, 1), got 1.0"),
        ("data", {"cutout": -1}, "data.cutout=-1", "data.cutout must be >= 0 (0 turns it off), got -1"),
        ("runtime", {"seed": -1}, "runtime.seed=-1", "runtime.seed must be >= 0, got -1"),
        (
            "schedule",
            {"milestones": [40]},
            "schedule.milestones=[40]",
            MILESTONES.format(length=30, unit="epoch", got=[40]),
        ),
        (
            "data",
            {"mean": [0.5]},
            "data.mean=[0.5]",
            "data.mean and data.std must be set together or both null, got [[0.5], None]",
        ),
        (
            "data",
            {"eval_resize": 200},
            "data.eval_resize=200",
            "data.eval_resize must be >= data.crop_size (224), got 200",
        ),
    ],
)
def test_a_built_config_is_refused_by_validate_with_the_same_line(
    section: str, changes: dict[str, Any], override: str, message: str
) -> None:
    built = _changed(TrainConfig(), section, **changes)  # building checks nothing
    with pytest.raises(ConfigError) as from_code:
        validate(built)
    with pytest.raises(ConfigError) as from_file:
        load_config(overrides=[override])
    assert str(from_code.value) == str(from_file.value) == message


def test_validate_accepts_a_good_built_config_and_leaves_it_as_it_was() -> None:
    config = _changed(TrainConfig(), "data", crop_size=32, scale_range=[32, 40], eval_resize=32)
    before = dataclasses.asdict(config)
    validate(config)
    validate(TrainConfig())
    assert dataclasses.asdict(config) == before


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("runtime.channels_last=maybe", "runtime.channels_last must be true, false or auto, got 'maybe'"),
        ("runtime.channels_last=1", "runtime.channels_last must be true, false or auto, got 1"),
        ("runtime.channels_last=null", "runtime.channels_last must be true, false or auto, got None"),
    ],
)
def test_a_key_of_a_flag_or_auto_names_itself_and_its_three_values(override: str, message: str) -> None:
    """pydantic's location of a union's error carries the member it tried (`channels_last.bool`): not in the line."""
    with pytest.raises(ConfigError) as error:
        load_config(overrides=[override])
    assert str(error.value) == message


@pytest.mark.parametrize("value", ["true", "false", "auto"])
def test_a_key_of_a_flag_or_auto_takes_each_of_them(value: str) -> None:
    expected: bool | str = {"true": True, "false": False}.get(value, value)
    assert load_config(overrides=[f"runtime.channels_last={value}"]).runtime.channels_last == expected
