from __future__ import annotations

import functools
import math

import torch

from resnetlab.analysis.landscape import (
    centre_curvature,
    evaluate,
    filter_normalized_direction,
    grid_coordinates,
    interpolate,
    monotone_share,
    moved,
    reestimate_bn,
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


def test_bn_statistics_are_measured_afresh_and_keep_the_line_finite_past_the_trained_end() -> None:
    torch.manual_seed(0)
    model = create_model("cifar_resnet20", num_classes=3).eval()
    images, labels = torch.randn(32, 3, 32, 32) * 2 + 1, torch.randint(0, 3, (32,))
    reestimate_bn(model, images, batch=8)
    with torch.no_grad():
        features = model.maxpool(model.conv1(images))  # what the first BN sees
    assert torch.allclose(model.bn1.running_mean, features.mean(dim=(0, 2, 3)), atol=1e-4)  # all 4 batches alike
    assert model.bn1.momentum == 0.1 and not model.training  # put back as they were
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    initial = {k: v.clone() for k, v in trained.items()}
    for name, value in initial.items():
        if name.endswith("running_var"):
            value.mul_(20)  # 1.2 * trained - 0.2 * (20 * trained) < 0: a negative variance past t = 1
    measure = functools.partial(evaluate, images=images, labels=labels, batch=8, precision="fp32")
    plain = interpolate(model, initial, trained, [1.2], measure)
    reestimate = functools.partial(reestimate_bn, images=images, batch=8)
    again = interpolate(model, initial, trained, [1.2], measure, reestimate)
    assert math.isnan(plain[0].loss) and math.isfinite(again[0].loss)
    assert all(torch.equal(v, trained[k]) for k, v in model.state_dict().items())  # left with the trained state


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
