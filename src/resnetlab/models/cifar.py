"""The CIFAR family: [R1] Sec. 4.2 (6n+2 ResNets and plain nets) and [R2]'s CIFAR networks."""

from __future__ import annotations

from typing import Any

from resnetlab.errors import UserInputError
from resnetlab.models.registry import register_model
from resnetlab.models.spec import BlockType, ResNetSpec


def cifar_spec(depth: int, block: BlockType = "basic", **fields: Any) -> ResNetSpec:
    """Three stages of n units on 32/16/8 px maps with 16/32/64 filters ([R1] Sec. 4.2).

    A basic unit holds two weighted layers (depth 6n+2), a bottleneck three (depth 9n+2, [R2] Sec. 4).
    """
    layers_per_unit = 2 if block == "basic" else 3
    units, remainder = divmod(depth - 2, 3 * layers_per_unit)
    if remainder:
        raise UserInputError(f"a CIFAR {block} network has depth {3 * layers_per_unit}n+2, not {depth}")
    return ResNetSpec(
        block=block,
        depths=(units, units, units),
        widths=(16, 32, 64),
        stem="cifar",
        stem_width=16,
        input_size=32,
        num_classes=10,
        **fields,
    )


for _depth in (20, 32, 44, 56, 110, 1202):
    # [R1] Sec. 4.2: "we use identity shortcuts in all cases (i.e., option A)".
    register_model(f"cifar_resnet{_depth}", cifar_spec(_depth, shortcut="A"), source="[R1] Sec. 4.2, Table 6")
for _depth in (20, 32, 44, 56, 110):
    register_model(f"cifar_plain{_depth}", cifar_spec(_depth, residual=False), source="[R1] Sec. 4.2, Fig. 6")

# [R2]'s bottleneck networks as its authors' code builds them: a 1x1 projection (no BN in pre-activation units)
# where dimensions increase, and the stride on the first 1x1 conv of a downsampling unit.
for _depth in (164, 1001):
    register_model(
        f"cifar_resnet{_depth}",
        cifar_spec(_depth, "bottleneck", shortcut="B", stride_in="1x1"),
        source="[R2] Table 2, Table 3",
    )
    register_model(
        f"cifar_preact_resnet{_depth}",
        cifar_spec(_depth, "bottleneck", shortcut="B", stride_in="1x1", unit_order="full_preact"),
        source="[R2] Table 2, Table 3",
    )
# [R2] Table 2 changes only the ordering of [R1]'s ResNet-110, so its shortcuts stay option A.
register_model("cifar_preact_resnet110", cifar_spec(110, shortcut="A", unit_order="full_preact"), source="[R2] Table 2")
