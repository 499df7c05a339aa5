import numpy as np
import pytest
import torch

from resnetlab.analysis.gradcam import grad_cam, overlay
from resnetlab.models import create_model
from resnetlab.models.network import ResNet


def _model() -> ResNet:
    torch.manual_seed(0)
    model = create_model("cifar_resnet20", num_classes=4)
    assert isinstance(model, ResNet)
    return model


def test_the_heatmap_has_the_input_size_lies_in_0_1_and_is_not_constant() -> None:
    image = torch.randn(3, 40, 56, generator=torch.Generator().manual_seed(0))
    activation = grad_cam(_model(), image)
    assert activation.heatmap.shape == (40, 56)
    assert activation.heatmap.min() >= 0 and activation.heatmap.max() == pytest.approx(1.0)
    assert activation.heatmap.std() > 0.05


def test_the_top_class_by_default_or_the_one_asked_for() -> None:
    model = _model().eval()
    image = torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        probabilities = model(image[None]).softmax(1)[0]
    top = grad_cam(model, image)
    assert top.class_index == int(probabilities.argmax())
    assert top.probability == pytest.approx(float(probabilities.max()), rel=1e-5)
    other = (top.class_index + 1) % 4
    assert grad_cam(model, image, other).class_index == other


def test_a_class_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match=r"class index must be in \[0, 4\), got 7"):
        grad_cam(_model(), torch.randn(3, 32, 32), 7)


def test_the_overlay_keeps_the_image_size_and_colours_the_hot_region() -> None:
    image = np.full((10, 20, 3), 128, dtype=np.uint8)
    heatmap = np.zeros((10, 20), dtype=np.float32)
    heatmap[:, 10:] = 1.0
    blended = overlay(image, heatmap)
    assert blended.shape == (10, 20, 3) and blended.dtype == np.uint8
    assert blended[0, 15, 0] > blended[0, 15, 2]  # "jet": hot is red
    assert blended[0, 5, 2] > blended[0, 5, 0]  # cold is blue


def test_the_heatmap_is_grad_cams_definition_computed_another_way() -> None:
    """Selvaraju et al. Eq. 1-2 with a hook on the last stage: alpha_k = mean of dy_c/dA_k, ReLU(sum alpha_k A_k)."""
    model = _model().eval()
    image = torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(2))
    captured: dict[str, torch.Tensor] = {}

    def keep(module: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
        output.retain_grad()
        captured["maps"] = output

    handle = model.layer3.register_forward_hook(keep)  # a post-activation net: the last stage is what the head pools
    logits = model(image[None])
    handle.remove()
    top = int(logits.argmax())
    logits[0, top].backward()
    maps, gradient = captured["maps"], captured["maps"].grad
    assert gradient is not None
    expected = torch.relu((gradient.mean((2, 3), keepdim=True) * maps).sum(1))[0].detach()  # 8 x 8 for a 32 px input
    expected = torch.nn.functional.interpolate(expected[None, None], size=(32, 32), mode="bilinear")[0, 0]
    expected = expected / expected.max()
    assert expected.std() > 0.05  # a map with structure, not the all-zero one of a class with no evidence
    assert np.allclose(grad_cam(model, image).heatmap, expected.numpy(), atol=1e-5)
