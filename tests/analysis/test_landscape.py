from __future__ import annotations

import torch

from resnetlab.analysis.landscape import (
    centre_curvature,
    evaluate,
    filter_normalized_direction,
    grid_coordinates,
    interpolate,
    monotone_share,
    moved,
)
from resnetlab.models import create_model


def test_each_filter_of_a_direction_has_its_weights_norm_and_bn_is_not_moved() -> None:
    model = create_model("cifar_resnet20", num_classes=10)
    direction = filter_normalized_direction(model, torch.Generator().manual_seed(0))
    for name, weight in model.named_parameters():
        if weight.dim() <= 1:  # BN scales and shifts, the classifier's bias
            assert not direction[name].any(), name
        else:
            norms = direction[name].flatten(1).norm(dim=1)
            assert torch.allclose(norms, weight.detach().flatten(1).norm(dim=1), rtol=1e-5), name
    again = filter_normalized_direction(model, torch.Generator().manual_seed(0))
    assert all(torch.equal(direction[n], again[n]) for n in direction)  # a seed gives the same direction


def test_a_moved_model_is_put_back_and_the_line_ends_at_both_states() -> None:
    model = create_model("cifar_resnet20", num_classes=3)
    images, labels = torch.randn(16, 3, 32, 32), torch.randint(0, 3, (16,))
    centre = {n: p.detach().clone() for n, p in model.named_parameters()}
    direction = filter_normalized_direction(model, torch.Generator().manual_seed(1))
    here = evaluate(model, images, labels, batch=8, precision="fp32")
    with moved(model, centre, [(0.5, direction)]) as shifted:
        away = evaluate(shifted, images, labels, batch=8, precision="fp32")
    assert away.loss != here.loss
    assert all(torch.equal(p, centre[n]) for n, p in model.named_parameters())
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(5)
    initial = create_model("cifar_resnet20", num_classes=3).state_dict()
    ends = interpolate(model, initial, trained, [0.0, 1.0], lambda m: evaluate(m, images, labels, 8, "fp32"))
    assert ends[1] == here
    model.load_state_dict(initial)
    assert ends[0] == evaluate(model, images, labels, batch=8, precision="fp32")


def _surface(f: object, size: int = 9) -> list[list[float]]:
    xs = grid_coordinates(size, 1.0)
    return [[f(a, b) for b in xs] for a in xs]  # type: ignore[operator]


def test_a_bowl_rises_along_every_ray_and_a_bump_lowers_the_share() -> None:
    assert monotone_share(_surface(lambda a, b: a * a + 2 * b * b)) == 1.0
    bumpy = _surface(lambda a, b: a * a + b * b + 0.5 * torch.cos(torch.tensor(12.0 * a)).item())
    assert 0.0 < monotone_share(bumpy) < 1.0
    assert monotone_share(_surface(lambda a, b: -(a * a) - b * b)) == 0.0  # a hill falls along every ray


def test_curvature_at_the_centre_is_the_second_difference() -> None:
    step = grid_coordinates(9, 1.0)[1] - grid_coordinates(9, 1.0)[0]
    along_1, along_2 = centre_curvature(_surface(lambda a, b: a * a + 2 * b * b), step)
    assert abs(along_1 - 2.0) < 1e-9 and abs(along_2 - 4.0) < 1e-9
