from __future__ import annotations

import pytest
import torch

from resnetlab.data import ImageSet
from resnetlab.data.imageset import derive_seed, generator


def test_imageset_rejects_wrong_dtypes_and_shapes() -> None:
    images = torch.zeros(3, 1, 2, 2, dtype=torch.uint8)
    with pytest.raises(ValueError, match="uint8"):
        ImageSet(images.float(), torch.zeros(3, dtype=torch.int64), ["a"])
    with pytest.raises(ValueError, match="labels"):
        ImageSet(images, torch.zeros(2, dtype=torch.int64), ["a"])
    with pytest.raises(ValueError, match="labels"):
        ImageSet(images, torch.zeros(3, dtype=torch.int32), ["a"])
    with pytest.raises(ValueError, match="contiguous"):
        ImageSet(torch.zeros(3, 1, 2, 3, dtype=torch.uint8).transpose(2, 3), torch.zeros(3, dtype=torch.int64), ["a"])


def test_subset_keeps_images_with_their_labels() -> None:
    images = torch.arange(4, dtype=torch.uint8).view(4, 1, 1, 1).expand(4, 1, 2, 2).contiguous()
    data = ImageSet(images, torch.tensor([0, 1, 0, 1]), ["even", "odd"])
    part = data.subset(torch.tensor([3, 0]))
    assert part.images[:, 0, 0, 0].tolist() == [3, 0]
    assert part.labels.tolist() == [1, 0]
    assert part.classes == ["even", "odd"] and len(part) == 2 and part.images.is_contiguous()


def test_derived_seeds_are_stable_and_do_not_collide_for_neighbouring_tuples() -> None:
    assert derive_seed(0, 1) == derive_seed(0, 1)
    assert derive_seed(0, 1) != derive_seed(1, 0)
    assert derive_seed(0, "shuffle", 1) != derive_seed(0, "augment", 1)
    first = torch.rand(4, generator=generator(7, "x"))
    assert torch.equal(first, torch.rand(4, generator=generator(7, "x")))
