"""The training loop: one function, top to bottom, each step of it a named function below. [R1] Sec. 3.4 / 4.2
recipes are configs, not code.

Every process runs the same lines; what only rank 0 does (writing files, evaluating) sits behind `RunWriter`
(writer.py) and one `parallel.is_main`. The steps never wait for the device: losses and errors are summed on it and
read once per log window, where the processes also agree that every loss was finite (`check_finite`), as they do
before any checkpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from resnetlab.config import TrainConfig, load_config
from resnetlab.data import DataSplits, FileSet, ImageSet
from resnetlab.errors import UserInputError
from resnetlab.inference.evaluate import EvalResult, evaluate
from resnetlab.models.pretrained import PretrainedWeights
from resnetlab.runs.checkpoint import TrainingCheckpoint, read_training_checkpoint
from resnetlab.runs.run_dir import BEST_CHECKPOINT, CONFIG_FILE, LAST_CHECKPOINT, TEST_METRICS, existing_run_dir
from resnetlab.runtime.device import deterministic_mode
from resnetlab.runtime.distributed import Parallel
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
from resnetlab.train.writer import RunWriter, TrainingState, make_run_dir, prefixed

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
        run_dir = on_main(setup.parallel, lambda: make_run_dir(config, setup, out, force=force))
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


@dataclass(frozen=True)
class _Loop:
    """What the loop's steps read and never replace: the run's config, what `prepare` built, the training state, the
    run folder's writer and the run's length. What changes from step to step is the `Position`."""

    config: TrainConfig
    setup: Setup
    run_dir: Path
    training: TrainingState
    writer: RunWriter
    per_epoch: int  # batches
    total: int  # iterations

    @property
    def parallel(self) -> Parallel:
        return self.setup.parallel


def _run(
    config: TrainConfig,
    setup: Setup,
    run_dir: Path,
    checkpoint: TrainingCheckpoint | None,
    stop: StopRequest,
    *,
    show_progress: bool,
) -> TrainResult:
    """One run, from its start or from `checkpoint`, to its test result: a step per batch, a record per log window,
    and at each epoch's end an evaluation when due and a checkpoint."""
    splits, parallel = setup.splits, setup.parallel
    training = _training_state(config, setup)
    train_batches = stream(config, splits, splits.train, setup.device, train=True, shard=parallel.shard)
    per_epoch = len(train_batches)
    total = total_iterations(config.schedule, per_epoch)
    position = _starting_position(config, setup.device, training, checkpoint)
    # From here to the first step nothing draws from the random generators a resumed run has just restored.
    resumed_at = position.iteration if checkpoint is not None else None
    writer = RunWriter(run_dir, config, model_record(config, splits), training, parallel.is_main, resumed_at)
    loop = _Loop(config, setup, run_dir, training, writer, per_epoch, total)

    started = window_started = time.perf_counter()
    # disable=None: a bar only on a terminal, so logs and CI output stay readable.
    hidden = None if show_progress and parallel.is_main else True
    bar = tqdm(total=total, initial=position.iteration, disable=hidden, unit="it", dynamic_ncols=True)
    setup.model.train()
    test_result: EvalResult | None = None
    for batch in batches_from(train_batches, position, total):
        if isinstance(batch, EpochEnd):
            if (tested := _end_epoch(loop, position, batch)) is not None:
                test_result = tested
        else:
            lr = _train_one_step(loop, position, *batch)
            bar.update(1)
            if _log_window_ends(loop, position):
                _close_log_window(loop, position, lr, window_started, bar)
                window_started = time.perf_counter()
        _checkpoint_or_stop_between_steps(loop, position, stop, at_epoch_end=isinstance(batch, EpochEnd))
    bar.close()

    test_result = _test_final_weights(loop, test_result)
    seconds = time.perf_counter() - started
    writer.finish(test_result, position.iteration, seconds, splits.train.classes)
    return TrainResult(run_dir, test_result, position.iteration, seconds)


