"""What a run keeps: the training state a checkpoint saves and a resumed run restores, and the run folder's writer.

Only rank 0 writes. `RunWriter`'s calls do nothing on the other processes, so the loop reads the same on every process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

import resnetlab.files as files
from resnetlab.config import TrainConfig, config_to_dict, save_config
from resnetlab.errors import UserInputError
from resnetlab.inference.evaluate import EvalResult
from resnetlab.models.record import ModelRecord
from resnetlab.runs.checkpoint import SavedModel, TrainingCheckpoint, export_weights, save_checkpoint
from resnetlab.runs.plots import plot_run
from resnetlab.runs.run_dir import (
    CONFIG_FILE,
    ENVIRONMENT_FILE,
    METRICS_FILE,
    TEST_METRICS,
    MetricsLog,
    check_free_space,
    environment,
    new_run_dir,
    read_metrics,
)
from resnetlab.runtime.paths import this_cpu_class, training_path
from resnetlab.train.ema import WeightAverage
from resnetlab.train.prepare import Setup
from resnetlab.train.running import Position
from resnetlab.train.step import TrainStep


@dataclass(frozen=True)
class TrainingState:
    """What a step changes: the model, its optimizer, the step's loss scaler, and the weight average if any."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    step: TrainStep
    average: WeightAverage | None

    @property
    def evaluated(self) -> nn.Module:
        """The weights evaluated, kept as `best`, exported and used by eval and predict: the average, with EMA."""
        return self.average.module if self.average is not None else self.model

    def checkpoint(self, record: ModelRecord, config: dict[str, Any], position: Position) -> TrainingCheckpoint:
        # With EMA the saved model is the average; the trained weights resume continues from are kept beside it.
        average = self.average
        return TrainingCheckpoint(
            SavedModel(record, self.evaluated.state_dict(), config),
            position.to_dict(),
            self.optimizer.state_dict(),
            self.step.scaler.state_dict(),
            trained_weights=self.model.state_dict() if average is not None else None,
            average=average.state_dict() if average is not None else None,
        )

    def restore(self, checkpoint: TrainingCheckpoint) -> None:
        saved = checkpoint.model.weights
        self.model.load_state_dict(checkpoint.trained_weights if checkpoint.trained_weights is not None else saved)
        self.optimizer.load_state_dict(checkpoint.optimizer)
        if self.average is not None:
            if checkpoint.average is None:
                raise UserInputError("the checkpoint holds no weight average to continue (optim.ema_decay)")
            self.average.load_state_dict(checkpoint.average, saved)
        if checkpoint.scaler is not None:
            self.step.scaler.load_state_dict(checkpoint.scaler)


class RunWriter:
    """Everything a run writes into its folder once it is made: the metrics log, the checkpoints, and at the end the
    exported weights, plots and test metrics."""

    def __init__(
        self,
        run_dir: Path,
        config: TrainConfig,
        record: ModelRecord,
        training: TrainingState,
        is_main: bool,
        resumed_at: int | None,
    ) -> None:
        self.run_dir, self.config, self.record, self.training = run_dir, config, record, training
        self.is_main = is_main
        self._config = config_to_dict(config)
        self._log = MetricsLog(run_dir / METRICS_FILE, resume_after_iteration=resumed_at) if is_main else None

    def log(self, record: dict[str, Any]) -> None:
        if self._log is not None:
            self._log.write(record)

    def save(self, name: str, position: Position) -> None:
        """A checkpoint of the run as it stands; the caller has checked that every loss was finite."""
        if self.is_main:
            checkpoint = self.training.checkpoint(self.record, self._config, position)
            save_checkpoint(checkpoint.to_dict(), self.run_dir / name)

    def finish(self, test: EvalResult, iterations: int, seconds: float, classes: list[str]) -> None:
        """The final record, the weights alone (model.safetensors), the plots, and last the test metrics, whose
        presence marks the run as finished."""
        if self._log is None:
            return
        self._log.write({"kind": "final", "iteration": iterations, "seconds": seconds} | prefixed("test", test))
        self._log.close()
        export_weights(self.training.evaluated.state_dict(), self.run_dir / "model.safetensors", self.record)
        plot_run(read_metrics(self.run_dir), self.run_dir, f"{self.config.model.name} on {self.config.data.dataset}")
        details = {"per_class": test.per_class, "confusion": test.confusion, "classes": classes}
        files.write_json(self.run_dir / TEST_METRICS, {**test.summary(), **details})


def make_run_dir(config: TrainConfig, setup: Setup, out: Path | None, *, force: bool) -> Path:
    """The run folder, with the resolved config and the environment in it (rank 0's job)."""
    copies = 2 if config.optim.ema_decay is None else 4  # the checkpoint's weights, with EMA the average's too
    check_free_space((out or Path(config.runtime.out_dir)).resolve(), setup.model, copies=copies)
    run_dir = new_run_dir(out, Path(config.runtime.out_dir), f"{config.model.name}-{config.data.dataset}", force=force)
    save_config(config, run_dir / CONFIG_FILE)
    context = setup.parallel.context
    recorded = environment(processes=1 if context is None else context.world_size)
    # Which CPU class the run computed on, and the measurement behind its default path (`resnetlab info`).
    path = {"cpu_class": this_cpu_class(), "default_path_evidence": training_path(setup.device).evidence}
    files.write_json(run_dir / ENVIRONMENT_FILE, {**recorded, **path})
    return run_dir


def prefixed(prefix: str, result: EvalResult) -> dict[str, Any]:
    """An evaluation's summary as metrics-log fields: `val_top1`, `test_loss`..."""
    return {f"{prefix}_{key}": value for key, value in result.summary().items()}
