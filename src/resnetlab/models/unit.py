"""One residual unit for every network of [R1] and [R2]: basic or bottleneck, any ordering, any shortcut."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from resnetlab.models.shortcuts import make_shortcut
from resnetlab.models.spec import ResNetSpec
from resnetlab.models.unit_orders import UNIT_ORDERS


class ResidualUnit(nn.Module):
    """conv{i} / bn{i} / downsample carry torchvision's names, so its checkpoints load unchanged.

    With `spec.residual=False` the same unit is a plain block ([R1] Fig. 3 middle): no shortcut, no addition.
    """

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
        self.order = UNIT_ORDERS[spec.unit_order]
        self.residual = spec.residual
        self.mapping = spec.shortcut_mapping
        self.shortcut_scale = spec.shortcut_scale
        self.residual_scale = spec.residual_scale
        self.shortcut_keep = 1.0 - spec.shortcut_dropout
        # [R2] appendix: the first unit after the stem takes the stem's activation instead of its own.
        self.skip_pre_activation = stem_pre_activated and bool(self.order.pre_activation)

        convs = _branch_convs(spec, in_chs, out_chs, inner_chs, stride)
        self.num_convs = len(convs)
        for index, (conv_in, conv_out, kernel, conv_stride, groups) in enumerate(convs, start=1):
            conv = nn.Conv2d(conv_in, conv_out, kernel, conv_stride, padding=kernel // 2, groups=groups, bias=False)
            setattr(self, f"conv{index}", conv)
            if index == 1 and self.skip_pre_activation and self.order.bn_before_conv:
                continue  # this BN lives in the stem
            setattr(self, f"bn{index}", nn.BatchNorm2d(conv_in if self.order.bn_before_conv else conv_out))

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
            projection_bn=not self.order.bn_before_conv,
        )
        if spec.shortcut_mapping in ("exclusive_gating", "shortcut_gating"):
            # [R2] Eq. (5): g(x) = sigmoid(W_g x + b_g), a 1x1 conv whose bias b_g sets how open the gate starts.
            self.gate = nn.Conv2d(in_chs, out_chs, 1, stride, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre_ops = self.order.pre_activation
        activated = x if self.skip_pre_activation else self._run(pre_ops, x, 1, fresh=False)
        # [R2] Sec. 4.1: a projection or padded shortcut shares the unit's pre-activation; an identity keeps x.
        shortcut_input = x if self.downsample is None else activated

        out = activated
        for index in range(1, self.num_convs + 1):
            ops = self.order.around_last_conv if index == self.num_convs else self.order.around_conv
            if index == 1:
                ops = ops[len(pre_ops) :]
            out = self._run(ops, out, index, fresh=out is not x)
        if self.residual:
            out = self._add_shortcut(out, shortcut_input)
        return self._run(self.order.after_add, out, self.num_convs, fresh=True)

    def _run(self, ops: tuple[str, ...], x: torch.Tensor, index: int, *, fresh: bool) -> torch.Tensor:
        """Apply `ops`; ReLU works in place only on tensors this unit made (never on its input)."""
        for op in ops:
            if op == "conv":
                x = getattr(self, f"conv{index}")(x)
            elif op == "bn":
                x = getattr(self, f"bn{index}")(x)
            else:
                x = F.relu(x, inplace=fresh)
            fresh = True
        return x

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
        """Start the residual branch at zero so the unit begins as its shortcut (Goyal et al. 2017; torchvision)."""
        last = self.num_convs
        last_ops = self.order.around_last_conv
        if "bn" in last_ops and last_ops.index("bn") > last_ops.index("conv"):
            nn.init.zeros_(getattr(self, f"bn{last}").weight)
        else:
            nn.init.zeros_(getattr(self, f"conv{last}").weight)


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
