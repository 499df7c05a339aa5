"""The typed configuration of a training run: one dataclass per section, the allowed values as `Literal` types.

Its resolved YAML file, saved in the run directory, is the run's record (`resnetlab.config.loading`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, Strict, model_validator, with_config

from resnetlab.errors import UserInputError

# Values are checked by pydantic (`resnetlab.config.loading`), strictly: a whole number is no bool, a number no text,
# a flag only true or false. A whole number is a valid Float (YAML reads `lr: 1` as one).
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]
_CHECKED = ConfigDict(extra="forbid")  # an unknown key is an error (with a did-you-mean), not silently dropped

# Ranges are declared beside their keys as pydantic's bounds, e.g. `Annotated[Float, Field(ge=0, lt=1)]`; the error
# states the range from those bounds ("data.val_fraction must be in [0, 1), got 1.0"), or in a key's own `Rule`
# where its words say more. Rules between keys are the `model_validator`s of their section, one per rule.

Dataset = Literal["digits", "cifar10", "cifar100", "folder"]
Augment = Literal["none", "cifar", "imagenet"]
Storage = Literal["auto", "memory", "stream"]
EvalView = Literal["center", "flip", "flip_translate", "ten_crop"]
Normalize = Literal["channel", "pixel_mean"]
ScheduleKind = Literal["multistep", "cosine", "onecycle", "constant"]
StepUnit = Literal["epoch", "iteration"]
Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]


class ConfigError(UserInputError):
    """A config file or override that cannot be used as it is."""


@dataclass(frozen=True)
class Rule:
    """A key's range in words, where its bounds alone say less: `Annotated[Int, Field(ge=0), Rule(">= 0 (0 turns it
    off)")]`. Only the wording of the error; the bounds still check the value."""

    text: str


def must_be(key: str, rule: str, value: object) -> str:
    """The one line that refuses a value: `<key> must be <rule>, got <value>`."""
    return f"{key} must be {rule}, got {value!r}"


def _require(ok: bool, key: str, rule: str, value: object) -> None:
    if not ok:
        raise ConfigError(must_be(key, rule, value))


@with_config(_CHECKED)
@dataclass
class ModelConfig:
    name: Text = "cifar_resnet20"
    options: dict[str, Any] = field(default_factory=dict)  # passed to create_model, e.g. {shortcut: B}
    # Start from pretrained weights: torchvision:NAME[.WEIGHTS], timm:NAME, or a .pth / .safetensors / resnetlab
    # checkpoint path (see models/pretrained.py). The head is kept when it fits the data's classes, else made anew.
    init: Text | None = None
    # Fine-tuning: the stem and the first N stages keep their weights, and their BN layers their statistics.
    freeze_stages: Annotated[Int, Field(ge=0), Rule(">= 0 (0 freezes nothing)")] = 0


