"""`resnetlab` command line: the only place that parses arguments."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import torch

from resnetlab.analysis import complexity, stage_complexity
from resnetlab.data import guess_dataset
from resnetlab.engine.config import load_config
from resnetlab.engine.evaluate_checkpoint import evaluate_checkpoint
from resnetlab.engine.predict import expand_image_paths, format_predictions, load_trained, predict
from resnetlab.engine.train import TrainingInterruptedError, TrainResult, resume, train
from resnetlab.errors import UserInputError
from resnetlab.models import create_model, list_models, model_entry
from resnetlab.models.network import ResNet


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""


_default_format_warning = warnings.formatwarning


def _format_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, line: str | None = None
) -> str:
    """resnetlab's own warnings (skipped files, an unwritable cache) as one line, without a source location that
    would point into resnetlab rather than at the user's data."""
    if category.__module__.startswith("resnetlab"):
        return f"resnetlab: warning: {message}\n"
    return _default_format_warning(message, category, filename, lineno, line)


def main(argv: Sequence[str] | None = None) -> int:
    warnings.formatwarning = _format_warning
    for stream in (sys.stdout, sys.stderr):
        _print_file_names_as_bytes(stream)
    parser = _build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.run(args) or 0)
    except TrainingInterruptedError as error:
        _say(f"resnetlab: {error}")
        return error.exit_code  # 128 + the signal's number, as the shell reports a process it stopped
    except KeyboardInterrupt:
        _say("resnetlab: interrupted")
        return 130
    except OSError as error:  # a full disk or a file that vanished: the machine's state, not a bug
        where = f" ({error.filename})" if error.filename else ""
        _say(f"resnetlab: error: {error.strerror or error}{where}")
        return 1
    except (UsageError, UserInputError) as error:
        _say(f"resnetlab: error: {error}")
        return 2
    except BrokenPipeError:  # `resnetlab models | head` closing the pipe early is fine
        return 0


def _say(message: str) -> None:
    """One line on stderr; under torchrun from rank 0 only, since every process meets the same bad input (a failure
    of another rank alone is reported by the launcher, see resnetlab.engine.launch)."""
    if os.environ.get("RANK", "0") == "0":
        print(message, file=sys.stderr)


