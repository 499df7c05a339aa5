from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from resnetlab.data.transforms import (
    CropFlip,
    crop_flip,
    cutout,
    normalization,
    random_crop_flip,
    sample_crop_flip,
)
from resnetlab.errors import UserInputError

CPU = torch.device("cpu")


def test_a_crop_is_a_shifted_slice_of_the_zero_padded_image_and_a_flip_mirrors_it() -> None:
    batch = torch.randn(4, 3, 6, 5)
    params = CropFlip(
        top=torch.tensor([0, 8, 3, 2]), left=torch.tensor([0, 8, 5, 1]), flip=torch.tensor([False, True, False, True])
    )
    out = crop_flip(batch, params, pad=4)
    padded = F.pad(batch, (4, 4, 4, 4))
    assert out.shape == batch.shape
    for n in range(4):
        top, left = int(params.top[n]), int(params.left[n])
        expected = padded[n, :, top : top + 6, left : left + 5]
        assert torch.equal(out[n], expected.flip(-1) if params.flip[n] else expected)
    assert torch.equal(out[2], padded[2, :, 3:9, 5:10])  # one spelled out: rows 3..8, columns 5..9
    assert torch.all(out[0, :, :4, :] == 0)  # offset (0, 0): the top 4 rows are all zero padding


def test_the_centre_offset_without_flip_is_the_identity() -> None:
    batch = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    params = CropFlip(top=torch.tensor([4, 4]), left=torch.tensor([4, 4]), flip=torch.tensor([False, True]))
    out = crop_flip(batch, params, pad=4)
    assert torch.equal(out[0], batch[0])
    assert torch.equal(out[1], batch[1].flip(-1))


def test_sampled_offsets_cover_the_range_and_flips_are_a_fair_coin() -> None:
    params = sample_crop_flip(4000, pad=4, generator=torch.Generator().manual_seed(0))
    assert params.top.min() == 0 and params.top.max() == 8
    assert set(params.left.tolist()) == set(range(9))
    assert abs(params.flip.float().mean().item() - 0.5) < 0.03
    assert not torch.equal(params.top, params.left)  # rows and columns are drawn independently
    again = sample_crop_flip(4000, pad=4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(params.top, again.top) and torch.equal(params.flip, again.flip)


def test_random_crop_flip_treats_each_sample_on_its_own() -> None:
    image = torch.randn(1, 3, 8, 8)
    out = random_crop_flip(image.expand(16, 3, 8, 8), torch.Generator().manual_seed(1))
    distinct = {out[n].numpy().tobytes() for n in range(16)}
    assert len(distinct) > 8  # identical inputs, different offsets/flips per sample


def test_channel_normalization_is_per_channel_mean_and_std() -> None:
    batch = torch.randint(0, 256, (5, 3, 4, 4), dtype=torch.uint8)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.25, 0.5)
    normalize = normalization("channel", mean, std, torch.zeros(3, 4, 4), (3, 4, 4), CPU)
    expected = (batch.double() / 255 - torch.tensor(mean).double().view(1, 3, 1, 1)) / torch.tensor(std).double().view(
        1, 3, 1, 1
    )
    out = normalize(batch)
    assert out.dtype == torch.float32
    assert torch.allclose(out.double(), expected, atol=1e-5)


def test_pixel_mean_normalization_subtracts_the_mean_image_without_std() -> None:
    batch = torch.randint(0, 256, (5, 3, 4, 4), dtype=torch.uint8)
    pixel_mean = torch.rand(3, 4, 4)
    normalize = normalization("pixel_mean", (9.0,) * 3, (9.0,) * 3, pixel_mean, (3, 4, 4), CPU)
    assert torch.allclose(normalize(batch), batch.float() / 255 - pixel_mean, atol=1e-6)


def test_normalization_refuses_mismatched_statistics() -> None:
    with pytest.raises(ValueError, match="mean and std need 3 values"):
        normalization("channel", (0.5,), (0.5,), torch.zeros(3, 4, 4), (3, 4, 4), CPU)
    with pytest.raises(ValueError, match="pixel_mean has shape"):
        normalization("pixel_mean", (0.5,) * 3, (0.5,) * 3, torch.zeros(3, 2, 2), (3, 4, 4), CPU)
    with pytest.raises(UserInputError, match=r"data\.normalize must be channel or pixel_mean, got 'zca'"):
        normalization("zca", (0.5,) * 3, (0.5,) * 3, torch.zeros(3, 4, 4), (3, 4, 4), CPU)  # type: ignore[arg-type]


def test_cutout_zeroes_one_square_per_sample_clipped_at_the_border() -> None:
    batch = torch.ones(64, 3, 32, 32)
    out = cutout(batch, 16, torch.Generator().manual_seed(0))
    erased = out[:, 0] == 0
    assert torch.equal(erased[:, None].expand_as(out), out == 0)  # the same square in every channel
    for sample in erased:
        rows, columns = sample.any(dim=1).nonzero().flatten(), sample.any(dim=0).nonzero().flatten()
        assert 8 <= len(rows) <= 16 and 8 <= len(columns) <= 16  # a centre in the image: at least half the side
        assert int(sample.sum()) == len(rows) * len(columns)  # a rectangle: the square, clipped
    squares = {tuple(sample.nonzero()[0].tolist()) for sample in erased}
    assert len(squares) > 32  # each sample its own place
    assert torch.equal(batch, torch.ones(64, 3, 32, 32))  # the input is left as it was