@with_config(_CHECKED)
@dataclass
class DataConfig:
    dataset: Dataset = "digits"
    path: Text | None = None  # CIFAR pickle directory or class-per-folder tree; unused for digits
    # Held out of training with `split_seed` ([R1] Sec. 4.2 uses 5k of 50k: 0.1)
    val_fraction: Annotated[Float, Field(ge=0, lt=1)] = 0.0
    # Held out for testing when the data has no test split of its own (digits, a tree)
    test_fraction: Annotated[Float, Field(gt=0, lt=1)] = 0.2
    split_seed: Annotated[Int, Field(ge=0)] = 0  # numpy's generators take no sign
    # Resize folder images to this square size; None keeps a common native size
    image_size: Annotated[Int, Field(ge=1), Rule(">= 1 or null")] | None = None
    augment: Augment = "none"
    normalize: Normalize = "channel"  # per-channel mean/std, or [R1]'s per-pixel mean subtraction
    # The global batch: under torchrun, shared out evenly among the processes
    batch_size: Annotated[Int, Field(ge=1)] = 128
    eval_batch_size: Annotated[Int, Field(ge=1)] = 512
    cache_dir: Text | None = None  # decoded-dataset cache; None: $RESNETLAB_CACHE or ~/.cache/resnetlab
    download: Bool = False  # fetch CIFAR (checksum-verified) into `path` when it is missing
    # Where a folder's images live during training. memory: decoded once into a cached uint8 tensor (small sets);
    # stream: decoded per epoch by DataLoader workers (large sets, and augment=imagenet, which needs the originals).
    # auto: stream for augment=imagenet or when the decoded tensor would exceed memory_limit_gb.
    storage: Storage = "auto"
    memory_limit_gb: Annotated[Float, Field(gt=0)] = 4.0
    workers: Annotated[Int, Field(ge=0)] = 2  # DataLoader worker processes for streamed data
    # [R1] Sec. 3.4 (streamed data): shorter side resized to a random size in scale_range, a random crop_size crop or
    # its flip, colour jitter and AlexNet's PCA lighting ([R1] cites it as "the standard color augmentation").
    crop_size: Annotated[Int, Field(ge=1)] = 224
    scale_range: list[Int] = field(default_factory=lambda: [256, 480])  # see _scale_range_holds_the_crop
    # Brightness, contrast and saturation factors drawn from [1 - x, 1 + x]
    color_jitter: Annotated[Float, Field(ge=0, lt=1)] = 0.4
    lighting: Annotated[Float, Field(ge=0)] = 0.1  # std of the PCA lighting noise (AlexNet's 0.1); 0 turns it off
    # Evaluation views. center: the image as it is (streamed data: shorter side resized to eval_resize, then the
    # centre crop_size crop), [R1]'s single view; flip: that view and its mirror, softmax averaged (test-time
    # augmentation, not in the papers); flip_translate (images in memory): those two, and both again shifted one pixel
    # up-left and down-right (airbench's test-time views), six in all; ten_crop (streamed data): [R1] Sec. 3.4's
    # "standard 10-crop testing".
    eval_resize: Int = 256  # see _eval_resize_holds_the_crop
    eval_view: EvalView = "center"
    # Cutout (DeVries & Taylor 2017, not in the papers): side of the square erased from each training image; 0 is off.
    cutout: Annotated[Int, Field(ge=0), Rule(">= 0 (0 turns it off)")] = 0
    # Per-channel normalisation, in [0, 1] units; null measures it on the training split. Fine-tuning sets the
    # pretrained weights' own values: the features they learned expect inputs normalised that way.
    mean: list[Float] | None = None  # see _statistics_are_complete
    std: list[Float] | None = None

    @model_validator(mode="after")
    def _scale_range_holds_the_crop(self) -> Self:
        low, high = [*self.scale_range, 0, 0][:2]
        _require(
            len(self.scale_range) == 2 and self.crop_size <= low <= high,
            "data.scale_range",
            f"[low, high] with data.crop_size ({self.crop_size}) <= low <= high",
            self.scale_range,
        )
        return self

    @model_validator(mode="after")
    def _eval_resize_holds_the_crop(self) -> Self:
        rule = f">= data.crop_size ({self.crop_size})"
        _require(self.eval_resize >= self.crop_size, "data.eval_resize", rule, self.eval_resize)
        return self

    @model_validator(mode="after")
    def _statistics_are_complete(self) -> Self:
        mean, std = self.mean, self.std
        _require((mean is None) == (std is None), "data.mean and data.std", "set together or both null", [mean, std])
        if mean is not None and std is not None:
            _require(len(mean) == len(std) >= 1, "data.std", f"as long as data.mean ({len(mean)} values)", std)
            _require(all(s > 0 for s in std), "data.std", "> 0 per channel", std)
        return self


@with_config(_CHECKED)
@dataclass
class OptimConfig:
    # For the global batch, unscaled: N processes take the steps one process would
    lr: Annotated[Float, Field(gt=0)] = 0.1
    momentum: Annotated[Float, Field(ge=0, lt=1)] = 0.9
    nesterov: Bool = False
    weight_decay: Annotated[Float, Field(ge=0)] = 1e-4
    decay_bn_and_bias: Bool = True  # [R1] decays every weight; False exempts BN and bias terms
    grad_clip: Annotated[Float, Field(gt=0), Rule("> 0 or null")] | None = None  # max global gradient norm
    fused: Bool = True  # one fused kernel for the SGD update of all parameters (same arithmetic as the loop)
    label_smoothing: Annotated[Float, Field(ge=0, lt=1)] = 0.0
    # Fine-tuning: everything but the head trains at lr * this (e.g. 0.1)
    backbone_lr_scale: Annotated[Float, Field(gt=0)] = 1.0
    # An exponential moving average of the weights (and BN statistics), evaluated and exported instead of the
    # trained weights when set; e.g. 0.999 (per iteration). Not in [R1]/[R2].
    ema_decay: Annotated[Float, Field(gt=0, lt=1), Rule("in (0, 1) or null")] | None = None


