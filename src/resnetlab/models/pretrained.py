"""Pretrained weights from torchvision, timm or a local file, mapped onto resnetlab's networks.

Our ImageNet networks use torchvision's parameter names (`conv1`, `layer1.0.conv1`, `downsample.0`, `fc`), and so do
timm's plain ResNets and ResNeXts, so their state dicts load as they are. Sources:

- `torchvision:resnet50` (the default weights) or `torchvision:resnet50.IMAGENET1K_V2`: torchvision's weights API,
  downloaded once into torch's cache and hash-checked; class names and preprocessing come from the weights' metadata.
- `timm:resnet50.a1_in1k`: timm's hub (timm must be installed); preprocessing from its pretrained config.
- a file: a `.pth` / `.pt` / `.bin` state dict (torch.load with weights_only), or a `.safetensors` file (a run's
  model.safetensors brings its ModelRecord: classes, options, preprocessing). A bare 1000-class state dict is taken to
  be ImageNet-trained: ImageNet's class names and normalisation travel with it.

Run folders and resnetlab's own checkpoint files (`last.pt`) are resolved one layer up, in runs/weights.py, where the
checkpoint format (header, version, SHA-256) is known; see models/record.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from resnetlab.errors import UserInputError
from resnetlab.models.record import ModelRecord, Preprocess

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HEAD_KEYS = ("fc.weight", "fc.bias")
_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "module")  # where training scripts nest the weights
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")  # DistributedDataParallel and torch.compile


@dataclass(frozen=True)
class PretrainedWeights:
    """A state dict with what it takes to feed it: the model it fits, its classes and its input preprocessing."""

    state_dict: dict[str, torch.Tensor]
    source: str
    model_name: str | None  # a registered name when the source says (or its shapes show) which network it is
    classes: list[str] | None
    mean: tuple[float, ...]
    std: tuple[float, ...]
    input_size: int  # the square crop the weights were trained on
    resize: int | None  # shorter side before the centre crop at evaluation (None: the image is used at input_size)
    model_options: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int | None:
        weight = self.state_dict.get("fc.weight")
        return int(weight.shape[0]) if weight is not None else None

    def model_record(self, model_name: str | None = None) -> ModelRecord:
        """The record of these weights as a trained model (predict, embed, export and explain use them as they are):
        `model_name` or the network they were recognised as, their classes, their preprocessing."""
        name = model_name or self.model_name
        if name is None:
            raise UserInputError(f"cannot tell which network {self.source} is; it fits no registered model")
        num_classes = self.num_classes
        if num_classes is None or self.classes is None or len(self.classes) != num_classes:
            raise UserInputError(
                f"{self.source} has no class names for its {num_classes} outputs; fine-tune it on your classes first"
            )
        channels = int(self.state_dict["conv1.weight"].shape[1])
        return ModelRecord(
            model_name=name,
            model_options={**self.model_options, "num_classes": num_classes, "in_chans": channels},
            classes=tuple(self.classes),
            preprocess=Preprocess(
                normalize="channel",
                mean=self.mean,
                std=self.std,
                input_size=(channels, self.input_size, self.input_size),
                resize=self.resize,
            ),
        )

    @classmethod
    def from_record(cls, record: ModelRecord, state_dict: dict[str, torch.Tensor], source: str) -> PretrainedWeights:
        """A resnetlab model (a run's checkpoint or model.safetensors) as weights to start from."""
        preprocess = record.preprocess
        if preprocess.normalize != "channel":
            raise UserInputError(
                f"{source} was trained with per-pixel mean subtraction; fine-tune from a per-channel model"
            )
        return cls(
            state_dict=state_dict,
            source=source,
            model_name=record.model_name,
            classes=list(record.classes),
            mean=preprocess.mean,
            std=preprocess.std,
            input_size=preprocess.input_size[-1],
            resize=preprocess.resize,
            # Sized from the data again wherever they are used.
            model_options={k: v for k, v in record.model_options.items() if k not in ("num_classes", "in_chans")},
        )


def load_pretrained(source: str) -> PretrainedWeights:
    """`torchvision:NAME[.WEIGHTS]`, `timm:NAME[.TAG]`, or a local file / run directory (see the module docstring)."""
    kind, sep, name = source.partition(":")
    if sep and kind == "torchvision":
        return _from_torchvision(name)
    if sep and kind == "timm":
        return _from_timm(name)
    return _from_file(Path(source).expanduser())


def load_into(model: nn.Module, weights: PretrainedWeights, model_name: str, *, keep_head: bool = True) -> bool:
    """Copy `weights` into `model`; the head too when `keep_head` and its shape fits, else the fresh head stays.

    Returns whether the head was loaded. Anything else that does not fit is an error naming what differs.
    """
    state = dict(weights.state_dict)
    target = model.state_dict()
    head_fits = all(k in state and k in target and state[k].shape == target[k].shape for k in HEAD_KEYS)
    head_loaded = keep_head and head_fits
    if not head_loaded:
        for key in HEAD_KEYS:
            state.pop(key, None)
    # BN's step counters (only read when momentum is None, which ours never is) are absent from older files.
    missing = [k for k in target if k not in state and not _optional(k) and (head_loaded or k not in HEAD_KEYS)]
    unexpected = [k for k in state if k not in target]
    reshaped = [k for k in state if k in target and state[k].shape != target[k].shape]
    if missing or unexpected or reshaped:
        difference = _difference(missing, unexpected, reshaped)
        raise UserInputError(f"{weights.source} does not fit {model_name}: {difference}")
    model.load_state_dict(state, strict=False)
    return head_loaded


def _optional(key: str) -> bool:
    return key.endswith("num_batches_tracked")


def infer_model_name(state_dict: dict[str, torch.Tensor]) -> str | None:
    """The registered network whose parameter names and shapes (the head aside) are exactly those of `state_dict`."""
    from resnetlab.models.registry import list_models, model_entry

    wanted = {k: tuple(v.shape) for k, v in state_dict.items() if k not in HEAD_KEYS and not _optional(k)}
    depths = _stage_depths(state_dict)
    # Units per stage first, read off the spec: only the few networks of that depth are built to compare.
    matches = [n for n in list_models() if tuple(model_entry(n).spec.depths) == depths and _shapes(n) == wanted]
    # A CIFAR plain net and its option-A ResNet have the same tensors (option A adds none): take the ResNet; the
    # plain net is named with --model.
    matches.sort(key=lambda name: not model_entry(name).spec.residual)
    return matches[0] if matches else None


def _stage_depths(state_dict: dict[str, torch.Tensor]) -> tuple[int, ...]:
    units: dict[int, set[str]] = {}
    for key in state_dict:
        stage, _, rest = key.partition(".")
        if stage.startswith("layer") and stage[5:].isdigit():
            units.setdefault(int(stage[5:]), set()).add(rest.partition(".")[0])
    return tuple(len(units[stage]) for stage in sorted(units))


@functools.cache
def _shapes(name: str) -> dict[str, tuple[int, ...]]:
    from resnetlab.models.registry import create_model

    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = create_model(name)
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if k not in HEAD_KEYS and not _optional(k)}


