"""`resnetlab train`, `finetune` and `eval`."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import get_args

from resnetlab.cli.arguments import (
    Commands,
    UsageError,
    add_compile_flag,
    add_transfer_flags,
    positive_int,
    whole_number,
)
from resnetlab.config import Dataset, Device, EvalView, Precision, load_config, with_overrides
from resnetlab.data import guess_dataset
from resnetlab.data.folder import SkippedFilesWarning
from resnetlab.inference.evaluate_run import EvalPrecision, evaluate_checkpoint
from resnetlab.runtime.distributed import from_environment
from resnetlab.train.loop import TrainResult, resume, train


def add_commands(commands: Commands) -> None:
    train = commands.add_parser(
        "train",
        help="train a network (no arguments: the main job, cifar_resnet20 on the embedded digits)",
        description="Train a network. Values come from the defaults, then RECIPE, then the flags, then --set.",
    )
    train.add_argument(
        "config",
        nargs="?",
        metavar="RECIPE",
        help="a shipped recipe's name, e.g. cifar10/resnet20 (see `resnetlab recipes`), or a YAML file's path (a file "
        "that exists wins)",
    )
    train.add_argument("--model", help="registered model name (model.name)")
    train.add_argument("--data", help="dataset path: CIFAR pickle folder or class-per-folder tree (data.path)")
    train.add_argument("--dataset", choices=get_args(Dataset), help="data.dataset")
    length = train.add_mutually_exclusive_group()
    # Flags that set a config key parse a whole number; the config's own checks judge its range, in one place.
    length.add_argument("--epochs", type=whole_number, help="train for N epochs (schedule.unit=epoch)")
    length.add_argument("--iters", type=whole_number, help="train for N iterations (schedule.unit=iteration)")
    train.add_argument("--batch-size", type=whole_number, help="data.batch_size")
    train.add_argument("--lr", type=float, help="base learning rate (optim.lr)")
    train.add_argument("--seed", type=whole_number, help="runtime.seed")
    train.add_argument("--device", choices=get_args(Device), help="runtime.device")
    train.add_argument(
        "--precision",
        choices=get_args(Precision),
        help="runtime.precision (auto: bf16 where native; fp16: CUDA only)",
    )
    train.add_argument("--deterministic", action="store_true", default=None, help="runtime.deterministic=true")
    train.add_argument("--out", type=Path, help="run directory (default: a new folder under runtime.out_dir)")
    train.add_argument("--force", action="store_true", help="start over in an existing --out (the old one is kept)")
    train.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a run from its last checkpoint")
    train.add_argument(
        "--nproc",
        type=positive_int,
        help="train in N processes on this machine (torchrun, DistributedDataParallel; data.batch_size is the "
        "global batch)",
    )
    add_transfer_flags(train)
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config value, repeatable")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(run=_run_train)

    finetune = commands.add_parser(
        "finetune",
        help="fine-tune pretrained weights on a class-per-folder image tree (a new head sized from the data)",
        description="Fine-tune pretrained weights on a class-per-folder tree with the shipped recipe finetune/folder: "
        "the weights' own input size and normalisation, a new head, the backbone at 0.1x the head's LR, a 10-epoch "
        "cosine schedule.",
    )
    finetune.add_argument("data", type=Path, help="a class-per-folder image tree (JPEG/PNG, any sizes)")
    finetune.add_argument(
        "--init",
        required=True,
        help="torchvision:NAME[.WEIGHTS], timm:NAME, or a local .pth / .safetensors / resnetlab checkpoint",
    )
    finetune.add_argument("--model", help="the network the weights fit (default: read from the weights)")
    finetune.add_argument("--freeze-stages", type=whole_number, help="freeze the stem and the first N stages")
    finetune.add_argument("--epochs", type=whole_number, help="schedule length (default 10)")
    finetune.add_argument("--lr", type=float, help="the head's LR (default 0.01; the backbone's is 0.1x)")
    finetune.add_argument("--batch-size", type=whole_number, help="data.batch_size (default 32)")
    finetune.add_argument("--seed", type=whole_number, help="runtime.seed")
    finetune.add_argument("--device", choices=get_args(Device), help="runtime.device")
    finetune.add_argument("--out", type=Path, help="run directory (default: a new folder under runs/)")
    finetune.add_argument("--force", action="store_true", help="start over in an existing --out (the old one is kept)")
    finetune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config value")
    finetune.add_argument("--no-progress", action="store_true", help="no progress bar")
    finetune.set_defaults(run=_run_finetune)

    evaluate = commands.add_parser("eval", help="evaluate a checkpoint (or a run's last one) on a test split")
    evaluate.add_argument("checkpoint", type=Path, help="a .pt checkpoint or a run directory")
    evaluate.add_argument("--data", help="dataset path (default: the one the run was trained on)")
    evaluate.add_argument("--per-class", action="store_true", help="also print each class's accuracy")
    evaluate.add_argument(
        "--view",
        choices=get_args(EvalView),
        help="evaluation view (default: the run's data.eval_view): center is [R1]'s single view; flip averages each "
        "image with its mirror; flip_translate adds both shifted a pixel either way (six views); ten_crop "
        "([R1] Sec. 3.4) needs a streamed folder",
    )
    evaluate.add_argument(
        "--precision",
        choices=get_args(EvalPrecision),
        help="override the run's runtime.precision; int8 quantizes the model (CPU only, calibrated on 512 training "
        "images): faster, but check its accuracy against fp32",
    )
    add_compile_flag(evaluate)
    evaluate.set_defaults(run=_run_eval)


def _run_finetune(args: argparse.Namespace) -> int:
    from resnetlab.runs.weights import load_weights  # a run's checkpoint too, not only torchvision/timm/files
    from resnetlab.train.finetune import finetune_config

    weights = load_weights(args.init)
    print(f"resnetlab: fine-tuning {weights.source}", file=sys.stderr)
    preset = finetune_config(weights, args.data, args.model, args.init)
    flags = [*_flag_pairs(args, SHARED_FLAGS), ("schedule.length", args.epochs)]
    config = with_overrides(preset, _as_overrides(flags) + list(args.set))
    loaded = weights if config.model.init == args.init else None  # unless --set named other weights
    result = train(config, out=args.out, force=args.force, show_progress=not args.no_progress, init_weights=loaded)
    return _report_training(result)


def _train_overrides(args: argparse.Namespace) -> list[str]:
    """The flags as `key=value` overrides, applied before --set so that --set has the last word."""
    pairs = _flag_pairs(args, {**TRAIN_FLAGS, **SHARED_FLAGS})
    if args.data is not None and args.dataset is None:
        pairs.append(("data.dataset", guess_dataset(Path(args.data))))
    if args.epochs is not None:
        pairs += [("schedule.unit", "epoch"), ("schedule.length", args.epochs)]
    if args.iters is not None:
        pairs += [("schedule.unit", "iteration"), ("schedule.length", args.iters)]
    return _as_overrides(pairs) + list(args.set)


# The flags that set one config key each, by their argparse names: those of train and finetune alike, and train's own
# (finetune takes its model, data and weights as the preset it builds from them, not as overrides).
SHARED_FLAGS = {
    "batch_size": "data.batch_size",
    "lr": "optim.lr",
    "seed": "runtime.seed",
    "device": "runtime.device",
    "freeze_stages": "model.freeze_stages",
}
TRAIN_FLAGS = {
    "model": "model.name",
    "data": "data.path",
    "dataset": "data.dataset",
    "precision": "runtime.precision",
    "deterministic": "runtime.deterministic",
    "init": "model.init",
}


def _flag_pairs(args: argparse.Namespace, flags: dict[str, str]) -> list[tuple[str, object]]:
    """(config key, the flag's value) for each of `flags`; a flag not given is None and sets nothing."""
    return [(key, getattr(args, flag)) for flag, key in flags.items()]


def _as_overrides(pairs: list[tuple[str, object]]) -> list[str]:
    """The flags given (not None) as `key=value` overrides; values as JSON, which YAML reads back unchanged."""
    return [f"{key}={json.dumps(value)}" for key, value in pairs if value is not None]


def _run_train(args: argparse.Namespace) -> int:
    if args.nproc is not None and args.nproc > 1 and from_environment() is None:  # not yet one of its processes
        from resnetlab.runtime.launch import launch_processes  # torch.distributed's launcher: imported when used

        return launch_processes(args.nproc, _without_nproc(args.argv))
    if args.resume is not None:
        if args.config is not None or _train_overrides(args) or args.out is not None:
            raise UsageError("--resume continues a run with its saved config: give no config, flags or --out with it")
        result = resume(args.resume, show_progress=not args.no_progress)
    else:
        config = load_config(args.config, _train_overrides(args))
        result = train(config, out=args.out, force=args.force, show_progress=not args.no_progress)
    return _report_training(result)


def _without_nproc(argv: list[str]) -> list[str]:
    rest: list[str] = []
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token == "--nproc":
            skip = True
        elif not token.startswith("--nproc="):
            rest.append(token)
    return rest


def _report_training(result: TrainResult) -> int:
    context = from_environment()
    if context is not None and not context.is_main:  # under torchrun, rank 0 speaks for the run
        return 0
    test = result.test
    print(
        f"test accuracy {100 * test.top1:.2f}% (top-5 {100 * test.top5:.2f}%, loss {test.loss:.4f}) on "
        f"{test.count} images after {result.iterations} iterations in {result.seconds:.0f} s"
    )
    print(f"run directory: {result.run_dir}")
    return 0


def _run_eval(args: argparse.Namespace) -> int:
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always", SkippedFilesWarning)  # counted even where warnings are otherwise off
            caught = recorded
            result, classes = evaluate_checkpoint(
                args.checkpoint, data_path=args.data, view=args.view, compile=args.compile, precision=args.precision
            )
    finally:  # shown as they would have been (once the recording is over), also when the evaluation stops
        for warning in caught:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    where = f" of {args.data}" if args.data else ""  # other data: all of it, or its own test split
    print(
        f"test accuracy {100 * result.top1:.2f}% (top-5 {100 * result.top5:.2f}%, loss {result.loss:.4f}) on "
        f"{result.count} images{where}"
    )
    if args.per_class:
        for name, accuracy in zip(classes, result.per_class, strict=True):
            print(f"  {name}: {100 * accuracy:.2f}%")
    # A folder named to be evaluated (--data) with unreadable files: exit 1, as predict and embed do. The run's own
    # data was read the same way when it trained; its skips are named, not counted against this evaluation.
    skipped = any(issubclass(warning.category, SkippedFilesWarning) for warning in caught)
    return 1 if skipped and args.data else 0
