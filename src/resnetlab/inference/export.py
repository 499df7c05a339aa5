"""Export a trained model to ONNX or TorchScript, then prove the file right by running it against PyTorch.

The exported graph takes what the PyTorch model takes: a float NCHW batch normalised as in training. How to get there
from an image (input size, mean/std, the shorter side to resize to) and what the outputs mean (class names) travel in
the file as metadata: ONNX `metadata_props` key "resnetlab", TorchScript extra file "resnetlab.json".
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

import resnetlab.files as files
from resnetlab.errors import UserInputError
from resnetlab.inference.trained import Trained, decode_image, input_normalization

ExportFormat = Literal["onnx", "torchscript"]
METADATA_KEY = "resnetlab"
TORCHSCRIPT_METADATA = "resnetlab.json"
DEFAULT_OPSET = 18


@dataclass(frozen=True)
class ExportResult:
    path: Path
    max_difference: float  # max |logit| difference between the exported file and PyTorch on the check inputs
    batch_sizes: tuple[int, ...]  # the batch sizes the check ran (two sizes when the batch is dynamic)
    inputs: str  # what the check ran on: "N images from ..." or "random inputs"


def export_metadata(trained: Trained) -> dict[str, Any]:
    preprocess = trained.record.preprocess
    metadata: dict[str, Any] = {
        "model_name": trained.record.model_name,
        "classes": trained.classes,
        "input_size": list(preprocess.input_size),
        "normalize": preprocess.normalize,
        "mean": list(preprocess.mean),
        "std": list(preprocess.std),
        "resize": preprocess.resize,
        "input": "float32 NCHW, (pixels / 255 - mean) / std per channel",
    }
    if preprocess.pixel_mean is not None and preprocess.normalize == "pixel_mean":  # [R1] Sec. 4.2: no std
        metadata["pixel_mean"] = preprocess.pixel_mean.tolist()
        metadata["input"] = "float32 NCHW, pixels / 255 - pixel_mean"
    return metadata


def export_model(
    trained: Trained,
    out: Path,
    *,
    format: ExportFormat,
    dynamic_batch: bool = True,
    opset: int | None = None,
    images: list[Path] | None = None,
) -> ExportResult:
    """Write `trained` to `out` in `format` and check it against PyTorch on `images` (or random inputs)."""
    if out.is_dir():
        raise UserInputError(f"{out} is a directory; give the file to write, e.g. {out / 'model.onnx'}")
    if not out.parent.is_dir():
        raise UserInputError(f"the folder {out.parent} does not exist; create it or choose another --out")
    model = trained.model.float().eval().to("cpu")
    check, described = _check_inputs(trained, images)
    example = check[:2] if dynamic_batch else check[:1]  # a fixed batch is the common serving case: one image
    with files.written(out) as partial:
        try:
            run = _written(trained, format, model, example, partial, dynamic_batch, opset)
            sizes = (len(check), 1) if dynamic_batch and len(check) > 1 else (len(example),)
            difference = max(_difference(model, run, check[:size]) for size in sizes)
        finally:
            # The ONNX exporter writes weights to a side file first; the saved model holds them inline.
            partial.with_name(partial.name + ".data").unlink(missing_ok=True)
    return ExportResult(out, difference, sizes, described)


def _written(
    trained: Trained,
    format: ExportFormat,
    model: torch.nn.Module,
    example: torch.Tensor,
    partial: Path,
    dynamic_batch: bool,
    opset: int | None,
) -> Callable[[np.ndarray], np.ndarray]:
    """Write the export to `partial`; how to run what was written."""
    if format == "onnx":
        _export_onnx(model, example, partial, dynamic_batch, opset or DEFAULT_OPSET, export_metadata(trained))
        return _onnx_runner(partial)
    _export_torchscript(model, example, partial, export_metadata(trained))
    with _quiet_jit():
        loaded = torch.jit.load(str(partial), map_location="cpu")
    return lambda batch: loaded(torch.from_numpy(batch)).detach().numpy()


def _difference(model: torch.nn.Module, run: Callable[[np.ndarray], np.ndarray], batch: torch.Tensor) -> float:
    """The largest difference between PyTorch's outputs and the export's on `batch`."""
    with torch.no_grad():
        expected = model(batch).numpy()
    return float(np.abs(run(batch.numpy()) - expected).max())


def _check_inputs(trained: Trained, images: list[Path] | None) -> tuple[torch.Tensor, str]:
    channels, height, width = trained.record.preprocess.input_size
    if images:
        resize = trained.record.preprocess.resize
        pixels = torch.stack([decode_image(p, channels, height, width, resize) for p in images[:8]])
        normalize = input_normalization(trained, torch.device("cpu"))
        batch = normalize(pixels).contiguous()
        if len(batch) == 1:  # a second image shows the batch axis works; the mirror image is as real as the first
            batch = torch.cat([batch, batch.flip(3)])
        return batch, f"{min(len(images), 8)} images"
    generator = torch.Generator().manual_seed(0)
    return torch.randn(3, channels, height, width, generator=generator), "random inputs"


def _export_onnx(
    model: torch.nn.Module,
    example: torch.Tensor,
    path: Path,
    dynamic_batch: bool,
    opset: int,
    metadata: dict[str, Any],
) -> None:
    try:
        import onnx
    except ImportError:
        raise UserInputError(
            "ONNX export needs onnx, onnxscript and onnxruntime: pip install 'resnetlab[export]'"
        ) from None
    try:
        import onnxscript  # noqa: F401  (torch.onnx's exporter builds the graph with it)
    except ImportError:
        raise UserInputError("ONNX export needs onnxscript: pip install 'resnetlab[export]'") from None
    shapes = ({0: torch.export.Dim("batch", min=1)},) if dynamic_batch else None
    try:
        with warnings.catch_warnings(), _quiet_logger("torch.onnx"), _quiet_logger("onnxscript"):
            warnings.simplefilter("ignore")  # the exporter's progress notes; failures still raise
            torch.onnx.export(
                model,
                (example,),
                str(path),
                dynamo=True,
                input_names=["images"],
                output_names=["logits"],
                dynamic_shapes=shapes,
                opset_version=opset,
                verbose=False,
            )
    except Exception as error:  # the exporter's many failure types (an opset it cannot target, say): one line
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserInputError(f"ONNX export failed (opset {opset}): {first_line}") from None
    graph = onnx.load(str(path))
    # When it cannot convert to the opset asked for, the exporter logs the failure and keeps its own opset.
    produced = next((o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")), None)
    if produced != opset:
        raise UserInputError(
            f"ONNX export cannot target opset {opset} (the exporter produced {produced}); try 18 or newer"
        )
    graph.metadata_props.add(key=METADATA_KEY, value=json.dumps(metadata))
    onnx.save(graph, str(path))


def _onnx_runner(path: Path) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise UserInputError("checking the ONNX file needs onnxruntime: pip install 'resnetlab[export]'") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda batch: session.run(None, {"images": batch})[0]


def _export_torchscript(model: torch.nn.Module, example: torch.Tensor, path: Path, metadata: dict[str, Any]) -> None:
    with _quiet_jit():
        traced = torch.jit.trace(model, example)  # exact for a ResNet: no data-dependent control flow
        torch.jit.save(traced, str(path), _extra_files={TORCHSCRIPT_METADATA: json.dumps(metadata)})


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """The exporter logs a traceback when a step fails that it can recover from; we report the outcome instead."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _quiet_jit() -> Iterator[None]:
    """torch.jit warns that it is deprecated in favour of torch.export; TorchScript files are still what libtorch
    (C++) and many serving stacks load, so the format is offered, without the warning on every call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata an exported file carries (for a consumer, and for tests)."""
    if path.suffix == ".onnx":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        return dict(json.loads(props[METADATA_KEY]))
    files = {TORCHSCRIPT_METADATA: ""}
    with _quiet_jit():
        torch.jit.load(str(path), map_location="cpu", _extra_files=files)
    return dict(json.loads(files[TORCHSCRIPT_METADATA]))