def _difference(missing: list[str], unexpected: list[str], reshaped: list[str]) -> str:
    parts = []
    if missing:
        parts.append(f"{len(missing)} tensors missing (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} not in the model (e.g. {unexpected[0]})")
    if reshaped:
        parts.append(f"{len(reshaped)} of another shape (e.g. {reshaped[0]})")
    return "; ".join(parts) + "; it is another architecture (a deep stem, another depth?): pass a matching --model"


def _from_torchvision(spec: str) -> PretrainedWeights:
    import torchvision

    name, _, tag = spec.partition(".")
    try:
        enum = torchvision.models.get_model_weights(name)
    except (ValueError, KeyError):
        raise UserInputError(f"torchvision has no model {name!r} with weights (e.g. torchvision:resnet50)") from None
    if tag and tag not in enum.__members__:
        raise UserInputError(f"torchvision's {name} has no weights {tag!r}; it has {', '.join(enum.__members__)}")
    weights = enum[tag] if tag else enum.DEFAULT
    try:
        state = weights.get_state_dict(progress=False, check_hash=True)  # cached in torch's hub folder after once
    except (OSError, RuntimeError) as error:  # URLError is an OSError; a hash mismatch is a RuntimeError
        raise UserInputError(
            f"cannot fetch torchvision:{name}.{weights.name} ({error}); download {weights.url} elsewhere and pass "
            "the file to --init"
        ) from None
    transforms = weights.transforms()
    return PretrainedWeights(
        state_dict=state,
        source=f"torchvision:{name}.{weights.name}",
        model_name=name if _registered(name) else infer_model_name(state),
        classes=list(weights.meta["categories"]),
        mean=tuple(transforms.mean),
        std=tuple(transforms.std),
        input_size=int(transforms.crop_size[0]),
        resize=int(transforms.resize_size[0]),
    )


def _from_timm(spec: str) -> PretrainedWeights:
    try:
        import timm
    except ImportError:
        raise UserInputError(f"timm:{spec} needs timm: pip install timm (or give --init a downloaded file)") from None
    try:
        model = timm.create_model(spec, pretrained=True)
    except RuntimeError as error:
        if "Unknown model" in str(error) or "Invalid pretrained tag" in str(error):
            raise UserInputError(f"timm has no pretrained {spec!r} ({error})") from None
        raise UserInputError(f"cannot fetch timm:{spec} ({error}); pass a downloaded file to --init") from None
    except OSError as error:
        raise UserInputError(f"cannot fetch timm:{spec} ({error}); pass a downloaded file to --init") from None
    config: dict[str, Any] = dict(getattr(model, "pretrained_cfg", {}))
    state: dict[str, torch.Tensor] = dict(model.state_dict())
    size = int(config["input_size"][-1])
    return PretrainedWeights(
        state_dict=state,
        source=f"timm:{spec}",
        model_name=infer_model_name(state),
        classes=_imagenet_classes() if config.get("num_classes") == 1000 else None,
        mean=tuple(config["mean"]),
        std=tuple(config["std"]),
        input_size=size,
        resize=round(size / config.get("crop_pct", 0.875)),
    )