def _print_file_names_as_bytes(stream: object) -> None:
    """A file name that is not valid UTF-8 (from another system's archive) prints as its original bytes instead of
    failing the whole command. Only for streams backed by a file: in-memory captures keep their own rules."""
    try:
        stream.fileno()  # type: ignore[attr-defined]
        stream.reconfigure(errors="surrogateescape")  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (what is wrong, where to look) instead of the whole usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="resnetlab", description="Residual networks of He et al., on PyTorch.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True, parser_class=_Parser)

    models = commands.add_parser("models", help="list the networks with their parameters and MACs")
    models.add_argument("pattern", nargs="?", default="*", help="shell-style name filter, e.g. 'cifar_*'")
    models.add_argument("--format", choices=("plain", "markdown"), default="plain", help="table style")
    models.set_defaults(run=_run_models)

    summary = commands.add_parser("summary", help="per-stage output shapes, parameters and MACs of one network")
    summary.add_argument("name", help="a registered model name (see `resnetlab models`)")
    summary.add_argument("--input-size", type=_positive_int, default=None, help="square input side in pixels")
    summary.add_argument("--num-classes", type=_non_negative_int, default=None, help="classifier outputs")
    summary.set_defaults(run=_run_summary)

    train = commands.add_parser(
        "train",
        help="train a network (no arguments: the main job, cifar_resnet20 on the embedded digits)",
        description="Train a network. Values come from the defaults, then CONFIG, then the flags, then --set.",
    )
    train.add_argument("config", nargs="?", type=Path, help="a YAML recipe, e.g. configs/cifar10/resnet20.yaml")
    train.add_argument("--model", help="registered model name (model.name)")
    train.add_argument("--data", help="dataset path: CIFAR pickle folder or class-per-folder tree (data.path)")
    train.add_argument("--dataset", choices=("digits", "cifar10", "cifar100", "folder"), help="data.dataset")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=_positive_int, help="train for N epochs (schedule.unit=epoch)")
    length.add_argument("--iters", type=_positive_int, help="train for N iterations (schedule.unit=iteration)")
    train.add_argument("--batch-size", type=_positive_int, help="data.batch_size")
    train.add_argument("--lr", type=float, help="base learning rate (optim.lr)")
    train.add_argument("--seed", type=_non_negative_int, help="runtime.seed")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), help="runtime.device")
    train.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16", "fp16"),
        help="runtime.precision (auto: bf16 where native; fp16: CUDA only)",
    )
    train.add_argument("--deterministic", action="store_true", default=None, help="runtime.deterministic=true")
    train.add_argument("--out", type=Path, help="run directory (default: a new folder under runtime.out_dir)")
    train.add_argument("--force", action="store_true", help="start over in an existing --out (the old one is kept)")
    train.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a run from its last checkpoint")
    train.add_argument(
        "--nproc",
        type=_positive_int,
        help="train in N processes on this machine (torchrun, DistributedDataParallel; data.batch_size is the "
        "global batch)",
    )
    _add_transfer_flags(train)
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any config value, repeatable")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(run=_run_train)

    finetune = commands.add_parser(
        "finetune",
        help="fine-tune pretrained weights on a class-per-folder image tree (a new head sized from the data)",
        description="Fine-tune pretrained weights on a class-per-folder tree: the weights' own input size and "
        "normalisation, a new head, the backbone at 0.1x the head's LR, a 10-epoch cosine schedule.",
    )
    finetune.add_argument("data", type=Path, help="a class-per-folder image tree (JPEG/PNG, any sizes)")
    finetune.add_argument(
        "--init",
        required=True,
        help="torchvision:NAME[.WEIGHTS], timm:NAME, or a local .pth / .safetensors / resnetlab checkpoint",
    )
    finetune.add_argument("--model", help="the network the weights fit (default: read from the weights)")
    finetune.add_argument("--freeze-stages", type=_non_negative_int, help="freeze the stem and the first N stages")
    finetune.add_argument("--epochs", type=_positive_int, help="schedule length (default 10)")
    finetune.add_argument("--lr", type=float, help="the head's LR (default 0.01; the backbone's is 0.1x)")
    finetune.add_argument("--batch-size", type=_positive_int, help="data.batch_size (default 32)")
    finetune.add_argument("--seed", type=_non_negative_int, help="runtime.seed")
    finetune.add_argument("--device", choices=("auto", "cpu", "cuda"), help="runtime.device")
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
        choices=("center", "flip", "ten_crop"),
        help="evaluation view (default: the run's data.eval_view): center is [R1]'s single view; flip averages each "
        "image with its mirror; ten_crop ([R1] Sec. 3.4) needs a streamed folder",
    )
    evaluate.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16", "fp16", "int8"),
        help="override the run's runtime.precision; int8 quantizes the model (CPU only, calibrated on 512 training "
        "images): faster, but check its accuracy against fp32",
    )
    _add_compile_flag(evaluate)
    evaluate.set_defaults(run=_run_eval)

    predict = commands.add_parser("predict", help="classify image files, folders or glob patterns")
    predict.add_argument("checkpoint", type=Path, help="a .pt checkpoint or a run directory")
    predict.add_argument("images", nargs="+", help="image files, folders or patterns")
    predict.add_argument("--topk", type=_positive_int, default=1, help="how many classes to show per image")
    predict.add_argument(
        "--format", choices=("text", "json", "csv"), default="text", help="text, JSON lines, or CSV with a header"
    )
    predict.add_argument("--json", action="store_true", help="the same as --format json")
    predict.add_argument("--out", type=Path, help="write the predictions to this file instead of printing them")
    predict.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    _add_compile_flag(predict)
    predict.set_defaults(run=_run_predict)

    embed = commands.add_parser("embed", help="pooled features of image files, as a .npy array")
    embed.add_argument("checkpoint", type=Path, help="a checkpoint, a run directory, or pretrained weights")
    embed.add_argument("images", nargs="+", help="image files, folders or patterns")
    embed.add_argument("--out", type=Path, required=True, help="the .npy file (its .txt twin lists the images)")
    embed.add_argument("--stage", type=_positive_int, help="a stage's average-pooled map instead of the head's input")
    embed.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    embed.set_defaults(run=_run_embed)

    export = commands.add_parser("export", help="export to ONNX or TorchScript, checked against PyTorch")
    export.add_argument("checkpoint", type=Path, help="a checkpoint, a run directory, or pretrained weights")
    export.add_argument("--format", choices=("onnx", "torchscript"), default="onnx", help="default: %(default)s")
    export.add_argument("--out", type=Path, help="the file to write (default: model.onnx / model.ts beside it)")
    export.add_argument(
        "--dynamic-batch",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="any batch size (default); --no-dynamic-batch fixes it to the check batch's",
    )
    export.add_argument("--opset", type=_positive_int, help="ONNX opset version (default 18)")
    export.add_argument("--images", nargs="+", help="images to check the export on (default: random inputs)")
    export.set_defaults(run=_run_export)

    explain = commands.add_parser("explain", help="Grad-CAM heatmap of the evidence for a class, over the image")
    explain.add_argument("checkpoint", type=Path, help="a checkpoint, a run directory, or pretrained weights")
    explain.add_argument("image", type=Path, help="one image file")
    explain.add_argument("--out", type=Path, required=True, help="the PNG to write (the image's size)")
    explain.add_argument("--class", dest="class_name", help="explain this class (default: the top one)")
    explain.set_defaults(run=_run_explain)
    experiment = commands.add_parser("experiment", help="run one of the papers' experiments (resumable)")
    experiment.add_argument(
        "name",
        choices=("degradation", "depth", "gradients", "identity-mappings", "responses", "shortcuts"),
        help="degradation: [R1] Fig. 6, plain nets vs ResNets; depth: [R1] Table 6; gradients: the backward signal "
        "per layer; identity-mappings: [R2] Tables 1 and 2; responses: [R1] Fig. 7; shortcuts: options A/B/C",
    )
    experiment.add_argument(
        "--budget",
        choices=("smoke", "quick", "paper"),
        default="quick",
        help="paper: the papers' recipes; quick: shortened to about an hour on 2 cores; smoke: seconds, digits",
    )
    experiment.add_argument("--data", help="CIFAR-10: pickle folder or class-per-folder tree (quick and paper)")
    experiment.add_argument(
        "--out", type=Path, help="experiment folder (default: runs/experiments/NAME-BUDGET); run again to continue"
    )
    experiment.add_argument("--seeds", type=_positive_int, default=1, help="runs per network; tables show the median")
    experiment.add_argument("--progress", action="store_true", help="a progress bar per training run")
    experiment.set_defaults(run=_run_experiment)

    report = commands.add_parser("report", help="one self-contained HTML page of run and experiment directories")
    report.add_argument("paths", nargs="+", type=Path, help="run directories and experiment directories")
    report.add_argument(
        "--out", type=Path, default=Path("report.html"), help="the page to write (default: %(default)s)"
    )
    report.add_argument("--title", default="resnetlab report", help="the page's title")
    report.set_defaults(run=_run_report)
    return parser


