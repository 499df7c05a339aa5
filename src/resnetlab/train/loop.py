"""The training loop: one function, top to bottom. [R1] Sec. 3.4 / 4.2 recipes are configs, not code.

Every process runs the same lines; what only rank 0 does (writing files, evaluating) sits behind `RunWriter` and one
`parallel.is_main`. The steps never wait for the device: losses and errors are summed on it and read once per log
window, where the processes also agree that every loss was finite (`check_finite`), as they do before any checkpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

import resnetlab.files as files
from resnetlab.config import TrainConfig, config_to_dict, load_config, save_config
from resnetlab.data import DataSplits, FileSet, ImageSet
from resnetlab.errors import UserInputError
from resnetlab.inference.evaluate import EvalResult, evaluate
from resnetlab.models.pretrained import PretrainedWeights
from resnetlab.models.record import ModelRecord
from resnetlab.runs.checkpoint import (
    SavedModel,
    TrainingCheckpoint,
    export_weights,
    read_training_checkpoint,
    save_checkpoint,
)
from resnetlab.runs.plots import plot_run
from resnetlab.runs.run_dir import (
    BEST_CHECKPOINT,
    CONFIG_FILE,
    ENVIRONMENT_FILE,
    LAST_CHECKPOINT,
    METRICS_FILE,
    TEST_METRICS,
    MetricsLog,
    check_free_space,
    environment,
    existing_run_dir,
    new_run_dir,
    read_metrics,
)
from resnetlab.runtime.device import deterministic_mode
from resnetlab.train.build import model_record, resolved_config
from resnetlab.train.ema import WeightAverage
from resnetlab.train.optim import build_optimizer, set_learning_rate
from resnetlab.train.prepare import Setup, for_inference, on_main, prepare, stream
from resnetlab.train.running import EpochEnd, Position, batches_from, restore_rng
from resnetlab.train.schedule import learning_rate, total_iterations
from resnetlab.train.step import TrainStep
from resnetlab.train.stop import (
    StopRequest,
    TrainingDivergedError,
    TrainingInterruptedError,
    check_finite,
    resumable,
    stop_requested,
    stopped,
)

__all__ = ["TrainResult", "TrainingDivergedError", "TrainingInterruptedError", "resume", "train"]


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    test: EvalResult
    iterations: int
    seconds: float


def train(
    config: TrainConfig,
    *,
    out: Path | None = None,
    force: bool = False,
    show_progress: bool = True,
    init_weights: PretrainedWeights | None = None,
) -> TrainResult:
    """Start a new run of `config` in `out` (or a fresh folder under runtime.out_dir).

    `init_weights`: model.init's weights, when the caller has loaded them already (they are not read twice)."""
    config = resolved_config(config)
    with deterministic_mode(config.runtime.deterministic):
        # Everything that can fail on bad input, before anything is written.
        setup = prepare(config, init_weights=init_weights)
        run_dir = on_main(setup.parallel, lambda: _new_run_dir(config, setup, out, force=force))
        return resumable(
            run_dir, setup.parallel, lambda stop: _run(config, setup, run_dir, None, stop, show_progress=show_progress)
        )


def resume(run_dir: Path, *, show_progress: bool = True) -> TrainResult:
    """Continue a run from its last checkpoint, with the config it was started with."""
    run_dir = existing_run_dir(run_dir)
    if (run_dir / TEST_METRICS).exists():
        raise UserInputError(f"{run_dir} has finished; evaluate it with `resnetlab eval {run_dir}`")
    config = load_config(run_dir / CONFIG_FILE)
    checkpoint = read_training_checkpoint(run_dir / LAST_CHECKPOINT)
    with deterministic_mode(config.runtime.deterministic):
        setup = prepare(config, resuming=True)
        return resumable(
            run_dir,
            setup.parallel,
            lambda stop: _run(config, setup, run_dir, checkpoint, stop, show_progress=show_progress),
        )


