"""Where BN and ReLU sit in a residual unit: the five orderings of [R2] Fig. 4, as data.

Each ordering lists the operations around every conv of the residual branch and those after the addition.
"bn" and "conv" refer to the conv of the same index, so `conv2` is always paired with `bn2` (torchvision's names).
"""

from __future__ import annotations

from dataclasses import dataclass

from resnetlab.models.spec import UnitOrder


@dataclass(frozen=True)
class OrderSpec:
    around_conv: tuple[str, ...]  # ops for every conv but the last, in order
    around_last_conv: tuple[str, ...]  # ops for the last conv of the branch
    after_add: tuple[str, ...]  # ops after the addition; "bn" here is the last conv's BN
    final_activation: tuple[str, ...]  # ops after the last unit, before pooling

    @property
    def pre_activation(self) -> tuple[str, ...]:
        """Ops before the first conv: shared with a non-identity shortcut ([R2] Sec. 4.1, appendix)."""
        return self.around_conv[: self.around_conv.index("conv")]

    @property
    def bn_before_conv(self) -> bool:
        """Full pre-activation normalises a conv's input, so its BN has the conv's input width."""
        return self.around_conv.index("bn") < self.around_conv.index("conv")


UNIT_ORDERS: dict[UnitOrder, OrderSpec] = {
    # [R2] Fig. 4(a), [R1] Fig. 2: conv-BN-ReLU-conv-BN, add, ReLU.
    "original": OrderSpec(("conv", "bn", "relu"), ("conv", "bn"), ("relu",), ()),
    # [R2] Fig. 4(b): the last BN moves after the addition, so it also normalises the shortcut signal.
    "bn_after_add": OrderSpec(("conv", "bn", "relu"), ("conv",), ("bn", "relu"), ()),
    # [R2] Fig. 4(c): ReLU before the addition makes the residual non-negative.
    "relu_before_add": OrderSpec(("conv", "bn", "relu"), ("conv", "bn", "relu"), (), ()),
    # [R2] Fig. 4(d): ReLU-only pre-activation; the network ends with a ReLU so the head sees activated features.
    "relu_preact": OrderSpec(("relu", "conv", "bn"), ("relu", "conv", "bn"), (), ("relu",)),
    # [R2] Fig. 4(e): full pre-activation; an extra BN-ReLU after the last unit ([R2] appendix).
    "full_preact": OrderSpec(("bn", "relu", "conv"), ("bn", "relu", "conv"), (), ("bn", "relu")),
}