def _run_report(args: argparse.Namespace) -> int:
    from resnetlab.report import build_report

    print(f"report: {build_report(args.paths, args.out, title=args.title)}")
    return 0


def _run_experiment(args: argparse.Namespace) -> int:
    from resnetlab.experiments import run

    out = args.out or Path("runs") / "experiments" / f"{args.name}-{args.budget}"
    command = f"resnetlab experiment {args.name} --budget {args.budget}"
    command += f" --data {args.data}" if args.data else ""
    command += f" --seeds {args.seeds}" if args.seeds > 1 else ""
    command += f" --out {args.out}" if args.out else ""
    summary = run(
        args.name,
        budget=args.budget,
        data=args.data,
        out=out,
        seeds=args.seeds,
        command=command,
        show_progress=args.progress,
        announce=lambda line: print(f"resnetlab: {line}", file=sys.stderr, flush=True),
    )
    print(f"summary: {summary}\nreport: {summary.with_name('report.html')}")
    return 0


def _add_compile_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the model: faster per image, but compiling takes seconds to minutes",
    )


def _add_transfer_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--init", help="start from pretrained weights: torchvision:NAME[.WEIGHTS], timm:NAME, or a file (model.init)"
    )
    command.add_argument(
        "--freeze-stages", type=_non_negative_int, help="freeze the stem and the first N stages (model.freeze_stages)"
    )


