"""The typed configuration of a training run, its YAML loading and the shipped recipes (package data, by name).
Imports nothing of resnetlab's but `errors`: every layer above may use it, and it knows none of them."""

from resnetlab.config.loading import (
    config_from_dict,
    config_to_dict,
    load_config,
    load_recipe,
    parse_assignment,
    parse_value,
    save_config,
    with_overrides,
)
from resnetlab.config.recipes import recipe_names, recipe_summary
from resnetlab.config.schema import (
    Augment,
    ConfigError,
    DataConfig,
    Dataset,
    Device,
    EvalView,
    ModelConfig,
    Normalize,
    OptimConfig,
    Precision,
    RuntimeConfig,
    ScheduleConfig,
    ScheduleKind,
    StepUnit,
    Storage,
    TrainConfig,
)
from resnetlab.config.validation import validate

__all__ = [
    "Augment",
    "ConfigError",
    "DataConfig",
    "Dataset",
    "Device",
    "EvalView",
    "ModelConfig",
    "Normalize",
    "OptimConfig",
    "Precision",
    "RuntimeConfig",
    "ScheduleConfig",
    "ScheduleKind",
    "StepUnit",
    "Storage",
    "TrainConfig",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "load_recipe",
    "parse_assignment",
    "parse_value",
    "recipe_names",
    "recipe_summary",
    "save_config",
    "validate",
    "with_overrides",
]