def _from_file(path: Path) -> PretrainedWeights:
    if path.is_dir():
        raise UserInputError(f"{path} is a folder: a run folder is read through resnetlab.runs.weights.resolve_weights")
    if not path.is_file():
        raise UserInputError(
            f"{path} is not a weights file, a run directory, or torchvision:NAME / timm:NAME (e.g. timm:resnet50)"
        )
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError, safe_open
        from safetensors.torch import load_file

        try:
            raw: Any = load_file(str(path))
            with safe_open(str(path), "pt") as handle:
                metadata = handle.metadata() or {}
        except (SafetensorError, OSError) as error:
            raise UserInputError(f"{path} is not a readable safetensors file ({error})") from None
        if "model_name" in metadata and "preprocess" in metadata:  # a run's model.safetensors: its record inside
            return PretrainedWeights.from_record(ModelRecord.from_metadata(metadata, path), raw, str(path))
    else:
        try:
            raw = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # unpickling refusals and damaged files alike: the file cannot be used
            raise UserInputError(f"{path} is not a PyTorch weights file torch.load can read safely ({error})") from None
    if isinstance(raw, dict) and "format" in raw and "version" in raw:  # a file format's header, not a state dict
        raise UserInputError(
            f"{path} is a resnetlab checkpoint, read through resnetlab.runs.weights.resolve_weights; or give its run's "
            "model.safetensors"
        )
    state = _unwrap(raw, path)
    if _is_community_cifar(raw, state):
        return _community_cifar(state, path)
    name = infer_model_name(state)
    imagenet = state.get("fc.weight") is not None and state["fc.weight"].shape[0] == 1000
    return PretrainedWeights(
        state_dict=state,
        source=str(path),
        model_name=name,
        classes=_imagenet_classes() if imagenet else None,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        input_size=224,
        resize=256,
    )


# CIFAR-10's classes in the order of its own batches.meta, which the community's checkpoints predict in.
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _is_community_cifar(raw: Any, state: dict[str, torch.Tensor]) -> bool:
    """The format of the most shared trained CIFAR ResNets (akamaster/pytorch_resnet_cifar10): the weights under
    "state_dict" beside "best_prec1", a head named "linear". Its option-A padding has no parameters, so only these
    markers tell it apart; a file without them is not read as one."""
    return isinstance(raw, dict) and "best_prec1" in raw and "linear.weight" in state and "fc.weight" not in state


def _community_cifar(state: dict[str, torch.Tensor], path: Path) -> PretrainedWeights:
    """That format as resnetlab's CIFAR net: the head renamed, the shortcut's zero channels half before and half after
    the input's (as that code pads them), inputs in [0, 1] normalised with ImageNet's mean and std, 32 px, CIFAR-10."""
    renamed = {("fc." + k.removeprefix("linear.")) if k.startswith("linear.") else k: v for k, v in state.items()}
    name = infer_model_name(renamed)
    if name is None or not name.startswith("cifar_resnet"):
        raise UserInputError(f"{path} is in the community CIFAR format but fits no registered CIFAR ResNet")
    outputs = int(renamed["fc.weight"].shape[0])
    return PretrainedWeights(
        state_dict=renamed,
        source=str(path),
        model_name=name,
        classes=list(CIFAR10_CLASSES) if outputs == len(CIFAR10_CLASSES) else None,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        input_size=32,
        resize=None,
        model_options={"pad_channels": "both"},
    )


def _unwrap(raw: Any, path: Path) -> dict[str, torch.Tensor]:
    for key in _WRAPPER_KEYS:
        if isinstance(raw, dict) and isinstance(raw.get(key), dict):
            raw = raw[key]
            break
    if not isinstance(raw, dict) or not raw or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise UserInputError(f"{path} holds no state dict (a mapping of parameter names to tensors)")
    state = {}
    for key, value in raw.items():
        for prefix in _WRAPPER_PREFIXES:
            key = key.removeprefix(prefix)
        state[key] = value
    return state


def _registered(name: str) -> bool:
    from resnetlab.models.registry import list_models

    return name in list_models()


def _imagenet_classes() -> list[str]:
    from torchvision.models._meta import _IMAGENET_CATEGORIES  # the names torchvision's weights carry

    return list(_IMAGENET_CATEGORIES)