def _training_state(config: TrainConfig, setup: Setup) -> TrainingState:
    """The model with what a step changes beside it: its optimizer, the weight average if asked for, the step."""
    model, runtime = setup.model, config.runtime
    optimizer = build_optimizer(model, config.optim)
    # The averaged weights, when asked for, are what gets evaluated, kept as `best` and exported.
    average = WeightAverage(model, config.optim.ema_decay) if config.optim.ema_decay is not None else None
    step = TrainStep(
        setup.parallel.wrap(model, sync_batchnorm=runtime.sync_batchnorm),  # DDP under torchrun; the model otherwise
        optimizer,
        device=setup.device,
        precision=runtime.precision,
        label_smoothing=config.optim.label_smoothing,
        grad_clip=config.optim.grad_clip,
        compile=runtime.compile,
    )
    return TrainingState(model, optimizer, step, average)


def _starting_position(
    config: TrainConfig, device: torch.device, training: TrainingState, checkpoint: TrainingCheckpoint | None
) -> Position:
    """A new run's first batch, or where `checkpoint` was taken, with the weights, the optimizer and the random
    generators as they were then: a resumed run takes the steps the uninterrupted one would have."""
    if checkpoint is None:
        return Position.start(device, warming_up=config.schedule.warmup_until_error is not None)
    training.restore(checkpoint)
    position = Position.from_dict(checkpoint.loop, device, checkpoint.source)
    restore_rng(checkpoint.loop["rng"])
    return position


def _train_one_step(loop: _Loop, position: Position, images: torch.Tensor, labels: torch.Tensor) -> float:
    """One optimizer step at the schedule's learning rate, counted in `position`; returns that rate."""
    training, optim = loop.training, loop.config.optim
    lr = learning_rate(
        loop.config.schedule, optim.lr, position.iteration, loop.per_epoch, warming_up=position.warming_up
    )
    set_learning_rate(training.optimizer, lr)
    loss, logits = training.step(images, labels)
    if training.average is not None:
        training.average.update(training.model)
    position.add(loss, logits, labels)  # training error as [R1] Fig. 6 plots it: on the augmented batches
    return lr


def _log_window_ends(loop: _Loop, position: Position) -> bool:
    return position.iteration % loop.config.runtime.log_every == 0 or position.iteration == loop.total


def _close_log_window(loop: _Loop, position: Position, lr: float, window_started: float, bar: tqdm) -> None:
    """The window's record and the bar's figures, then the warm-up's end when its error is low enough. Reading the
    window's sums is the loop's one host sync per window."""
    check_finite(position, loop.parallel, loop.run_dir)  # one NaN anywhere stops every process
    loss_mean, error, seen = position.window.read(loop.parallel)
    seconds = time.perf_counter() - window_started
    loop.writer.log(
        {"kind": "iteration", "iteration": position.iteration, "epoch": position.epoch, "lr": lr}
        | {"train_loss": loss_mean, "train_error": error, "images_per_second": seen / seconds}
    )
    bar.set_postfix(loss=f"{loss_mean:.3f}", err=f"{error:.3f}", lr=f"{lr:.3g}", refresh=False)
    _end_warm_up_below(loop.config.schedule.warmup_until_error, position, error)
    position.window.reset()


def _end_warm_up_below(threshold: float | None, position: Position, error: float) -> None:
    """[R1] Sec. 4.2: ResNet-110 trains at LR 0.01 until the training error (a log window's) falls below 80%, then at
    the schedule's LR. The switch happens once; checkpoints carry it (`Position.warming_up`)."""
    if position.warming_up and threshold is not None and error < threshold:
        position.warming_up = False


def _end_epoch(loop: _Loop, position: Position, timing: EpochEnd) -> EvalResult | None:
    """The epoch's record, with an evaluation when one is due, then its `last` checkpoint. Returns the evaluation
    when it was on the test set (a run without a val split): the last epoch's is the final weights' test result."""
    check_finite(position, loop.parallel, loop.run_dir)
    record = _epoch_record(loop, position, timing)
    evaluation = None
    # Evaluation on rank 0 alone, over the whole set; the other processes wait for it at their next step.
    if _evaluation_due(loop, position):
        evaluation = _evaluate_and_keep_best(loop, position)
        record.update(prefixed("val" if loop.setup.splits.val is not None else "test", evaluation))
    loop.writer.log(record)
    loop.writer.save(LAST_CHECKPOINT, position)
    return evaluation if loop.setup.splits.val is None else None


