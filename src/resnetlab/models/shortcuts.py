"""Shortcut connections: [R1] options A/B/C for a change of dimensions, and the [R2] 1x1-conv shortcut."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from resnetlab.errors import UserInputError
from resnetlab.models.spec import PadChannels, ShortcutMapping, ShortcutOption


class ZeroPadShortcut(nn.Module):
    """Option A ([R1] Sec. 3.3): identity, subsampled by `stride`, with `extra_channels` zeros appended (`pad` "after")
    or split half before, half after the input's channels ("both").

    Parameter-free, so the CIFAR ResNets have exactly as many parameters as their plain counterparts. [R1] does not
    say where the zeros go; the weights of a trained net depend on it, so it is part of the spec.
    """

    def __init__(self, extra_channels: int, stride: int, pad: PadChannels = "after") -> None:
        super().__init__()
        self.extra_channels = extra_channels
        self.stride = stride
        self.before = extra_channels // 2 if pad == "both" else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        # F.pad pads from the last dimension inwards: (W left, W right, H top, H bottom, C front, C back).
        return F.pad(x, (0, 0, 0, 0, self.before, self.extra_channels - self.before))

    def extra_repr(self) -> str:
        return f"extra_channels={self.extra_channels}, stride={self.stride}, before={self.before}"


def projection(in_chs: int, out_chs: int, stride: int, *, with_bn: bool) -> nn.Sequential:
    """A 1x1 strided conv (options B/C), followed by BN unless the next unit normalises it (pre-activation).

    A Sequential keeps torchvision's state-dict keys `downsample.0` (conv) and `downsample.1` (BN).
    """
    layers: list[nn.Module] = [nn.Conv2d(in_chs, out_chs, kernel_size=1, stride=stride, bias=False)]
    if with_bn:
        layers.append(nn.BatchNorm2d(out_chs))
    return nn.Sequential(*layers)


def make_shortcut(
    in_chs: int,
    out_chs: int,
    stride: int,
    *,
    option: ShortcutOption,
    mapping: ShortcutMapping,
    projection_bn: bool,
    pad: PadChannels = "after",
) -> nn.Module | None:
    """The shortcut module of one unit, or None for a plain identity."""
    if mapping == "conv1x1":
        # [R2] Fig. 2(e): a 1x1 conv on every shortcut, drawn without BN.
        return projection(in_chs, out_chs, stride, with_bn=False)
    changes_dims = stride != 1 or in_chs != out_chs
    if option == "C" or (option == "B" and changes_dims):
        return projection(in_chs, out_chs, stride, with_bn=projection_bn)
    if changes_dims:
        if out_chs < in_chs:
            raise UserInputError(f"option A can only add channels, not go from {in_chs} to {out_chs}")
        return ZeroPadShortcut(out_chs - in_chs, stride, pad)
    return None
