"""The training loop: one function, top to bottom. [R1] Sec. 3.4 / 4.2 recipes are configs, not code."""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from resnetlab.config import TrainConfig, config_to_dict, load_config, save_config
from resnetlab.data import BatchStream, DataSplits, FileSet, FileStream, ImageSet, batches, load_splits
from resnetlab.data.shard import check_batches_shard
from resnetlab.errors import UserInputError
from resnetlab.inference.evaluate import EvalResult, evaluate
from resnetlab.inference.optimize import optimize_for_inference
from resnetlab.models import model_entry
from resnetlab.models.pretrained import PretrainedWeights
from resnetlab.runs.checkpoint import export_weights, load_checkpoint_or_previous, save_checkpoint
from resnetlab.runs.plots import plot_run
from resnetlab.runs.run_dir import (
    BEST_CHECKPOINT,
    CONFIG_FILE,
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
from resnetlab.runtime.device import autocast, deterministic_mode, resolve_device
from resnetlab.runtime.distributed import Parallel, parallel_for, per_process_batch
from resnetlab.train.build import build_model, model_record, resolved_config, seed_everything
from resnetlab.train.ema import WeightAverage
from resnetlab.train.optim import build_optimizer, set_learning_rate
from resnetlab.train.running import RunningSums, restore_rng, rng_state
from resnetlab.train.schedule import learning_rate, total_iterations
from resnetlab.train.step import TrainStep
from resnetlab.train.stop import StopRequest, stop_on_signals


class TrainingDivergedError(UserInputError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterruptedError(UserInputError):
    """Ctrl-C or SIGTERM: the run stops; its last checkpoint is where `--resume` continues."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # the shell's 128 + signal number: 130 for SIGINT, 143 for SIGTERM


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
        setup = _prepare(config, init_weights=init_weights)

        def make_run_dir() -> Path:
            name = f"{config.model.name}-{config.data.dataset}"
            copies = 2 if config.optim.ema_decay is None else 4
            check_free_space((out or Path(config.runtime.out_dir)).resolve(), setup.model, copies=copies)
            run_dir = new_run_dir(out, Path(config.runtime.out_dir), name, force=force)
            save_config(config, run_dir / CONFIG_FILE)
            _write_json(run_dir / "environment.json", environment())
            return run_dir

        run_dir = _on_main(setup.parallel, make_run_dir)
        return _resumable(
            run_dir, setup.parallel, lambda stop: _run(config, setup, run_dir, None, stop, show_progress=show_progress)
        )


def resume(run_dir: Path, *, show_progress: bool = True) -> TrainResult:
    """Continue a run from its last checkpoint, with the config it was started with."""
    run_dir = existing_run_dir(run_dir)
    if (run_dir / TEST_METRICS).exists():
        raise UserInputError(f"{run_dir} has finished; evaluate it with `resnetlab eval {run_dir}`")
    config = load_config(run_dir / CONFIG_FILE)
    checkpoint = load_checkpoint_or_previous(run_dir / LAST_CHECKPOINT)
    with deterministic_mode(config.runtime.deterministic):
        setup = _prepare(config, resuming=True)
        return _resumable(
            run_dir,
            setup.parallel,
            lambda stop: _run(config, setup, run_dir, checkpoint, stop, show_progress=show_progress),
        )


def _stopped(stop: StopRequest, iteration: int, run_dir: Path) -> None:
    number = getattr(signal, stop.signal_name or "SIGINT")
    raise TrainingInterruptedError(
        f"stopped by {stop.signal_name} after iteration {iteration}, checkpoint written; continue with "
        f"`resnetlab train --resume {run_dir}`",
        exit_code=128 + int(number),
    )


def _on_main(parallel: Parallel, make: Callable[[], Path]) -> Path:
    """`make()` on rank 0, its result (or its one-line error) on every process."""
    outcome: tuple[str, object]
    if parallel.is_main:
        try:
            outcome = ("ok", make())
        except UserInputError as error:
            outcome = ("error", str(error))
            parallel.from_main(outcome)
            raise
    else:
        outcome = ("waiting", None)
    shared = parallel.from_main(outcome)
    assert isinstance(shared, tuple)
    if shared[0] == "error":
        raise UserInputError(str(shared[1]))
    return Path(str(shared[1]))


def _resumable(run_dir: Path, parallel: Parallel, run: Callable[[StopRequest], TrainResult]) -> TrainResult:
    try:
        with stop_on_signals() as stop:
            return run(stop)
    except KeyboardInterrupt:
        if (run_dir / LAST_CHECKPOINT).exists():
            hint = f"continue from the last checkpoint with `resnetlab train --resume {run_dir}`"
        else:
            hint = f"no checkpoint was written yet; start again with --out {run_dir} --force"
        raise TrainingInterruptedError(f"interrupted; {hint}") from None
    finally:
        if parallel.active:
            _release_frames(sys.exc_info()[1])
        parallel.close()


def _release_frames(error: BaseException | None) -> None:
    """The frames of a run that ended by an exception hold the DDP wrapper in their locals (and the exception holds
    the frames), which would keep it alive past the process group's end; see Parallel.close. Clearing the locals
    leaves what a traceback prints (files, lines, code) as it was."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)
        error = error.__cause__ or error.__context__


@dataclass(frozen=True)
class _Setup:
    device: torch.device
    splits: DataSplits
    model: nn.Module
    parallel: Parallel


def _prepare(config: TrainConfig, *, resuming: bool = False, init_weights: PretrainedWeights | None = None) -> _Setup:
    """Seed, then data and model: the same order on every start, so a run is reproducible from its config."""
    seed_everything(config.runtime.seed)
    parallel, device = parallel_for(resolve_device(config.runtime.device))  # a torchrun process joins its group
    autocast(device, config.runtime.precision)  # refuses bf16 where it is unsupported, before anything is written
    model_entry(config.model.name)  # an unknown name fails before the data is read
    splits = load_splits(config.data)
    if parallel.context is not None:  # the global batch must share out evenly, in every batch
        per_process_batch(config.data.batch_size, parallel.context)
        check_batches_shard(len(splits.train), config.data.batch_size, parallel.shard)
    # A resumed run's weights come from its checkpoint: the initial weights (model.init) are not read again.
    model = build_model(config, splits.train, load_init=not resuming, init_weights=init_weights)
    memory_format = torch.channels_last if config.runtime.channels_last else torch.contiguous_format
    model.to(device)
    if device.type == "cuda" and not config.runtime.deterministic:
        torch.backends.cudnn.benchmark = True  # fixed input shapes: the fastest convolution kernels, found once
    return _Setup(device, splits, model.to(memory_format=memory_format), parallel)


def _run(
    config: TrainConfig,
    setup: _Setup,
    run_dir: Path,
    checkpoint: dict[str, Any] | None,
    stop: StopRequest,
    *,
    show_progress: bool,
) -> TrainResult:
    runtime, schedule = config.runtime, config.schedule
    device, splits, model, parallel = setup.device, setup.splits, setup.model, setup.parallel
    optimizer = build_optimizer(model, config.optim)
    num_classes = len(splits.train.classes)
    # The averaged weights, when asked for, are what gets evaluated, kept as `best` and exported.
    average = WeightAverage(model, config.optim.ema_decay) if config.optim.ema_decay is not None else None
    evaluated = average.module if average is not None else model
    step = TrainStep(
        parallel.wrap(model, sync_batchnorm=runtime.sync_batchnorm),  # DDP under torchrun; the model itself otherwise
        optimizer,
        device=device,
        precision=runtime.precision,
        label_smoothing=config.optim.label_smoothing,
        grad_clip=config.optim.grad_clip,
        compile=runtime.compile,
    )

    train_batches = _stream(config, splits, splits.train, device, train=True, shard=parallel.shard)
    eval_set = splits.val if splits.val is not None else splits.test
    iterations_per_epoch = len(train_batches)
    total = total_iterations(schedule, iterations_per_epoch)

    # Where we are: the next batch to run, [R1]'s ResNet-110 warm-up state, and the running training statistics
    # (per log window and per epoch), all saved in checkpoints so that a resumed run logs and decides as the
    # uninterrupted one would.
    epoch, batch_index, iteration = 0, 0, 0
    warming_up = schedule.warmup_until_error is not None
    best_top1 = -1.0
    window, epoch_sums = RunningSums(device), RunningSums(device)
    if checkpoint is not None:
        model.load_state_dict(checkpoint.get("trained_model", checkpoint["model"]))
        optimizer.load_state_dict(checkpoint["optimizer"])
        if average is not None:
            average.load_state_dict(checkpoint["average"], checkpoint["model"])
        if "scaler" in checkpoint:
            step.scaler.load_state_dict(checkpoint["scaler"])
        progress = checkpoint["progress"]
        epoch, batch_index, iteration = progress["epoch"], progress["batch"], progress["iteration"]
        warming_up, best_top1 = progress["warming_up"], progress["best_top1"]
        window.load(progress["window"])
        epoch_sums.load(progress["epoch_sums"])
        restore_rng(checkpoint["rng"])
    log = (
        MetricsLog(run_dir / METRICS_FILE, resume_after_iteration=iteration if checkpoint else None)
        if parallel.is_main
        else None
    )
    finite = torch.ones((), dtype=torch.bool, device=device)  # every loss so far was finite (checked lazily)

    def save(path: Path, next_epoch: int, next_batch: int) -> None:
        _stop_if_diverged(finite, iteration, run_dir)  # never overwrite a good checkpoint with NaN weights
        if not parallel.is_main:
            return
        progress = {
            "epoch": next_epoch,
            "batch": next_batch,
            "iteration": iteration,
            "warming_up": warming_up,
            "best_top1": best_top1,
            "window": window.state(),
            "epoch_sums": epoch_sums.state(),
        }
        # "model" holds the weights eval and predict use; with EMA those are the average, and the trained weights
        # that resume continues from are kept beside them.
        extra = {} if average is None else {"trained_model": model.state_dict(), "average": average.state_dict()}
        state = {
            **model_record(config, splits),
            "model": evaluated.state_dict(),
            **extra,
            "optimizer": optimizer.state_dict(),
            "scaler": step.scaler.state_dict(),
            "progress": progress,
            "pixel_mean": splits.pixel_mean,
            "rng": rng_state(),
            "config": config_to_dict(config),
        }
        save_checkpoint(state, path)

    started = time.perf_counter()
    # disable=None: a bar only on a terminal, so logs and CI output stay readable.
    visible = None if show_progress and parallel.is_main else True
    bar = tqdm(total=total, initial=iteration, disable=visible, unit="it", dynamic_ncols=True)
    model.train()
    test_result: EvalResult | None = None
    window_start = time.perf_counter()
    while iteration < total:
        data_seconds, epoch_start = 0.0, time.perf_counter()
        batches = iter(train_batches.epoch(epoch, start_batch=batch_index))
        while iteration < total:
            fetch_start = time.perf_counter()
            item = next(batches, None)
            data_seconds += time.perf_counter() - fetch_start
            if item is None:
                break
            images, labels = item
            lr = learning_rate(schedule, config.optim.lr, iteration, iterations_per_epoch, warming_up=warming_up)
            set_learning_rate(optimizer, lr)
            loss, logits = step(images, labels)
            if average is not None:
                average.update(model)

            # Training error the way [R1] Fig. 6 plots it: on the augmented batches as they are trained.
            finite &= torch.isfinite(loss)
            window.add(loss, logits, labels)
            epoch_sums.add(loss, logits, labels)
            iteration += 1
            batch_index += 1
            bar.update(1)

            if iteration % runtime.log_every == 0 or iteration == total:
                _agree_on_finite(finite, parallel)  # one NaN anywhere stops every process
                _stop_if_diverged(finite, iteration, run_dir)  # the one host sync per log window
                mean_loss, error, seen = window.read(parallel)
                elapsed = time.perf_counter() - window_start
                record = {"kind": "iteration", "iteration": iteration, "epoch": epoch, "lr": lr}
                if log is not None:
                    log.write(
                        {**record, "train_loss": mean_loss, "train_error": error, "images_per_second": seen / elapsed}
                    )
                bar.set_postfix(loss=f"{mean_loss:.3f}", err=f"{error:.3f}", lr=f"{lr:.3g}", refresh=False)
                if warming_up and schedule.warmup_until_error is not None and error < schedule.warmup_until_error:
                    warming_up = False  # [R1] Sec. 4.2: back to the schedule's LR once training error < 80%
                window.reset()
                window_start = time.perf_counter()
            # Not at an epoch's last batch: the end-of-epoch checkpoint follows its epoch record, and a checkpoint
            # taken before that record would make a resumed run log the epoch twice.
            mid_epoch = batch_index < iterations_per_epoch
            if runtime.checkpoint_every and iteration % runtime.checkpoint_every == 0 and mid_epoch:
                _agree_on_finite(finite, parallel)  # every process decides alike whether to write or stop
                save(run_dir / LAST_CHECKPOINT, epoch, batch_index)
            stopping = parallel.any(stop.requested) if parallel.active else stop.requested  # all processes agree
            if stopping and mid_epoch and iteration < total:
                _agree_on_finite(finite, parallel)
                save(run_dir / LAST_CHECKPOINT, epoch, batch_index)
                _stopped(stop, iteration, run_dir)

        epoch_seconds = time.perf_counter() - epoch_start
        epoch += 1
        batch_index = 0
        _agree_on_finite(finite, parallel)
        _stop_if_diverged(finite, iteration, run_dir)
        epoch_loss, epoch_error, _ = epoch_sums.read(parallel)
        epoch_sums.reset()
        record = {
            "kind": "epoch",
            "iteration": iteration,
            "epoch": epoch,
            "seconds": epoch_seconds,
            "data_wait_share": data_seconds / max(epoch_seconds, 1e-9),
            "train_loss": epoch_loss,
            "train_error": epoch_error,
        }
        # Evaluation on rank 0 alone, over the whole set; the other processes wait for it at their next step.
        if (epoch % runtime.eval_every == 0 or iteration >= total) and parallel.is_main:
            eval_batches = _stream(config, splits, eval_set, device, train=False)
            result = evaluate(_for_inference(evaluated, config), eval_batches.epoch(0), num_classes, device=device)
            prefix = "val" if splits.val is not None else "test"
            record.update({f"{prefix}_{key}": value for key, value in result.summary().items()})
            if result.top1 > best_top1:
                best_top1 = result.top1
                save(run_dir / BEST_CHECKPOINT, epoch, 0)
            if splits.val is None:
                test_result = result
        if log is not None:
            log.write(record)
        save(run_dir / LAST_CHECKPOINT, epoch, 0)
        stopping = parallel.any(stop.requested) if parallel.active else stop.requested
        if stopping and iteration < total:  # asked during the epoch's last step or its evaluation
            _stopped(stop, iteration, run_dir)
    bar.close()

    if parallel.is_main and (test_result is None or splits.val is not None):
        test_batches = _stream(config, splits, splits.test, device, train=False)
        test_result = evaluate(_for_inference(evaluated, config), test_batches.epoch(0), num_classes, device=device)
    parallel.check_same_weights(model)
    test_result = parallel.from_main(test_result)  # type: ignore[assignment]
    assert test_result is not None
    seconds = time.perf_counter() - started
    if not parallel.is_main:
        return TrainResult(run_dir, test_result, iteration, seconds)
    final = {f"test_{key}": value for key, value in test_result.summary().items()}
    assert log is not None
    log.write({"kind": "final", "iteration": iteration, "seconds": seconds, **final})
    log.close()
    export_weights(evaluated.state_dict(), run_dir / "model.safetensors", model_record(config, splits))
    plot_run(read_metrics(run_dir), run_dir, f"{config.model.name} on {config.data.dataset}")
    details = {"per_class": test_result.per_class, "confusion": test_result.confusion}
    _write_json(run_dir / TEST_METRICS, {**test_result.summary(), **details, "classes": splits.train.classes})
    return TrainResult(run_dir, test_result, iteration, seconds)


def _agree_on_finite(finite: torch.Tensor, parallel: Parallel) -> None:
    if parallel.active:
        finite.fill_(not parallel.any(not bool(finite.item())))


def _stop_if_diverged(finite: torch.Tensor, iteration: int, run_dir: Path) -> None:
    if bool(finite.item()):
        return
    last = run_dir / LAST_CHECKPOINT
    kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint had been written yet"
    raise TrainingDivergedError(
        f"training loss became NaN or infinite by iteration {iteration}; {kept} "
        "(try a lower optim.lr or set optim.grad_clip)"
    )


def _stream(
    config: TrainConfig,
    splits: DataSplits,
    data: ImageSet | FileSet,
    device: torch.device,
    *,
    train: bool,
    shard: tuple[int, int] = (0, 1),
) -> BatchStream | FileStream:
    return batches(
        config.data,
        splits,
        data,
        train=train,
        seed=config.runtime.seed,
        device=device,
        channels_last=config.runtime.channels_last,
        shard=shard,
    )


def _for_inference(model: nn.Module, config: TrainConfig) -> nn.Module:
    """The model as `eval` and `predict` will run it (BN folded, the run's precision and layout), so the accuracy a
    run reports is the one they reproduce."""
    return optimize_for_inference(model, precision=config.runtime.precision, channels_last=config.runtime.channels_last)


def _write_json(path: Path, value: Any) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(value, indent=2) + "\n")
    partial.replace(path)