def _run_finetune(args: argparse.Namespace) -> int:
    from resnetlab.engine.finetune import finetune_overrides
    from resnetlab.models.pretrained import load_pretrained

    weights = load_pretrained(args.init)
    print(f"resnetlab: fine-tuning {weights.source}", file=sys.stderr)
    preset = finetune_overrides(weights, args.data, args.model, args.init)
    flags: list[tuple[str, object]] = [
        ("model.freeze_stages", args.freeze_stages),
        ("schedule.length", args.epochs),
        ("optim.lr", args.lr),
        ("data.batch_size", args.batch_size),
        ("runtime.seed", args.seed),
        ("runtime.device", args.device),
    ]
    overrides = preset + [f"{key}={json.dumps(value)}" for key, value in flags if value is not None] + list(args.set)
    config = load_config(None, overrides)
    loaded = weights if config.model.init == args.init else None  # unless --set named other weights
    result = train(config, out=args.out, force=args.force, show_progress=not args.no_progress, init_weights=loaded)
    return _report_training(result)


def _train_overrides(args: argparse.Namespace) -> list[str]:
    """The flags as `key=value` overrides, applied before --set so that --set has the last word."""
    pairs: list[tuple[str, object]] = [
        ("model.name", args.model),
        ("data.path", args.data),
        ("data.dataset", args.dataset),
        ("data.batch_size", args.batch_size),
        ("optim.lr", args.lr),
        ("runtime.seed", args.seed),
        ("runtime.device", args.device),
        ("runtime.precision", args.precision),
        ("runtime.deterministic", args.deterministic),
        ("model.init", args.init),
        ("model.freeze_stages", args.freeze_stages),
    ]
    if args.data is not None and args.dataset is None:
        pairs.append(("data.dataset", guess_dataset(Path(args.data))))
    if args.epochs is not None:
        pairs += [("schedule.unit", "epoch"), ("schedule.length", args.epochs)]
    if args.iters is not None:
        pairs += [("schedule.unit", "iteration"), ("schedule.length", args.iters)]
    return [f"{key}={json.dumps(value)}" for key, value in pairs if value is not None] + list(args.set)


def _run_train(args: argparse.Namespace) -> int:
    if args.nproc is not None and args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        from resnetlab.engine.launch import launch_processes  # torch.distributed's launcher: imported when used

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
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 speaks for the run
        return 0
    test = result.test
    print(
        f"test accuracy {100 * test.top1:.2f}% (top-5 {100 * test.top5:.2f}%, loss {test.loss:.4f}) on "
        f"{test.count} images after {result.iterations} iterations in {result.seconds:.0f} s"
    )
    print(f"run directory: {result.run_dir}")
    return 0


def _run_eval(args: argparse.Namespace) -> int:
    result, classes = evaluate_checkpoint(
        args.checkpoint, data_path=args.data, view=args.view, compile=args.compile, precision=args.precision
    )
    print(
        f"test accuracy {100 * result.top1:.2f}% (top-5 {100 * result.top5:.2f}%, loss {result.loss:.4f}) on "
        f"{result.count} images"
    )
    if args.per_class:
        for name, accuracy in zip(classes, result.per_class, strict=True):
            print(f"  {name}: {100 * accuracy:.2f}%")
    return 0


def _run_predict(args: argparse.Namespace) -> int:
    from resnetlab.engine.device import resolve_device

    trained = load_trained(args.checkpoint, resolve_device(args.device))
    rows = predict(trained, expand_image_paths(args.images), topk=args.topk, compile=args.compile)
    if args.json and args.format not in ("text", "json"):
        raise UsageError(f"--json and --format {args.format} contradict each other; give one of them")
    style = "json" if args.json else args.format
    text = format_predictions(rows, style)
    if args.out is None:
        sys.stdout.write(text)
    else:
        _write_text(args.out, text)
        print(f"{len(rows)} predictions: {args.out}")
    return 0


