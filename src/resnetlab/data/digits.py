"""scikit-learn's handwritten digits: 1,797 8x8 grayscale images shipped inside the package, so nothing downloads."""

from __future__ import annotations

import numpy as np
import torch

from resnetlab.data.imageset import ImageSet

_LEVELS = 16  # the digits' pixels are counts of set bits in 4x4 blocks: 0..16


def load_digits() -> ImageSet:
    """All 1,797 digits as uint8 1 x 8 x 8 images scaled from 0..16 to 0..255, classes "0".."9"."""
    # Imported here: scikit-learn takes about a second to import, and only this dataset needs it.
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    pixels = np.rint(np.asarray(bunch.images, dtype=np.float64) * (255 / _LEVELS)).astype(np.uint8)
    images = torch.from_numpy(pixels[:, None]).contiguous()
    labels = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    return ImageSet(images, labels, [str(int(name)) for name in bunch.target_names])
