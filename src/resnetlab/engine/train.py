"""The training loop: one function, top to bottom. [R1] Sec. 3.4 / 4.2 recipes are configs, not code."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from resnetlab.data import BatchStream, DataSplits, ImageSet, load_splits
from resnetlab.engine.checkpoint import export_weights, load_checkpoint, save_checkpoint
from resnetlab.engine.config import TrainConfig, config_to_dict, load_config, save_config
from resnetlab.engine.device import autocast, resolve_device
from resnetlab.engine.evaluate import EvalResult, evaluate
from resnetlab.engine.optim import build_optimizer
from resnetlab.engine.plots import plot_run
from resnetlab.engine.run_dir import (
    BEST_CHECKPOINT,
    CONFIG_FILE,
    LAST_CHECKPOINT,
    METRICS_FILE,
    MetricsLog,
    environment,
    existing_run_dir,
    new_run_dir,
    read_metrics,
)
from resnetlab.engine.schedule import learning_rate, total_iterations
from resnetlab.errors import UserInputError
from resnetlab.models import create_model, model_entry


class TrainingDivergedError(UserInputError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterruptedError(UserInputError):
    """Ctrl-C: the run stops; its last checkpoint is where `--resume` continues."""


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    test: EvalResult
    iterations: int
    seconds: float


def train(
    config: TrainConfig, *, out: Path | None = None, force: bool = False, show_progress: bool = True
) -> TrainResult:
    """Start a new run of `config` in `out` (or a fresh folder under runtime.out_dir)."""
    setup = _prepare(config)  # everything that can fail on bad input, before anything is written
    run_dir = new_run_dir(out, Path(config.runtime.out_dir), f"{config.model.name}-{config.data.dataset}", force=force)
    save_config(config, run_dir / CONFIG_FILE)
    _write_json(run_dir / "environment.json", environment())
    return _resumable(run_dir, lambda: _run(config, setup, run_dir, checkpoint=None, show_progress=show_progress))


def resume(run_dir: Path, *, show_progress: bool = True) -> TrainResult:
    """Continue a run from its last checkpoint, with the config it was started with."""
    run_dir = existing_run_dir(run_dir)
    config = load_config(run_dir / CONFIG_FILE)
    checkpoint = load_checkpoint(run_dir / LAST_CHECKPOINT)
    setup = _prepare(config)
    return _resumable(run_dir, lambda: _run(config, setup, run_dir, checkpoint=checkpoint, show_progress=show_progress))


def _resumable(run_dir: Path, run: Callable[[], TrainResult]) -> TrainResult:
    try:
        return run()
    except KeyboardInterrupt:
        raise TrainingInterruptedError(
            f"interrupted; continue from the last checkpoint with `resnetlab train --resume {run_dir}`"
        ) from None


@dataclass(frozen=True)
class _Setup:
    device: torch.device
    splits: DataSplits
    model: nn.Module


def _prepare(config: TrainConfig) -> _Setup:
    """Seed, then data and model: the same order on every start, so a run is reproducible from its config."""
    _seed_everything(config.runtime.seed, deterministic=config.runtime.deterministic)
    device = resolve_device(config.runtime.device)
    model_entry(config.model.name)  # an unknown name fails before the data is read
    splits = load_splits(config.data)
    model = build_model(config, splits.train)
    memory_format = torch.channels_last if config.runtime.channels_last else torch.contiguous_format
    model.to(device)
    return _Setup(device, splits, model.to(memory_format=memory_format))


def _run(
    config: TrainConfig, setup: _Setup, run_dir: Path, checkpoint: dict[str, Any] | None, show_progress: bool
) -> TrainResult:
    runtime, schedule = config.runtime, config.schedule
    device, splits, model = setup.device, setup.splits, setup.model
    optimizer = build_optimizer(model, config.optim)

    train_batches = _stream(config, splits, splits.train, device, train=True)
    eval_set = splits.val if splits.val is not None else splits.test
    iterations_per_epoch = len(train_batches)
    total = total_iterations(schedule, iterations_per_epoch)

    # Where we are: the next batch to run, and [R1]'s ResNet-110 warm-up state.
    epoch, batch_index, iteration = 0, 0, 0
    warming_up = schedule.warmup_until_error is not None
    best_top1 = -1.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        progress = checkpoint["progress"]
        epoch, batch_index, iteration = progress["epoch"], progress["batch"], progress["iteration"]
        warming_up, best_top1 = progress["warming_up"], progress["best_top1"]
        torch.set_rng_state(checkpoint["rng"]["torch"])
        if iteration >= total:
            raise UserInputError(
                f"{run_dir} has finished all {total} iterations; evaluate it with `resnetlab eval {run_dir}`"
            )
    log = MetricsLog(run_dir / METRICS_FILE, resume_after_iteration=iteration if checkpoint else None)

    def state(next_epoch: int, next_batch: int) -> dict[str, Any]:
        return {
            **model_record(config, splits),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "progress": {
                "epoch": next_epoch,
                "batch": next_batch,
                "iteration": iteration,
                "warming_up": warming_up,
                "best_top1": best_top1,
            },
            "pixel_mean": splits.pixel_mean,
            "rng": {"torch": torch.get_rng_state()},
            "config": config_to_dict(config),
        }

    started = time.perf_counter()
    # disable=None: a bar only on a terminal, so logs and CI output stay readable.
    bar = tqdm(total=total, initial=iteration, disable=None if show_progress else True, unit="it", dynamic_ncols=True)
    model.train()
    test_result: EvalResult | None = None
    while iteration < total:
        loss_sum = torch.zeros((), device=device)
        errors = torch.zeros((), device=device, dtype=torch.int64)
        seen, data_seconds, window_start = 0, 0.0, time.perf_counter()
        epoch_start = time.perf_counter()
        batches = iter(train_batches.epoch(epoch, start_batch=batch_index))
        while iteration < total:
            fetch_start = time.perf_counter()
            item = next(batches, None)
            data_seconds += time.perf_counter() - fetch_start
            if item is None:
                break
            images, labels = item
            lr = learning_rate(schedule, config.optim.lr, iteration, iterations_per_epoch, warming_up=warming_up)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with autocast(device, runtime.precision):
                logits = model(images)
            loss = F.cross_entropy(logits.float(), labels, label_smoothing=config.optim.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.optim.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), config.optim.grad_clip)
            optimizer.step()

            # Training error the way [R1] Fig. 6 plots it: on the augmented batches as they are trained.
            loss_sum += loss.detach() * labels.numel()
            errors += (logits.detach().argmax(dim=1) != labels).sum()
            seen += labels.numel()
            iteration += 1
            batch_index += 1
            bar.update(1)

            if iteration % runtime.log_every == 0 or iteration == total:
                mean_loss, error = loss_sum.item() / seen, errors.item() / seen  # the one host sync per log
                if not math.isfinite(mean_loss):
                    raise TrainingDivergedError(
                        f"training loss became {mean_loss} at iteration {iteration}; the last good checkpoint is "
                        f"{run_dir / LAST_CHECKPOINT} (try a lower optim.lr or set optim.grad_clip)"
                    )
                elapsed = time.perf_counter() - window_start
                log.write(
                    {
                        "kind": "iteration",
                        "iteration": iteration,
                        "epoch": epoch,
                        "lr": lr,
                        "train_loss": mean_loss,
                        "train_error": error,
                        "images_per_second": seen / elapsed,
                    }
                )
                bar.set_postfix(
                    loss=f"{mean_loss:.3f}",
                    err=f"{error:.3f}",
                    lr=f"{lr:.3g}",
                    img_s=f"{seen / elapsed:.0f}",
                    refresh=False,
                )
                if warming_up and schedule.warmup_until_error is not None and error < schedule.warmup_until_error:
                    warming_up = False  # [R1] Sec. 4.2: back to the schedule's LR once training error < 80%
                loss_sum.zero_()
                errors.zero_()
                seen, window_start = 0, time.perf_counter()
            if runtime.checkpoint_every and iteration % runtime.checkpoint_every == 0 and iteration < total:
                save_checkpoint(state(epoch, batch_index), run_dir / LAST_CHECKPOINT)

        epoch_seconds = time.perf_counter() - epoch_start
        epoch += 1
        batch_index = 0
        record: dict[str, Any] = {
            "kind": "epoch",
            "iteration": iteration,
            "epoch": epoch,
            "seconds": epoch_seconds,
            "data_wait_share": data_seconds / max(epoch_seconds, 1e-9),
        }
        if epoch % runtime.eval_every == 0 or iteration >= total:
            eval_batches = _stream(config, splits, eval_set, device, train=False)
            result = evaluate(
                model, eval_batches.epoch(0), len(splits.train.classes), device=device, precision=runtime.precision
            )
            prefix = "val" if splits.val is not None else "test"
            record.update({f"{prefix}_{key}": value for key, value in result.summary().items()})
            if result.top1 > best_top1:
                best_top1 = result.top1
                save_checkpoint(state(epoch, 0), run_dir / BEST_CHECKPOINT)
            if splits.val is None:
                test_result = result
        log.write(record)
        save_checkpoint(state(epoch, 0), run_dir / LAST_CHECKPOINT)
    bar.close()

    if test_result is None or splits.val is not None:
        test_batches = _stream(config, splits, splits.test, device, train=False)
        test_result = evaluate(
            model, test_batches.epoch(0), len(splits.train.classes), device=device, precision=runtime.precision
        )
    seconds = time.perf_counter() - started
    log.write(
        {
            "kind": "final",
            "iteration": iteration,
            "seconds": seconds,
            **{f"test_{k}": v for k, v in test_result.summary().items()},
        }
    )
    log.close()
    _write_json(
        run_dir / "test_metrics.json",
        {
            **test_result.summary(),
            "per_class": test_result.per_class,
            "confusion": test_result.confusion,
            "classes": splits.train.classes,
        },
    )
    export_weights(model.state_dict(), run_dir / "model.safetensors", model_record(config, splits))
    plot_run(read_metrics(run_dir), run_dir, f"{config.model.name} on {config.data.dataset}")
    return TrainResult(run_dir, test_result, iteration, seconds)


def build_model(config: TrainConfig, train_set: ImageSet) -> nn.Module:
    """The configured network, sized from the data: classes and input channels come from the dataset."""
    options = dict(config.model.options)
    num_classes, in_chans = len(train_set.classes), int(train_set.images.shape[1])
    for key, from_data in (("num_classes", num_classes), ("in_chans", in_chans)):
        if options.setdefault(key, from_data) != from_data:
            raise UserInputError(f"model.options.{key}={options[key]} but the data has {from_data}; drop the option")
    return create_model(config.model.name, **options)


def model_record(config: TrainConfig, splits: DataSplits) -> dict[str, Any]:
    """What it takes to rebuild and feed the model later (eval, predict, export), stored in every checkpoint."""
    images = splits.train.images
    return {
        "model_name": config.model.name,
        "model_options": {
            **config.model.options,
            "num_classes": len(splits.train.classes),
            "in_chans": int(images.shape[1]),
        },
        "classes": list(splits.train.classes),
        "preprocess": {
            "normalize": config.data.normalize,
            "mean": list(splits.mean),
            "std": list(splits.std),
            "input_size": list(images.shape[1:]),
        },
    }


def _stream(
    config: TrainConfig, splits: DataSplits, data: ImageSet, device: torch.device, *, train: bool
) -> BatchStream:
    return BatchStream(
        data,
        config.data.batch_size if train else config.data.eval_batch_size,
        train=train,
        augment=config.data.augment if train else "none",
        normalize=config.data.normalize,
        mean=splits.mean,
        std=splits.std,
        pixel_mean=splits.pixel_mean,
        seed=config.runtime.seed,
        device=device,
        channels_last=config.runtime.channels_last,
    )


def _seed_everything(seed: int, *, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=False)
        torch.backends.cudnn.benchmark = False


def _write_json(path: Path, value: Any) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(value, indent=2) + "\n")
    partial.replace(path)
