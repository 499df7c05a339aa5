"""A ResNet described as data.

Every network of [R1] and [R2] is one `ResNetSpec`: block type, stage depths and widths, the shortcut option,
the unit ordering and the [R2] shortcut mapping. A new variant is a new spec, never a new class.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, get_args

from resnetlab.errors import UserInputError

BlockType = Literal["basic", "bottleneck"]
StemType = Literal["imagenet", "cifar"]
# [R1] Sec. 3.3: how a shortcut crosses a change of dimensions.
ShortcutOption = Literal["A", "B", "C"]
# Where option A puts its zero channels: all after the input's (fb.resnet.torch, resnetlab), or half before and half
# after (the widely shared akamaster/pytorch_resnet_cifar10 checkpoints: their weights expect it).
PadChannels = Literal["after", "both"]
StrideIn = Literal["3x3", "1x1"]
# [R2] Fig. 4 / Table 2: where BN and ReLU sit in a residual unit.
UnitOrder = Literal["original", "bn_after_add", "relu_before_add", "relu_preact", "full_preact"]
# [R2] Fig. 2 / Table 1: what the shortcut does to the signal it carries.
ShortcutMapping = Literal["identity", "scaling", "exclusive_gating", "shortcut_gating", "conv1x1", "dropout"]

# The [R2] settings that only mean something with one shortcut mapping.
MAPPING_SETTINGS: dict[str, tuple[str, ...]] = {
    "shortcut_scale": ("scaling",),
    "residual_scale": ("scaling",),
    "gate_bias": ("exclusive_gating", "shortcut_gating"),
    "shortcut_dropout": ("dropout",),
}

# Options a user may change through `create_model(name, **options)`; the rest is the architecture itself.
USER_OPTIONS: tuple[str, ...] = (
    "num_classes",
    "in_chans",
    "shortcut",
    "stride_in",
    "zero_init_residual",
    "unit_order",
    "shortcut_mapping",
    "shortcut_scale",
    "residual_scale",
    "gate_bias",
    "shortcut_dropout",
    "pad_channels",
)


@dataclass(frozen=True)
class ResNetSpec:
    """Everything needed to build one residual (or plain) network.

    `widths` are the per-stage base widths ("planes"): a basic block outputs `width` channels, a bottleneck
    `4 * width` with an inner width of `width * width_per_group / 64 * groups` (ResNeXt / Wide ResNet).
    """

    block: BlockType
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    stem: StemType
    stem_width: int
    input_size: int
    num_classes: int
    residual: bool = True
    shortcut: ShortcutOption = "B"
    stride_in: StrideIn = "3x3"
    groups: int = 1
    width_per_group: int = 64
    unit_order: UnitOrder = "original"
    shortcut_mapping: ShortcutMapping = "identity"
    pad_channels: PadChannels = "after"
    shortcut_scale: float = 0.5
    residual_scale: float = 1.0
    gate_bias: float = 0.0
    shortcut_dropout: float = 0.5
    zero_init_residual: bool = False
    in_chans: int = 3

    def __post_init__(self) -> None:
        _check_choice("block", self.block, BlockType)
        _check_choice("stem", self.stem, StemType)
        _check_choice("shortcut", self.shortcut, ShortcutOption)
        _check_choice("stride_in", self.stride_in, StrideIn)
        _check_choice("unit_order", self.unit_order, UnitOrder)
        _check_choice("shortcut_mapping", self.shortcut_mapping, ShortcutMapping)
        _check_choice("pad_channels", self.pad_channels, PadChannels)
        if len(self.depths) != len(self.widths) or not self.depths:
            raise UserInputError("depths and widths must name the same, non-zero number of stages")
        if any(d < 1 for d in self.depths):
            raise UserInputError(f"every stage needs at least one block, got depths={self.depths}")
        if not _is_whole(self.num_classes) or self.num_classes < 0:
            raise UserInputError(
                f"num_classes must be a whole number >= 0 (0 = no classifier), got {self.num_classes!r}"
            )
        if not _is_whole(self.in_chans) or self.in_chans < 1:
            raise UserInputError(f"in_chans must be a whole number >= 1, got {self.in_chans!r}")
        if not 0.0 <= self.shortcut_dropout < 1.0:
            raise UserInputError(f"shortcut_dropout must be in [0, 1), got {self.shortcut_dropout}")
        if not self.residual and self.shortcut_mapping != "identity":
            raise UserInputError("a plain network has no shortcut: shortcut_mapping must stay 'identity'")

    @property
    def expansion(self) -> int:
        return 4 if self.block == "bottleneck" else 1

    @property
    def out_widths(self) -> tuple[int, ...]:
        """Channels leaving each stage."""
        return tuple(w * self.expansion for w in self.widths)

    def inner_width(self, stage: int) -> int:
        """Width of a bottleneck's 3x3 conv (torchvision's ResNeXt / Wide ResNet rule)."""
        return int(self.widths[stage] * (self.width_per_group / 64.0)) * self.groups

    def with_options(self, **options: Any) -> ResNetSpec:
        """A copy with user options applied; unknown options raise a one-line error naming the valid ones."""
        if "preact" in options:
            preact = options.pop("preact")
            if "unit_order" in options:
                raise UserInputError(
                    "give either preact or unit_order, not both (preact=True is unit_order='full_preact')"
                )
            options["unit_order"] = "full_preact" if preact else "original"
        unknown = sorted(set(options) - set(USER_OPTIONS))
        if unknown:
            raise UserInputError(
                f"unknown model option(s) {', '.join(unknown)}; valid options: {', '.join(USER_OPTIONS)}, preact"
            )
        spec = dataclasses.replace(self, **options)
        for setting, mappings in MAPPING_SETTINGS.items():
            if setting in options and spec.shortcut_mapping not in mappings:
                raise UserInputError(
                    f"{setting} only applies with shortcut_mapping={' or '.join(map(repr, mappings))}, "
                    f"not {spec.shortcut_mapping!r}"
                )
        return spec


def _check_choice(name: str, value: object, choices: Any) -> None:
    allowed = get_args(choices)
    if value not in allowed:
        raise UserInputError(f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}")


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
