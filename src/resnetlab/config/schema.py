"""The typed configuration of a training run: one dataclass per section, the allowed values as `Literal` types.

Its resolved YAML file, saved in the run directory, is the run's record (`resnetlab.config.loading`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Strict, with_config

from resnetlab.errors import UserInputError

# Values are checked by pydantic (`resnetlab.config.loading`), strictly: a whole number is no bool, a number no text,
# a flag only true or false. A whole number is a valid Float (YAML reads `lr: 1` as one).
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]
_CHECKED = ConfigDict(extra="forbid")  # an unknown key is an error (with a did-you-mean), not silently dropped

Dataset = Literal["digits", "cifar10", "cifar100", "folder"]
Augment = Literal["none", "cifar", "imagenet"]
Storage = Literal["auto", "memory", "stream"]
EvalView = Literal["center", "flip", "ten_crop"]
Normalize = Literal["channel", "pixel_mean"]
ScheduleKind = Literal["multistep", "cosine", "onecycle", "constant"]
StepUnit = Literal["epoch", "iteration"]
Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]


class ConfigError(UserInputError):
    """A config file or override that cannot be used as it is."""


@with_config(_CHECKED)
@dataclass
class ModelConfig:
    name: Text = "cifar_resnet20"
    options: dict[str, Any] = field(default_factory=dict)  # passed to create_model, e.g. {shortcut: B}
    # Start from pretrained weights: torchvision:NAME[.WEIGHTS], timm:NAME, or a .pth / .safetensors / resnetlab
    # checkpoint path (see models/pretrained.py). The head is kept when it fits the data's classes, else made anew.
    init: Text | None = None
    # Fine-tuning: the stem and the first N stages keep their weights, and their BN layers their statistics.
    freeze_stages: Int = 0


@with_config(_CHECKED)
@dataclass
class DataConfig:
    dataset: Dataset = "digits"
    path: Text | None = None  # CIFAR pickle directory or class-per-folder tree; unused for digits
    val_fraction: Float = 0.0  # held out of training with `split_seed` ([R1] Sec. 4.2 uses 5k of 50k: 0.1)
    test_fraction: Float = 0.2  # held out for testing when the data has no test split of its own (digits, a tree)
    split_seed: Int = 0
    image_size: Int | None = None  # resize folder images to this square size; None keeps a common native size
    augment: Augment = "none"
    normalize: Normalize = "channel"  # per-channel mean/std, or [R1]'s per-pixel mean subtraction
    batch_size: Int = 128  # the global batch: under torchrun, shared out evenly among the processes
    eval_batch_size: Int = 512
    cache_dir: Text | None = None  # decoded-dataset cache; None: $RESNETLAB_CACHE or ~/.cache/resnetlab
    download: Bool = False  # fetch CIFAR (checksum-verified) into `path` when it is missing
    # Where a folder's images live during training. memory: decoded once into a cached uint8 tensor (small sets);
    # stream: decoded per epoch by DataLoader workers (large sets, and augment=imagenet, which needs the originals).
    # auto: stream for augment=imagenet or when the decoded tensor would exceed memory_limit_gb.
    storage: Storage = "auto"
    memory_limit_gb: Float = 4.0
    workers: Int = 2  # DataLoader worker processes for streamed data
    # [R1] Sec. 3.4 (streamed data): shorter side resized to a random size in scale_range, a random crop_size crop or
    # its flip, colour jitter and AlexNet's PCA lighting ([R1] cites it as "the standard color augmentation").
    crop_size: Int = 224
    scale_range: list[Int] = field(default_factory=lambda: [256, 480])
    color_jitter: Float = 0.4  # brightness, contrast and saturation factors drawn from [1 - x, 1 + x]
    lighting: Float = 0.1  # std of the PCA lighting noise (AlexNet's 0.1); 0 turns it off
    # Evaluation views. center: the image as it is (streamed data: shorter side resized to eval_resize, then the
    # centre crop_size crop), [R1]'s single view; flip: that view and its mirror, softmax averaged (test-time
    # augmentation, not in the papers); ten_crop (streamed data): [R1] Sec. 3.4's "standard 10-crop testing".
    eval_resize: Int = 256
    eval_view: EvalView = "center"
    # Cutout (DeVries & Taylor 2017, not in the papers): side of the square erased from each training image; 0 is off.
    cutout: Int = 0
    # Per-channel normalisation, in [0, 1] units; null measures it on the training split. Fine-tuning sets the
    # pretrained weights' own values: the features they learned expect inputs normalised that way.
    mean: list[Float] | None = None
    std: list[Float] | None = None


@with_config(_CHECKED)
@dataclass
class OptimConfig:
    lr: Float = 0.1  # for the global batch, unscaled: N processes take the steps one process would
    momentum: Float = 0.9
    nesterov: Bool = False
    weight_decay: Float = 1e-4
    decay_bn_and_bias: Bool = True  # [R1] decays every weight; False exempts BN and bias terms
    grad_clip: Float | None = None  # max global gradient norm
    fused: Bool = True  # one fused kernel for the SGD update of all parameters (same arithmetic as the loop)
    label_smoothing: Float = 0.0
    backbone_lr_scale: Float = 1.0  # fine-tuning: everything but the head trains at lr * this (e.g. 0.1)
    # An exponential moving average of the weights (and BN statistics), evaluated and exported instead of the
    # trained weights when set; e.g. 0.999 (per iteration). Not in [R1]/[R2].
    ema_decay: Float | None = None


@with_config(_CHECKED)
@dataclass
class ScheduleConfig:
    kind: ScheduleKind = "cosine"
    unit: StepUnit = "epoch"  # the unit of `length`, `milestones` and `warmup`
    length: Int = 30
    milestones: list[Int] = field(default_factory=list)  # multistep: divide the LR by 1/gamma at each
    gamma: Float = 0.1
    warmup: Int = 0  # linear warm-up from ~0 to `optim.lr`
    warmup_lr: Float | None = None  # [R1] Sec. 4.2, ResNet-110: a constant low LR (0.01) first ...
    warmup_until_error: Float | None = None  # ... until the training error falls below this fraction (0.8)


@with_config(_CHECKED)
@dataclass
class RuntimeConfig:
    seed: Int = 0
    deterministic: Bool = False
    device: Device = "auto"
    # auto: bf16 autocast where the hardware computes bf16 natively (AMX or AVX512-BF16, CUDA), else fp32;
    # fp16 (with loss scaling): CUDA only. A run's saved config holds the resolved choice.
    precision: Precision = "auto"
    compile: Bool = False  # torch.compile the training step's model (the first steps then include compile time)
    channels_last: Bool = True  # oneDNN's and cuDNN's native layout for convolutions: no reorders around each one
    # Under torchrun (several processes): BN normalises with the whole global batch's statistics (CUDA only);
    # otherwise each process normalises its own share of the batch.
    sync_batchnorm: Bool = False
    checkpoint_every: Int = 0  # also checkpoint every N iterations inside an epoch (0: at epoch ends only)
    out_dir: Text = "runs"
    eval_every: Int = 1  # epochs
    log_every: Int = 50  # iterations


@with_config(_CHECKED)
@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
