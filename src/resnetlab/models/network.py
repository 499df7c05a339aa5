"""The one network class: a stem, stages of residual units, and a pooled linear head, all read from a spec."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from resnetlab.errors import UserInputError
from resnetlab.models.spec import ResNetSpec
from resnetlab.models.unit import ResidualUnit
from resnetlab.models.unit_orders import UNIT_ORDERS


@dataclass(frozen=True)
class FeatureInfo:
    """One feature map `forward_intermediates` can return: index 0 is the stem, index i is stage i.

    Stage maps are the units' raw outputs: for pre-activation networks the last one comes before the final BN-ReLU
    that `forward_features` applies (as timm does by default).
    """

    module: str
    num_chs: int
    reduction: int


class ResNet(nn.Module):
    """Top-level names follow torchvision (`conv1`, `bn1`, `maxpool`, `layer1..N`, `fc`)."""

    def __init__(self, spec: ResNetSpec) -> None:
        super().__init__()
        if len(spec.depths) not in (3, 4):
            raise UserInputError(
                f"a ResNet has three stages ([R1] Sec. 4.2, CIFAR) or four ([R1] Table 1), got depths={spec.depths}"
            )
        self.spec = spec
        self.num_classes = spec.num_classes
        self.num_features = spec.out_widths[-1]
        self.default_input_size = (spec.in_chans, spec.input_size, spec.input_size)
        order = UNIT_ORDERS[spec.unit_order]

        if spec.stem == "imagenet":  # [R1] Table 1 conv1: 7x7/2, then 3x3 max pool /2
            self.conv1 = nn.Conv2d(spec.in_chans, spec.stem_width, 7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            stem_reduction = 4
        else:  # [R1] Sec. 4.2: one 3x3 conv with 16 filters on the 32x32 image
            self.conv1 = nn.Conv2d(spec.in_chans, spec.stem_width, 3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
            stem_reduction = 1
        self.bn1 = nn.BatchNorm2d(spec.stem_width)

        self.feature_info = [FeatureInfo("stem", spec.stem_width, stem_reduction)]
        # Built whole, not appended to: TorchScript warns about an annotated empty list in `__init__`.
        self.stage_names = [f"layer{stage + 1}" for stage in range(len(spec.depths))]
        stages: list[nn.Sequential] = []
        in_chs, reduction = spec.stem_width, stem_reduction
        for stage, (depth, out_chs) in enumerate(zip(spec.depths, spec.out_widths, strict=True)):
            stride = 1 if stage == 0 else 2  # [R1] Sec. 3.3: stages after the first halve the map
            units = []
            for index in range(depth):
                units.append(
                    ResidualUnit(
                        in_chs,
                        out_chs,
                        inner_chs=spec.inner_width(stage),
                        stride=stride if index == 0 else 1,
                        spec=spec,
                        stem_pre_activated=stage == 0 and index == 0,
                    )
                )
                in_chs = out_chs
            stages.append(nn.Sequential(*units))
            reduction *= stride
            self.feature_info.append(FeatureInfo(self.stage_names[stage], out_chs, reduction))
        # Named attributes, as torchvision's, so that `forward_features` reads as straight lines (and scripts).
        self.layer1, self.layer2, self.layer3 = stages[:3]
        self.layer4 = stages[3] if len(stages) == 4 else None

        # [R2] appendix: with pre-activation units the last unit's sum is activated once more before pooling.
        self.final_bn = nn.BatchNorm2d(in_chs) if "bn" in order.final_activation else None
        self.final_relu = "relu" in order.final_activation
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc: nn.Module = _classifier(self.num_features, spec.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                # He et al. 2015 ("MSRA") as in [R1] Sec. 3.4; fan_out as torchvision and fb.resnet.torch.
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for unit in self.units():
            if unit.gate is not None and unit.gate.bias is not None:
                nn.init.constant_(unit.gate.bias, self.spec.gate_bias)
            if self.spec.zero_init_residual and self.spec.residual:
                unit.zero_init_last()

    def units(self) -> list[ResidualUnit]:
        return [m for m in self.modules() if isinstance(m, ResidualUnit)]

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool(F.relu(self.bn1(self.conv1(x)), inplace=True))

    def forward_intermediates(self, x: torch.Tensor, out_indices: Sequence[int] | None = None) -> list[torch.Tensor]:
        """Feature maps of the stem (index 0) and of each stage (1..N); all of them by default."""
        wanted = check_indices(out_indices, len(self.feature_info))
        x = self.forward_stem(x)
        features = [x] if 0 in wanted else []
        for stage, name in enumerate(self.stage_names, start=1):
            if stage > max(wanted):
                break
            x = getattr(self, name)(x)
            if stage in wanted:
                features.append(x)
        return features

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_stem(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        if self.layer4 is not None:  # [R1] Table 1's conv5_x; the CIFAR nets stop at three stages
            x = self.layer4(x)
        return self.forward_final_activation(x)

    def forward_final_activation(self, x: torch.Tensor) -> torch.Tensor:
        """The extra activation after the last unit of pre-activation networks; identity for the others."""
        if self.final_bn is not None:
            x = self.final_bn(x)
        return F.relu(x, inplace=True) if self.final_relu else x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = torch.flatten(self.avgpool(x), 1)
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a fresh one for `num_classes` (0: return pooled features)."""
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise UserInputError(f"num_classes must be a whole number >= 0, got {num_classes!r}")
        reference = self.conv1.weight
        self.fc = _classifier(self.num_features, num_classes).to(reference.device, reference.dtype)
        self.num_classes = num_classes


def _classifier(num_features: int, num_classes: int) -> nn.Module:
    return nn.Linear(num_features, num_classes) if num_classes > 0 else nn.Identity()


def check_indices(out_indices: Sequence[int] | None, count: int) -> set[int]:
    if out_indices is None:
        return set(range(count))
    wanted = set(out_indices)
    if not wanted or not wanted <= set(range(count)):
        raise UserInputError(
            f"out_indices must be a non-empty subset of 0..{count - 1} (0 = stem), got {list(out_indices)}"
        )
    return wanted
