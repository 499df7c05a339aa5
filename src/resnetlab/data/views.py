"""What one image file becomes for a streamed dataset: [R1] Sec. 3.4's training augmentation and evaluation views.

Each view maps a file path to uint8 pixels (C x H x W, or V x C x H x W for several views of one image). They run in
DataLoader workers, built from torchvision.transforms.v2 on Pillow images; randomness comes from torch's global
generator, which the caller seeds per sample. Normalisation and PCA lighting are per batch, in the training process.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from resnetlab.data.folder import decode_square, open_image


def open_rgb(path: str, shorter_side: int) -> Image.Image:
    """An RGB image decoded for a view of `shorter_side` pixels (`folder.open_image`, the one decoder)."""
    return open_image(path, shorter_side)


class ScaleAugmentation:
    """[R1] Sec. 3.4: "resized with its shorter side randomly sampled in [256, 480] for scale augmentation. A 224x224
    crop is randomly sampled from an image or its horizontal flip", then colour jitter (brightness, contrast,
    saturation, as in the fb.resnet.torch reproduction); the PCA lighting follows per batch."""

    def __init__(self, crop: int, scale_range: tuple[int, int], color_jitter: float) -> None:
        self.scale_range = scale_range
        steps: list[v2.Transform] = [v2.RandomCrop(crop), v2.RandomHorizontalFlip()]
        if color_jitter > 0:
            steps.append(v2.ColorJitter(brightness=color_jitter, contrast=color_jitter, saturation=color_jitter))
        self.crop_flip_jitter = v2.Compose(steps)

    def __call__(self, path: str) -> torch.Tensor:
        low, high = self.scale_range
        side = int(torch.randint(low, high + 1, ()).item())  # drawn first: the JPEG decode scale depends on it
        image = TF.resize(open_rgb(path, side), [side], antialias=True)
        return TF.pil_to_tensor(self.crop_flip_jitter(image))


class CenterView:
    """Evaluation: the shorter side resized to `resize`, the centre `crop` x `crop` ([R1] Sec. 3.4's single view)."""

    def __init__(self, resize: int, crop: int) -> None:
        self.resize, self.crop = resize, crop

    def __call__(self, path: str) -> torch.Tensor:
        image = TF.resize(open_rgb(path, self.resize), [self.resize], antialias=True)
        return TF.pil_to_tensor(TF.center_crop(image, [self.crop]))


class TenCropView(CenterView):
    """[R1] Sec. 3.4's "standard 10-crop testing": four corners and the centre, and their mirrors (10 x C x H x W)."""

    def __call__(self, path: str) -> torch.Tensor:
        image = TF.resize(open_rgb(path, self.resize), [self.resize], antialias=True)
        return torch.stack([TF.pil_to_tensor(view) for view in TF.ten_crop(image, [self.crop])])


class MirroredView:
    """A view and its mirror image (2 x C x H x W), for flip test-time augmentation."""

    def __init__(self, view: CenterView | SquareView) -> None:
        self.view = view

    def __call__(self, path: str) -> torch.Tensor:
        pixels = self.view(path)
        return torch.stack([pixels, pixels.flip(-1)])


class SquareView:
    """The decode of an in-memory folder (shorter side to `size`, centre square), so memory and stream agree."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, path: str) -> torch.Tensor:
        pixels = np.array(decode_square(path, self.size))  # a writable copy: Pillow's array is read-only
        return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()
