"""Training and evaluation: config, loop, checkpoints, logs."""

from resnetlab.engine.config import ConfigError, TrainConfig, load_config, save_config

__all__ = ["ConfigError", "TrainConfig", "load_config", "save_config"]