@with_config(_CHECKED)
@dataclass
class ScheduleConfig:
    kind: ScheduleKind = "cosine"
    unit: StepUnit = "epoch"  # the unit of `length`, `milestones` and `warmup`
    length: Annotated[Int, Field(ge=1)] = 30
    # Multistep: divide the LR by 1/gamma at each; see _milestones_fall_inside
    milestones: list[Int] = field(default_factory=list)
    gamma: Annotated[Float, Field(gt=0, le=1)] = 0.1
    # Linear warm-up from ~0 to `optim.lr`; see _warmup_ends_inside
    warmup: Annotated[Int, Field(ge=0), Rule("in [0, schedule.length)")] = 0
    # [R1] Sec. 4.2, ResNet-110: a constant low LR (0.01) first, until the training error falls below
    # warmup_until_error (0.8); the two come together (_warmup_lr_has_its_end, _warmup_end_has_its_lr)
    warmup_lr: Annotated[Float, Field(gt=0)] | None = None
    warmup_until_error: Annotated[Float, Field(gt=0, lt=1)] | None = None

    @model_validator(mode="after")
    def _milestones_fall_inside(self) -> Self:
        milestones = self.milestones
        _require(
            all(0 < m < self.length for m in milestones) and milestones == sorted(set(milestones)),
            "schedule.milestones",
            f"increasing and between 0 and schedule.length ({self.length} {self.unit}s; a new length "
            "needs its own milestones, e.g. --set 'schedule.milestones=[...]')",
            milestones,
        )
        return self

    @model_validator(mode="after")
    def _warmup_ends_inside(self) -> Self:
        _require(self.warmup < self.length, "schedule.warmup", "in [0, schedule.length)", self.warmup)
        return self

    @model_validator(mode="after")
    def _warmup_end_has_its_lr(self) -> Self:
        ok = self.warmup_until_error is None or self.warmup_lr is not None
        _require(ok, "schedule.warmup_lr", "set with warmup_until_error", None)
        return self

    @model_validator(mode="after")
    def _warmup_lr_has_its_end(self) -> Self:
        _require(
            self.warmup_lr is None or self.warmup_until_error is not None,
            "schedule.warmup_until_error",
            "set with warmup_lr (the warm-up LR holds until training error falls below it)",
            None,
        )
        return self


@with_config(_CHECKED)
@dataclass
class RuntimeConfig:
    seed: Annotated[Int, Field(ge=0)] = 0
    deterministic: Bool = False
    device: Device = "auto"
    # auto: bf16 autocast where the hardware computes bf16 natively (AMX or AVX512-BF16, CUDA), else fp32;
    # fp16 (with loss scaling): CUDA only. A run's saved config holds the resolved choice.
    precision: Precision = "auto"
    compile: Bool = False  # torch.compile the training step's model (the first steps then include compile time)
    # oneDNN's and cuDNN's native layout for convolutions (no reorders around each one), where it measured faster.
    # auto: as this CPU class's measured path has it (runtime/paths.py; `resnetlab info` says which and why). A run's
    # saved config holds the resolved choice.
    channels_last: Bool | Literal["auto"] = "auto"
    # Under torchrun (several processes): BN normalises with the whole global batch's statistics (CUDA only);
    # otherwise each process normalises its own share of the batch.
    sync_batchnorm: Bool = False
    # Also checkpoint every N iterations inside an epoch (0: at epoch ends only)
    checkpoint_every: Annotated[Int, Field(ge=0)] = 0
    out_dir: Text = "runs"
    eval_every: Annotated[Int, Field(ge=1)] = 1  # epochs
    log_every: Annotated[Int, Field(ge=1)] = 50  # iterations


@with_config(_CHECKED)
@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
