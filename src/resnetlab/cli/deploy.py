"""`resnetlab predict`, `embed`, `export` and `explain`: a trained network put to work."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import get_args

import torch

from resnetlab.cli.arguments import Commands, UsageError, add_compile_flag, positive_int, write_text
from resnetlab.config import Device
from resnetlab.errors import UserInputError
from resnetlab.inference.predict import expand_image_paths, format_predictions, predict
from resnetlab.inference.trained import load_trained


def add_commands(commands: Commands) -> None:
    predict = commands.add_parser("predict", help="classify image files, folders or glob patterns")
    predict.add_argument("checkpoint", type=Path, help="a .pt checkpoint or a run directory")
    predict.add_argument("images", nargs="+", help="image files, folders or patterns")
    predict.add_argument("--topk", type=positive_int, default=1, help="how many classes to show per image")
    predict.add_argument(
        "--format", choices=("text", "json", "csv"), default="text", help="text, JSON lines, or CSV with a header"
    )
    predict.add_argument("--json", action="store_true", help="the same as --format json")
    predict.add_argument("--out", type=Path, help="write the predictions to this file instead of printing them")
    predict.add_argument("--device", choices=get_args(Device), default="auto")
    predict.add_argument(
        "--engine",
        choices=("auto", "pytorch", "openvino"),
        default="auto",
        help="auto (default): the engine measured fastest on this CPU's class, where installed (`resnetlab info`)",
    )
    add_compile_flag(predict)
    predict.set_defaults(run=_run_predict)

    embed = commands.add_parser("embed", help="pooled features of image files, as a .npy array")
    embed.add_argument("checkpoint", type=Path, help="a checkpoint, a run directory, or pretrained weights")
    embed.add_argument("images", nargs="+", help="image files, folders or patterns")
    embed.add_argument("--out", type=Path, required=True, help="the .npy file (its .txt twin lists the images)")
    embed.add_argument("--stage", type=positive_int, help="a stage's average-pooled map instead of the head's input")
    embed.add_argument("--device", choices=get_args(Device), default="auto")
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
    export.add_argument("--opset", type=positive_int, help="ONNX opset version (default 18)")
    export.add_argument("--images", nargs="+", help="images to check the export on (default: random inputs)")
    export.set_defaults(run=_run_export)

    explain = commands.add_parser("explain", help="Grad-CAM heatmap of the evidence for a class, over the image")
    explain.add_argument("checkpoint", type=Path, help="a checkpoint, a run directory, or pretrained weights")
    explain.add_argument("image", type=Path, help="one image file")
    explain.add_argument("--out", type=Path, required=True, help="the PNG to write (the image's size)")
    explain.add_argument("--class", dest="class_name", help="explain this class (default: the top one)")
    explain.set_defaults(run=_run_explain)


def _run_predict(args: argparse.Namespace) -> int:
    from resnetlab.runtime.device import resolve_device

    if args.json and args.format not in ("text", "json"):
        raise UsageError(f"--json and --format {args.format} contradict each other; give one of them")
    trained = load_trained(args.checkpoint, resolve_device(args.device))
    paths = expand_image_paths(args.images)
    skipped = Skipped(len(paths))
    rows = predict(trained, paths, topk=args.topk, engine=args.engine, compile=args.compile, skip=skipped.add)
    skipped.check_any_left(len(rows))
    style = "json" if args.json else args.format
    text = format_predictions(rows, style)
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_text(args.out, text)
        print(f"{len(rows)} predictions: {args.out}")
    return skipped.exit_code()


def _run_embed(args: argparse.Namespace) -> int:
    from resnetlab.inference.embed import check_features_path, embed, save_features
    from resnetlab.runtime.device import resolve_device

    check_features_path(args.out)
    trained = load_trained(args.checkpoint, resolve_device(args.device))
    paths = expand_image_paths(args.images)
    skipped = Skipped(len(paths))
    features = embed(trained, paths, stage=args.stage, skip=skipped.add)
    skipped.check_any_left(features.shape[0])
    embedded = skipped.left(paths)
    listing = save_features(features, embedded, args.out)
    print(f"{features.shape[0]} x {features.shape[1]} features: {args.out} (rows in the order of {listing})")
    return skipped.exit_code()


class Skipped:
    """The images of a folder that could not be read: each named once, in one line, the rest processed; the command
    then exits with 1, so that a script notices (as `train` names the files it skips)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.files: list[tuple[Path, str]] = []

    def add(self, path: Path, why: str) -> None:
        self.files.append((path, why))

    def check_any_left(self, processed: int) -> None:
        """Nothing readable is one error naming the file(s); else the skipped ones are named on stderr."""
        named = "; ".join(f"{path} ({why})" for path, why in self.files)
        if processed == 0 and len(self.files) == 1:
            raise UserInputError(f"cannot read image {self.files[0][0]}: {self.files[0][1]}")
        if processed == 0:
            raise UserInputError(f"none of the {self.total} images could be read: {named}")
        if self.files:
            print(f"resnetlab: skipped {len(self.files)} unreadable image(s): {named}", file=sys.stderr)

    def left(self, paths: list[Path]) -> list[Path]:
        """`paths` without the skipped ones, in their order."""
        unreadable = {path for path, _ in self.files}
        return [path for path in paths if path not in unreadable]

    def exit_code(self) -> int:
        return 1 if self.files else 0


def _run_export(args: argparse.Namespace) -> int:
    from resnetlab.inference.export import export_model

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
    from resnetlab.inference.explain import explain

    trained = load_trained(args.checkpoint, torch.device("cpu"))
    result = explain(trained, args.image, args.out, args.class_name)
    print(f"{args.image}: {result.class_name} {100 * result.probability:.1f}%; Grad-CAM: {result.path}")
    return 0
