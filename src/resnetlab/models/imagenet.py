"""The ImageNet family: [R1] Table 1, its plain counterparts, ResNeXt / Wide ResNet, and [R2] pre-activation."""

from __future__ import annotations

from typing import Any

from resnetlab.models.registry import register_model
from resnetlab.models.spec import BlockType, ResNetSpec

# [R1] Table 1 (18-152) and [R2] Sec. 5 (200): block type and units per stage (conv2_x .. conv5_x).
DEPTHS: dict[int, tuple[BlockType, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
}


def imagenet_spec(depth: int, **fields: Any) -> ResNetSpec:
    block, depths = DEPTHS[depth]
    return ResNetSpec(
        block=block,
        depths=depths,
        widths=(64, 128, 256, 512),
        stem="imagenet",
        stem_width=64,
        input_size=224,
        num_classes=1000,
        **fields,
    )


for _depth in (18, 34, 50, 101, 152):
    # Option B by default ([R1] Sec. 3.3: projections only where dimensions increase), as torchvision.
    register_model(f"resnet{_depth}", imagenet_spec(_depth), source="[R1] Table 1")
    register_model(f"plain{_depth}", imagenet_spec(_depth, residual=False), source="[R1] Fig. 3, Table 2")

for _depth in (18, 34, 50, 101, 152, 200):
    register_model(
        f"preact_resnet{_depth}", imagenet_spec(_depth, unit_order="full_preact"), source="[R2] Sec. 5, Table 5"
    )

# Grouped and widened bottlenecks, with torchvision's names and widths (Xie et al. 2017; Zagoruyko & Komodakis 2016).
register_model("resnext50_32x4d", imagenet_spec(50, groups=32, width_per_group=4), source="ResNeXt (torchvision)")
register_model("resnext101_32x8d", imagenet_spec(101, groups=32, width_per_group=8), source="ResNeXt (torchvision)")
register_model("resnext101_64x4d", imagenet_spec(101, groups=64, width_per_group=4), source="ResNeXt (torchvision)")
register_model("wide_resnet50_2", imagenet_spec(50, width_per_group=128), source="Wide ResNet (torchvision)")
register_model("wide_resnet101_2", imagenet_spec(101, width_per_group=128), source="Wide ResNet (torchvision)")