def _run_embed(args: argparse.Namespace) -> int:
    from resnetlab.engine.device import resolve_device
    from resnetlab.engine.embed import check_features_path, embed, save_features

    check_features_path(args.out)
    trained = load_trained(args.checkpoint, resolve_device(args.device))
    paths = expand_image_paths(args.images)
    features = embed(trained, paths, stage=args.stage)
    listing = save_features(features, paths, args.out)
    print(f"{features.shape[0]} x {features.shape[1]} features: {args.out} (rows in the order of {listing})")
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from resnetlab.engine.export import export_model

    trained = load_trained(args.checkpoint, torch.device("cpu"))
    suffix = ".onnx" if args.format == "onnx" else ".ts"
    out = args.out or trained.path.with_name(f"model{suffix}")
    images = expand_image_paths(args.images) if args.images else None
    result = export_model(
        trained, out, format=args.format, dynamic_batch=args.dynamic_batch, opset=args.opset, images=images
    )
    sizes = " and ".join(map(str, result.batch_sizes))
    print(f"exported: {result.path} ({result.path.stat().st_size / 2**20:.1f} MiB)")
    print(f"check: max |logit difference| vs PyTorch {result.max_difference:.2e} on {result.inputs}, batch {sizes}")
    return 0


def _run_explain(args: argparse.Namespace) -> int:
    from resnetlab.engine.explain import explain

    trained = load_trained(args.checkpoint, torch.device("cpu"))
    result = explain(trained, args.image, args.out, args.class_name)
    print(f"{args.image}: {result.class_name} {100 * result.probability:.1f}%; Grad-CAM: {result.path}")
    return 0


def _write_text(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, errors="surrogateescape")  # file names that are not UTF-8 keep their bytes
    partial.replace(path)


def _run_models(args: argparse.Namespace) -> int:
    names = list_models(args.pattern)
    if not names:
        raise UsageError(f"no model matches {args.pattern!r}; run `resnetlab models` to see all names")
    header = ("model", "params (M)", "GMACs", "input", "architecture")
    rows = []
    for name in names:
        model = _meta_model(name)
        cost = complexity(model)
        _, height, width = cost.input_size
        rows.append(
            (name, f"{cost.params / 1e6:.3f}", f"{cost.macs / 1e9:.3f}", f"{height}x{width}", model_entry(name).source)
        )
    print(_format_table(header, rows, markdown=args.format == "markdown", right_aligned={1, 2}))
    return 0


def _run_summary(args: argparse.Namespace) -> int:
    model = _meta_model(args.name, args.num_classes)
    total = complexity(model, args.input_size)
    channels, height, width = total.input_size
    print(f"{args.name}: {model_entry(args.name).source}, input {channels}x{height}x{width}")
    rows = [
        (part.name, "x".join(map(str, part.output_shape)), f"{part.params:,}", f"{part.macs / 1e6:,.1f}")
        for part in stage_complexity(model, args.input_size)
    ]
    rows.append(("total", "", f"{total.params:,}", f"{total.macs / 1e6:,.1f}"))
    print(_format_table(("part", "output", "params", "MMACs"), rows, markdown=False, right_aligned={2, 3}))
    print(f"activations for one image: {total.activations / 2**20:.1f} MiB (fp32, forward pass)")
    return 0


def _meta_model(name: str, num_classes: int | None = None) -> ResNet:
    """Built on the meta device: shapes only, so counting even ResNet-1202 takes a moment and no memory."""
    with torch.device("meta"):
        model = create_model(name) if num_classes is None else create_model(name, num_classes=num_classes)
    assert isinstance(model, ResNet)
    return model


def _format_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, markdown: bool, right_aligned: set[int]
) -> str:
    table = [list(header), *map(list, rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def cell(text: str, column: int) -> str:
        return text.rjust(widths[column]) if column in right_aligned else text.ljust(widths[column])

    cells = [[cell(text, column) for column, text in enumerate(row)] for row in table]
    if markdown:
        rule = ["-" * (w - 1) + ":" if i in right_aligned else "-" * w for i, w in enumerate(widths)]
        cells.insert(1, rule)
        return "\n".join("| " + " | ".join(row) + " |" for row in cells)
    cells.insert(1, ["-" * w for w in widths])
    return "\n".join("  ".join(row).rstrip() for row in cells)


def _positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


if __name__ == "__main__":
    sys.exit(main())
