from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits as sklearn_digits

from resnetlab.data.digits import load_digits


def test_digits_are_1797_uint8_images_scaled_to_0_255_with_their_labels() -> None:
    data = load_digits()
    reference = sklearn_digits()
    assert data.images.shape == (1797, 1, 8, 8) and data.images.dtype == torch.uint8
    assert data.labels.dtype == torch.int64 and data.labels.tolist() == reference.target.tolist()
    assert data.classes == [str(i) for i in range(10)]
    expected = np.rint(reference.images * 255 / 16).astype(np.uint8)
    assert np.array_equal(data.images[:, 0].numpy(), expected)
    assert int(data.images.max()) == 255 and int(data.images.min()) == 0