def _run(
    config: TrainConfig,
    setup: Setup,
    run_dir: Path,
    checkpoint: TrainingCheckpoint | None,
    stop: StopRequest,
    *,
    show_progress: bool,
) -> TrainResult:
    runtime, schedule = config.runtime, config.schedule
    device, splits, model, parallel = setup.device, setup.splits, setup.model, setup.parallel
    optimizer = build_optimizer(model, config.optim)
    # The averaged weights, when asked for, are what gets evaluated, kept as `best` and exported.
    average = WeightAverage(model, config.optim.ema_decay) if config.optim.ema_decay is not None else None
    step = TrainStep(
        parallel.wrap(model, sync_batchnorm=runtime.sync_batchnorm),  # DDP under torchrun; the model itself otherwise
        optimizer,
        device=device,
        precision=runtime.precision,
        label_smoothing=config.optim.label_smoothing,
        grad_clip=config.optim.grad_clip,
        compile=runtime.compile,
    )
    training = TrainingState(model, optimizer, step, average)
    train_batches = stream(config, splits, splits.train, device, train=True, shard=parallel.shard)
    per_epoch = len(train_batches)
    total = total_iterations(schedule, per_epoch)

    if checkpoint is None:
        position = Position.start(device, warming_up=schedule.warmup_until_error is not None)
    else:
        training.restore(checkpoint)
        position = Position.resumed(checkpoint.loop, device)
        restore_rng(checkpoint.loop.rng)
    resumed_at = position.iteration if checkpoint is not None else None
    run = RunWriter(run_dir, config, model_record(config, splits), training, parallel.is_main, resumed_at)

    started = window_started = time.perf_counter()
    # disable=None: a bar only on a terminal, so logs and CI output stay readable.
    hidden = None if show_progress and parallel.is_main else True
    bar = tqdm(total=total, initial=position.iteration, disable=hidden, unit="it", dynamic_ncols=True)
    model.train()
    test_result: EvalResult | None = None
    for batch in batches_from(train_batches, position, total):
        if isinstance(batch, EpochEnd):
            check_finite(position, parallel, run_dir)
            epoch_loss, epoch_error, _ = position.epoch_sums.read(parallel)
            position.epoch_sums.reset()
            record = {
                "kind": "epoch",
                "iteration": position.iteration,
                "epoch": position.epoch,
                "seconds": batch.seconds,
                "data_wait_share": batch.data_seconds / max(batch.seconds, 1e-9),
                "train_loss": epoch_loss,
                "train_error": epoch_error,
            }
            # Evaluation on rank 0 alone, over the whole set; the other processes wait for it at their next step.
            if (position.epoch % runtime.eval_every == 0 or position.iteration >= total) and parallel.is_main:
                held_out = splits.val if splits.val is not None else splits.test
                result = _evaluate(training.evaluated, config, splits, held_out, device)
                record.update(_prefixed("val" if splits.val is not None else "test", result))
                if result.top1 > position.best_top1:
                    position.best_top1 = result.top1
                    run.save(BEST_CHECKPOINT, position)
                if splits.val is None:
                    test_result = result
            run.log(record)
            run.save(LAST_CHECKPOINT, position)
        else:
            images, labels = batch
            lr = learning_rate(schedule, config.optim.lr, position.iteration, per_epoch, warming_up=position.warming_up)
            set_learning_rate(optimizer, lr)
            loss, logits = step(images, labels)
            if average is not None:
                average.update(model)
            position.add(loss, logits, labels)  # training error as [R1] Fig. 6 plots it: on the augmented batches
            bar.update(1)

            if position.iteration % runtime.log_every == 0 or position.iteration == total:
                check_finite(position, parallel, run_dir)  # one NaN anywhere stops every process
                loss_mean, error, seen = position.window.read(parallel)
                seconds = time.perf_counter() - window_started
                run.log(
                    {"kind": "iteration", "iteration": position.iteration, "epoch": position.epoch, "lr": lr}
                    | {"train_loss": loss_mean, "train_error": error, "images_per_second": seen / seconds}
                )
                bar.set_postfix(loss=f"{loss_mean:.3f}", err=f"{error:.3f}", lr=f"{lr:.3g}", refresh=False)
                threshold = schedule.warmup_until_error
                if position.warming_up and threshold is not None and error < threshold:
                    position.warming_up = False  # [R1] Sec. 4.2: back to the schedule's LR once training error < 80%
                position.window.reset()
                window_started = time.perf_counter()

        # Between steps: a checkpoint every runtime.checkpoint_every iterations, and the stop a signal asked for (at
        # an epoch's end, once its evaluation and checkpoint are done). Never right after an epoch's last batch: that
        # epoch's checkpoint follows its record, and one taken before it would make a resumed run log the epoch twice.
        mid_epoch = not isinstance(batch, EpochEnd) and position.batch < per_epoch
        checkpoint_due = bool(runtime.checkpoint_every) and position.iteration % runtime.checkpoint_every == 0
        stopping = position.iteration < total and position.batch < per_epoch and stop_requested(stop, parallel)
        if mid_epoch and (checkpoint_due or stopping):
            check_finite(position, parallel, run_dir)
            run.save(LAST_CHECKPOINT, position)
        if stopping:
            raise stopped(stop, position.iteration, run_dir)
    bar.close()

    if parallel.is_main and (test_result is None or splits.val is not None):
        test_result = _evaluate(training.evaluated, config, splits, splits.test, device)
    parallel.check_same_weights(model)
    test_result = parallel.from_main(test_result)  # type: ignore[assignment]
    assert test_result is not None
    seconds = time.perf_counter() - started
    run.finish(test_result, position.iteration, seconds, splits.train.classes)
    return TrainResult(run_dir, test_result, position.iteration, seconds)


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
            position.saved(),
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
    exported weights, plots and test metrics. Rank 0 writes; on the other processes the same calls do nothing, so
    the loop reads the same on every process."""

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
        self._log.write({"kind": "final", "iteration": iterations, "seconds": seconds} | _prefixed("test", test))
        self._log.close()
        export_weights(self.training.evaluated.state_dict(), self.run_dir / "model.safetensors", self.record)
        plot_run(read_metrics(self.run_dir), self.run_dir, f"{self.config.model.name} on {self.config.data.dataset}")
        details = {"per_class": test.per_class, "confusion": test.confusion, "classes": classes}
        _write_json(self.run_dir / TEST_METRICS, {**test.summary(), **details})


def _new_run_dir(config: TrainConfig, setup: Setup, out: Path | None, *, force: bool) -> Path:
    """The run folder, with the resolved config and the environment in it (rank 0's job)."""
    copies = 2 if config.optim.ema_decay is None else 4  # the checkpoint's weights, with EMA the average's too
    check_free_space((out or Path(config.runtime.out_dir)).resolve(), setup.model, copies=copies)
    run_dir = new_run_dir(out, Path(config.runtime.out_dir), f"{config.model.name}-{config.data.dataset}", force=force)
    save_config(config, run_dir / CONFIG_FILE)
    context = setup.parallel.context
    _write_json(run_dir / ENVIRONMENT_FILE, environment(processes=1 if context is None else context.world_size))
    return run_dir


def _evaluate(
    model: nn.Module, config: TrainConfig, splits: DataSplits, data: ImageSet | FileSet, device: torch.device
) -> EvalResult:
    batches = stream(config, splits, data, device, train=False)
    return evaluate(for_inference(model, config), batches.epoch(0), len(splits.train.classes), device=device)


def _prefixed(prefix: str, result: EvalResult) -> dict[str, Any]:
    return {f"{prefix}_{key}": value for key, value in result.summary().items()}


def _write_json(path: Path, value: Any) -> None:
    files.write_json(path, value)
