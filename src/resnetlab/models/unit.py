"""One residual unit for every network of [R1] and [R2]: basic or bottleneck, any ordering, any shortcut."""

# No `from __future__ import annotations` here: TorchScript reads the `Final[bool]` flags below from the class's
# annotations and does not recognise them as strings.
from typing import Final

import torch
import torch.nn.functional as F
from torch import nn

from resnetlab.models.shortcuts import make_shortcut
from resnetlab.models.spec import ResNetSpec
from resnetlab.models.unit_orders import UNIT_ORDERS, OrderSpec


class ResidualUnit(nn.Module):
    """conv{i} / bn{i} / downsample carry torchvision's names, so its checkpoints load unchanged.

    With `spec.residual=False` the same unit is a plain block ([R1] Fig. 3 middle): no shortcut, no addition.

    Every ordering of [R2] Fig. 4 is one window of the same chain conv-BN-ReLU-conv-BN-ReLU-...: the orderings differ
    only in what comes before the first conv and around the addition. So `forward` is that chain written out, and the
    unit's row of `UNIT_ORDERS` sets the flags below once, when the unit is built.
    """

    # Final: TorchScript compiles only the branches a unit takes, so a layer it lacks (conv3 of a basic unit, bn1 of
    # a unit whose pre-activation the stem does) is never looked up; tracing (fx, export, compile) reads plain bools.
    bottleneck: Final[bool]
    residual: Final[bool]
    activates_input: Final[bool]  # ReLU or BN-ReLU before conv1: Fig. 4(d)(e)
    bn_before_conv: Final[bool]  # each BN normalises its conv's input: Fig. 4(e)
    bn_before_add: Final[bool]  # the last conv's BN comes before the addition: Fig. 4(a)(c)(d)
    relu_before_add: Final[bool]  # Fig. 4(c)
    bn_after_add: Final[bool]  # Fig. 4(b)
    relu_after_add: Final[bool]  # Fig. 4(a)(b)

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        *,
        inner_chs: int,
        stride: int,
        spec: ResNetSpec,
        stem_pre_activated: bool = False,
    ) -> None:
        super().__init__()
        self.order = UNIT_ORDERS[spec.unit_order]  # for code that inspects units; forward reads the flags below
        self.residual = spec.residual
        self.mapping = spec.shortcut_mapping
        self.shortcut_scale = spec.shortcut_scale
        self.residual_scale = spec.residual_scale
        self.shortcut_keep = 1.0 - spec.shortcut_dropout
        # [R2] appendix: the first unit after the stem takes the stem's activation instead of its own.
        self.skip_pre_activation = stem_pre_activated and bool(self.order.pre_activation)

        pre, before_add, after_add = _chain_parts(spec.unit_order, self.order)
        self.bn_before_conv = "bn" in pre
        self.activates_input = bool(pre) and not self.skip_pre_activation
        self.bn_before_add = "bn" in before_add
        self.relu_before_add = "relu" in before_add
        self.bn_after_add = "bn" in after_add
        self.relu_after_add = "relu" in after_add

        convs = _branch_convs(spec, in_chs, out_chs, inner_chs, stride)
        self.num_convs = len(convs)
        self.bottleneck = self.num_convs == 3
        # Full pre-activation normalises a conv's input, the other orderings its output.
        bn_chs = [conv_in if self.bn_before_conv else conv_out for conv_in, conv_out, *_ in convs]
        # Named attributes, not a ModuleList: the state-dict keys stay torchvision's conv1, bn1, conv2, ...
        self.conv1 = _conv(*convs[0])
        if not (self.skip_pre_activation and self.bn_before_conv):  # otherwise this BN lives in the stem
            self.bn1 = nn.BatchNorm2d(bn_chs[0])
        self.conv2 = _conv(*convs[1])
        self.bn2 = nn.BatchNorm2d(bn_chs[1])
        if self.bottleneck:
            self.conv3 = _conv(*convs[2])
            self.bn3 = nn.BatchNorm2d(bn_chs[2])

        self.downsample: nn.Module | None = None
        self.gate: nn.Conv2d | None = None
        if not spec.residual:
            return
        self.downsample = make_shortcut(
            in_chs,
            out_chs,
            stride,
            option=spec.shortcut,
            mapping=spec.shortcut_mapping,
            # A pre-activated unit's sum is normalised by the next unit's BN, so its projection has none.
            projection_bn=not self.bn_before_conv,
            pad=spec.pad_channels,
        )
        if spec.shortcut_mapping in ("exclusive_gating", "shortcut_gating"):
            # [R2] Eq. (5): g(x) = sigmoid(W_g x + b_g), a 1x1 conv whose bias b_g sets how open the gate starts.
            self.gate = nn.Conv2d(in_chs, out_chs, 1, stride, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._pre_activate(x) if self.activates_input else x
        # [R2] Sec. 4.1: a projection or padded shortcut shares the unit's pre-activation; an identity keeps x.
        shortcut_input = x if self.downsample is None else out

        # Between two convs every ordering has BN then ReLU: the earlier conv's BN, or with full pre-activation the
        # later conv's, which normalises that conv's input. ReLU works in place only on tensors this unit made.
        out = self.conv1(out)
        out = F.relu(self.bn2(out) if self.bn_before_conv else self.bn1(out), inplace=True)
        out = self.conv2(out)
        if self.bottleneck:  # [R1] Fig. 5 right: 1x1, 3x3, 1x1
            out = F.relu(self.bn3(out) if self.bn_before_conv else self.bn2(out), inplace=True)
            out = self.conv3(out)

        if self.bn_before_add:
            out = self._last_bn(out)
        if self.relu_before_add:
            out = F.relu(out, inplace=True)
        if self.residual:
            out = self._add_shortcut(out, shortcut_input)
        if self.bn_after_add:
            out = self._last_bn(out)
        if self.relu_after_add:
            out = F.relu(out, inplace=True)
        return out

    def _pre_activate(self, x: torch.Tensor) -> torch.Tensor:
        """[R2] Fig. 4(d)(e): ReLU, or BN then ReLU, before conv1 (never in place on the unit's input)."""
        if self.bn_before_conv:
            return F.relu(self.bn1(x), inplace=True)
        return F.relu(x)

    def _last_bn(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn3(x) if self.bottleneck else self.bn2(x)

    def _add_shortcut(self, residual: torch.Tensor, shortcut_input: torch.Tensor) -> torch.Tensor:
        shortcut = shortcut_input if self.downsample is None else self.downsample(shortcut_input)
        if self.mapping == "scaling":
            # [R2] Eq. (3)/(4) and Fig. 2(b): constant scaling of the shortcut (and optionally the residual).
            return self.residual_scale * residual + self.shortcut_scale * shortcut
        if self.gate is not None:
            gate = torch.sigmoid(self.gate(shortcut_input))
            if self.mapping == "exclusive_gating":  # [R2] Fig. 2(c): g*F + (1-g)*x
                return gate * residual + (1.0 - gate) * shortcut
            return residual + (1.0 - gate) * shortcut  # [R2] Fig. 2(d): F + (1-g)*x
        if self.mapping == "dropout":
            shortcut = self._drop_shortcut(shortcut)
        return residual + shortcut

    def _drop_shortcut(self, shortcut: torch.Tensor) -> torch.Tensor:
        """[R2] Sec. 3.1, Fig. 2(f): dropout on the shortcut "imposes a scale of lambda with an expectation of 0.5".

        That argument needs dropout without the usual 1/keep rescaling: a Bernoulli(keep) mask while training and the
        expected scale `keep` at test time. (nn.Dropout rescales, which keeps the shortcut's expectation at 1.)
        """
        if self.training:
            return shortcut * torch.empty_like(shortcut).bernoulli_(self.shortcut_keep)
        return shortcut * self.shortcut_keep

    def zero_init_last(self) -> None:
        """Start the residual branch at zero so the unit begins as its shortcut (Goyal et al. 2017; torchvision).

        Zeroing the last BN's scale does it only where that BN comes right after the last conv, before the addition.
        """
        last_conv, last_bn = (self.conv3, self.bn3) if self.bottleneck else (self.conv2, self.bn2)
        nn.init.zeros_(last_bn.weight if self.bn_before_add else last_conv.weight)


def _chain_parts(name: str, order: OrderSpec) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(ops before conv1, ops after the last conv before the addition, ops after it) of one row of `UNIT_ORDERS`.

    `ResidualUnit.forward` runs BN-ReLU between convs; a row that does not fit that chain fails here, when the first
    unit is built, instead of running a different network than its row describes.
    """
    pre = order.pre_activation
    conv = len(pre)
    inner_post = order.around_conv[conv + 1 :]
    last_pre, before_add = order.around_last_conv[:conv], order.around_last_conv[conv + 1 :]
    last_bn_count = ("bn" in pre) + ("bn" in before_add) + ("bn" in order.after_add)
    fits = (
        inner_post + pre == ("bn", "relu")
        and last_pre == pre
        and order.around_last_conv[conv] == "conv"
        and before_add in _BN_RELU_PARTS
        and order.after_add in _BN_RELU_PARTS
        and last_bn_count == 1
    )
    if not fits:
        raise ValueError(f"unit order {name!r} does not fit the conv-BN-ReLU chain of ResidualUnit.forward: {order}")
    return pre, before_add, order.after_add


_BN_RELU_PARTS = ((), ("bn",), ("relu",), ("bn", "relu"))


def _conv(conv_in: int, conv_out: int, kernel: int, stride: int, groups: int) -> nn.Conv2d:
    return nn.Conv2d(conv_in, conv_out, kernel, stride, padding=kernel // 2, groups=groups, bias=False)


def _branch_convs(
    spec: ResNetSpec, in_chs: int, out_chs: int, inner_chs: int, stride: int
) -> list[tuple[int, int, int, int, int]]:
    """(in, out, kernel, stride, groups) for each conv of the residual branch ([R1] Fig. 5)."""
    if spec.block == "basic":
        return [(in_chs, out_chs, 3, stride, 1), (out_chs, out_chs, 3, 1, 1)]
    # The original bottleneck strides its first 1x1 ("v1"); torchvision moved the stride to the 3x3 ("v1.5"),
    # which costs more MACs (4.09 vs 3.8 GMACs for ResNet-50) and is slightly more accurate.
    stride_1x1, stride_3x3 = (stride, 1) if spec.stride_in == "1x1" else (1, stride)
    return [
        (in_chs, inner_chs, 1, stride_1x1, 1),
        (inner_chs, inner_chs, 3, stride_3x3, spec.groups),
        (inner_chs, out_chs, 1, 1, 1),
    ]
