from __future__ import annotations

import pytest
import torch

from resnetlab.analysis import layer_responses
from resnetlab.analysis.responses import response_points
from resnetlab.models import create_model


@pytest.mark.parametrize(
    ("name", "count", "first_kind"),
    [
        ("cifar_resnet20", 19, torch.nn.BatchNorm2d),  # [R1] Fig. 7: the stem and 18 3x3 layers, after BN
        ("cifar_plain56", 55, torch.nn.BatchNorm2d),
        ("cifar_preact_resnet110", 109, torch.nn.Conv2d),  # BN before the conv: the conv's own output
        ("resnet50", 16, torch.nn.BatchNorm2d),  # one 3x3 per bottleneck; the 7x7 stem is not a 3x3 layer
    ],
)
def test_every_3x3_layer_has_one_response_point(name: str, count: int, first_kind: type) -> None:
    points = response_points(create_model(name))
    assert len(points) == count
    assert isinstance(points[0][1], first_kind)


def test_response_is_the_mean_channel_std_over_all_images_and_positions() -> None:
    model = create_model("cifar_resnet20").train()
    images = torch.randn(40, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        model(images)  # non-trivial running statistics
    model.eval()
    seen: list[torch.Tensor] = []
    handle = model.layer2.get_submodule("1").bn2.register_forward_hook(lambda _m, _i, out: seen.append(out))
    with torch.no_grad():
        model(images)
    handle.remove()
    expected = seen[0].transpose(0, 1).flatten(1).double().std(dim=1, unbiased=False).mean().item()
    model.train()  # measured in evaluation mode all the same, and the mode is given back
    responses = {r.name: r.std for r in layer_responses(model, images, batch_size=16)}  # 3 batches, pooled
    assert responses["layer2.1.conv2"] == pytest.approx(expected, rel=1e-6)
    assert model.training is True and not model.layer2.get_submodule("1").bn2._forward_hooks
