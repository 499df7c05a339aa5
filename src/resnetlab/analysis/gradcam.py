"""Grad-CAM (Selvaraju et al. 2017): where in the image the evidence for a class lies.

The last stage's feature maps (after the pre-activation networks' final BN-ReLU, [R2]) are weighted by the
spatially averaged gradient of the class score with respect to them; the positive part of the weighted sum, upsampled
to the image, is the heatmap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from resnetlab.models.network import ResNet


@dataclass(frozen=True)
class ClassActivation:
    heatmap: np.ndarray  # H x W in [0, 1], at the model's input size
    class_index: int
    probability: float


def grad_cam(model: ResNet, image: torch.Tensor, class_index: int | None = None) -> ClassActivation:
    """Grad-CAM of one normalised image (C x H x W) for `class_index` (default: the top class)."""
    model.eval()
    with torch.enable_grad():
        features = model.forward_features(image[None].float()).detach().requires_grad_(True)
        logits = model.forward_head(features)
        chosen = int(logits.argmax(1)) if class_index is None else class_index
        if not 0 <= chosen < logits.shape[1]:
            raise ValueError(f"class index must be in [0, {logits.shape[1]}), got {chosen}")
        (gradient,) = torch.autograd.grad(logits[0, chosen], features)
    weights = gradient.mean(dim=(2, 3), keepdim=True)  # one weight per channel: its average gradient
    cam = F.relu((weights * features.detach()).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=image.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    peak = cam.max()
    heatmap = (cam / peak if peak > 0 else cam).cpu().numpy()
    probability = float(logits.detach().softmax(1)[0, chosen])
    return ClassActivation(heatmap.astype(np.float32), chosen, probability)


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The heatmap in matplotlib's "jet" colours blended over an H x W x 3 uint8 image of the same size."""
    from matplotlib import colormaps

    colours = colormaps["jet"](heatmap)[..., :3] * 255.0
    blended = (1 - alpha) * image.astype(np.float32) + alpha * colours
    return np.clip(blended, 0, 255).astype(np.uint8)