def _epoch_record(loop: _Loop, position: Position, timing: EpochEnd) -> dict[str, Any]:
    """The epoch's training loss and error over every process, and its timing; the epoch's sums start again."""
    epoch_loss, epoch_error, _ = position.epoch_sums.read(loop.parallel)
    position.epoch_sums.reset()
    return {
        "kind": "epoch",
        "iteration": position.iteration,
        "epoch": position.epoch,
        "seconds": timing.seconds,
        "data_wait_share": timing.data_seconds / max(timing.seconds, 1e-9),
        "train_loss": epoch_loss,
        "train_error": epoch_error,
    }


def _evaluation_due(loop: _Loop, position: Position) -> bool:
    """Every runtime.eval_every epochs and after the last step, on rank 0."""
    every = loop.config.runtime.eval_every
    return (position.epoch % every == 0 or position.iteration >= loop.total) and loop.parallel.is_main


def _evaluate_and_keep_best(loop: _Loop, position: Position) -> EvalResult:
    """The evaluated weights on the held-out set (val, or test without one); a new best top-1 is saved as `best`."""
    splits = loop.setup.splits
    held_out = splits.val if splits.val is not None else splits.test
    result = _evaluate(loop.training.evaluated, loop.config, splits, held_out, loop.setup.device)
    if result.top1 > position.best_top1:
        position.best_top1 = result.top1
        loop.writer.save(BEST_CHECKPOINT, position)
    return result


def _checkpoint_or_stop_between_steps(
    loop: _Loop, position: Position, stop: StopRequest, *, at_epoch_end: bool
) -> None:
    """A checkpoint every runtime.checkpoint_every iterations, and the stop a signal asked for (at an epoch's end,
    once its evaluation and checkpoint are done). Never right after an epoch's last batch: that epoch's checkpoint
    follows its record, and one taken before it would make a resumed run log the epoch twice."""
    every = loop.config.runtime.checkpoint_every
    mid_epoch = not at_epoch_end and position.batch < loop.per_epoch
    checkpoint_due = bool(every) and position.iteration % every == 0
    stopping = _stop_asked_here(loop, position, stop)
    if mid_epoch and (checkpoint_due or stopping):
        check_finite(position, loop.parallel, loop.run_dir)
        loop.writer.save(LAST_CHECKPOINT, position)
    if stopping:
        raise stopped(stop, position.iteration, loop.run_dir)


def _stop_asked_here(loop: _Loop, position: Position, stop: StopRequest) -> bool:
    """Whether a signal asked the run to stop, the same answer on every process. Not asked after the run's last step
    (it ends anyway), nor after an epoch's last batch: the stop waits for that epoch's end, which comes next."""
    return position.iteration < loop.total and position.batch < loop.per_epoch and stop_requested(stop, loop.parallel)


def _test_final_weights(loop: _Loop, tested: EvalResult | None) -> EvalResult:
    """The final weights' test result on every process: rank 0 evaluates them, unless the last epoch did already."""
    setup = loop.setup
    if setup.parallel.is_main and tested is None:
        tested = _evaluate(loop.training.evaluated, loop.config, setup.splits, setup.splits.test, setup.device)
    setup.parallel.check_same_weights(setup.model)
    shared = setup.parallel.from_main(tested)
    assert isinstance(shared, EvalResult)
    return shared


def _evaluate(
    model: nn.Module, config: TrainConfig, splits: DataSplits, data: ImageSet | FileSet, device: torch.device
) -> EvalResult:
    batches = stream(config, splits, data, device, train=False)
    return evaluate(for_inference(model, config), batches.epoch(0), len(splits.train.classes), device=device)
