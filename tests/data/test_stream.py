from __future__ import annotations

import itertools
from typing import Any, Literal

import pytest
import torch
import torch.nn.functional as F

from resnetlab.data import BatchStream, ImageSet
from resnetlab.errors import UserInputError

from .fakes import make_imageset

CPU = torch.device("cpu")


def _stream(
    data: ImageSet,
    batch_size: int = 8,
    *,
    train: bool = True,
    augment: Literal["none", "cifar"] = "none",
    seed: int = 0,
    **options: Any,
) -> BatchStream:
    channels = data.images.shape[1]
    defaults: dict[str, Any] = {
        "normalize": "pixel_mean",
        "mean": (0.0,) * channels,
        "std": (1.0,) * channels,
        "pixel_mean": torch.zeros(data.images.shape[1:]),
    }
    defaults.update(options)
    return BatchStream(data, batch_size, train=train, augment=augment, seed=seed, device=CPU, **defaults)


def _numbered(count: int) -> ImageSet:
    """Image i is filled with i and labelled i: after any shuffle, pixels must still match labels."""
    images = torch.arange(count, dtype=torch.uint8).view(count, 1, 1, 1).expand(count, 1, 2, 2).contiguous()
    return ImageSet(images, torch.arange(count), [str(i) for i in range(count)])


def _pixels(batch: torch.Tensor) -> torch.Tensor:
    """Undo pixel_mean normalisation with a zero mean: x * 255 is the uint8 value."""
    return (batch * 255).round().long()


def test_length_counts_the_last_partial_batch() -> None:
    fifty_thousand = ImageSet(torch.zeros(50_000, 1, 1, 1, dtype=torch.uint8), torch.zeros(50_000).long(), ["x"])
    assert len(_stream(fifty_thousand, 128)) == 391  # as [R1]'s 391 iterations per CIFAR epoch
    stream = _stream(_numbered(10), 4)
    batches = list(stream.epoch(0))
    assert len(stream) == 3 and [len(y) for _, y in batches] == [4, 4, 2]


def test_a_training_epoch_is_a_shuffle_of_every_sample_once_with_labels_kept() -> None:
    stream = _stream(_numbered(50), 8)
    seen = []
    for images, labels in stream.epoch(0):
        assert images.dtype == torch.float32 and images.shape[1:] == (1, 2, 2) and labels.dtype == torch.int64
        assert torch.equal(_pixels(images)[:, 0, 0, 0], labels)
        seen += labels.tolist()
    assert sorted(seen) == list(range(50)) and seen != list(range(50))


def test_epochs_shuffle_differently_and_reproducibly() -> None:
    def order(stream: BatchStream, epoch: int) -> list[int]:
        return [int(i) for _, labels in stream.epoch(epoch) for i in labels]

    stream = _stream(_numbered(64))
    assert order(stream, 0) != order(stream, 1)
    assert order(stream, 1) == order(_stream(_numbered(64)), 1)
    assert order(stream, 1) != order(_stream(_numbered(64), seed=1), 1)


@pytest.mark.parametrize("augment", ["none", "cifar"])
def test_starting_at_a_batch_yields_exactly_the_rest_of_the_full_epoch(augment: Literal["none", "cifar"]) -> None:
    stream = _stream(make_imageset(60, side=6), 8, augment=augment, seed=11)
    full = list(stream.epoch(3))
    resumed = list(_stream(make_imageset(60, side=6), 8, augment=augment, seed=11).epoch(3, start_batch=5))
    assert len(resumed) == len(full) - 5
    for (x_full, y_full), (x_resumed, y_resumed) in zip(full[5:], resumed, strict=True):
        assert torch.equal(x_full, x_resumed) and torch.equal(y_full, y_resumed)
    assert list(stream.epoch(3, start_batch=len(stream))) == []
    with pytest.raises(ValueError, match=r"start_batch must be in \[0, 8\], got 9"):
        stream.epoch(0, start_batch=9)


def test_evaluation_keeps_the_order_and_never_augments() -> None:
    data = make_imageset(20, side=4)
    stream = _stream(data, 6, train=False, augment="cifar")
    images = torch.cat([x for x, _ in stream.epoch(0)])
    labels = torch.cat([y for _, y in stream.epoch(7)])
    assert torch.equal(_pixels(images), data.images.long())
    assert torch.equal(labels, data.labels)


def test_cifar_augmentation_crops_and_flips_each_sample_of_a_batch_on_its_own() -> None:
    image = torch.randint(0, 256, (1, 3, 8, 8), dtype=torch.uint8)
    data = ImageSet(image.expand(64, 3, 8, 8).contiguous(), torch.zeros(64).long(), ["x"])
    stream = _stream(data, 64, augment="cifar")
    (batch, _) = next(iter(stream.epoch(0)))
    padded = F.pad(image[0].float() / 255, (4, 4, 4, 4))
    params = list(itertools.product(range(9), range(9), (False, True)))
    crops = [padded[:, top : top + 8, left : left + 8] for top, left, _ in params]
    candidates = torch.stack(
        [crop.flip(-1) if flip else crop for crop, (_, _, flip) in zip(crops, params, strict=True)]
    )
    distance = (batch[:, None] - candidates[None]).abs().amax((2, 3, 4))  # sample x candidate
    best = distance.argmin(1)
    assert torch.all(distance.min(1).values < 1e-6)  # every sample is some shift (maybe mirrored) of the padded image
    found = [params[int(i)] for i in best]
    assert len({(top, left) for top, left, _ in found}) > 10  # per-sample offsets, not one per batch
    assert {flip for _, _, flip in found} == {False, True}
    again = next(iter(_stream(data, 64, augment="cifar").epoch(0)))[0]
    assert torch.equal(batch, again)
    assert not torch.equal(batch, next(iter(stream.epoch(1)))[0])


def test_padding_comes_after_normalisation_so_the_border_is_zero() -> None:
    data = ImageSet(torch.full((32, 3, 4, 4), 200, dtype=torch.uint8), torch.zeros(32).long(), ["x"])
    stream = _stream(data, 32, augment="cifar", normalize="channel", mean=(0.5,) * 3, std=(0.25,) * 3)
    (batch, _) = next(iter(stream.epoch(0)))
    inside = (200 / 255 - 0.5) / 0.25
    border, image = batch.abs() < 1e-6, (batch - inside).abs() < 1e-5
    assert torch.all(border | image) and border.any() and image.any()


def test_channel_normalisation_of_a_batch() -> None:
    data = make_imageset(10, side=4)
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.3, 0.4)
    stream = _stream(data, 10, train=False, normalize="channel", mean=mean, std=std)
    (batch, _) = next(iter(stream.epoch(0)))
    expected = (data.images.double() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert torch.allclose(batch.double(), expected, atol=1e-5)


def test_channels_last_is_honoured() -> None:
    stream = _stream(make_imageset(8, side=4), 4, augment="cifar", channels_last=True)
    images, _ = next(iter(stream.epoch(0)))
    assert images.is_contiguous(memory_format=torch.channels_last)
    assert (
        not _stream(make_imageset(8, side=4), 4).epoch(0).__next__()[0].is_contiguous(memory_format=torch.channels_last)
    )


def test_bad_settings_are_refused() -> None:
    with pytest.raises(UserInputError, match="batch size must be >= 1, got 0"):
        _stream(_numbered(4), 0)
    with pytest.raises(UserInputError, match=r"data\.augment must be none or cifar, got 'autoaugment'"):
        _stream(_numbered(4), 2, augment="autoaugment")  # type: ignore[arg-type]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_batches_arrive_on_the_gpu_and_match_the_cpu_without_augmentation() -> None:
    data = make_imageset(20, side=4)

    def stream(device: torch.device, augment: Literal["none", "cifar"]) -> BatchStream:
        return BatchStream(
            data,
            8,
            train=True,
            augment=augment,
            normalize="channel",
            mean=(0.5,) * 3,
            std=(0.25,) * 3,
            pixel_mean=torch.zeros(3, 4, 4),
            seed=0,
            device=device,
        )

    gpu, cpu = torch.device("cuda"), torch.device("cpu")
    for (x_gpu, y_gpu), (x_cpu, y_cpu) in zip(stream(gpu, "none").epoch(1), stream(cpu, "none").epoch(1), strict=True):
        assert x_gpu.is_cuda and y_gpu.is_cuda
        assert torch.equal(y_gpu.cpu(), y_cpu) and torch.allclose(x_gpu.cpu(), x_cpu, atol=1e-6)
    images, _ = next(iter(stream(gpu, "cifar").epoch(0)))
    assert images.is_cuda and images.dtype == torch.float32 and images.shape == (8, 3, 4, 4)


def test_mirrored_evaluation_follows_each_image_with_its_mirror() -> None:
    data = make_imageset(5, side=4)
    plain = next(iter(_stream(data, train=False).epoch(0)))[0]
    images, labels = next(iter(_stream(data, train=False, mirrored=True).epoch(0)))
    assert images.shape[0] == 10 and labels.shape[0] == 5
    assert torch.equal(images[0::2], plain) and torch.equal(images[1::2], plain.flip(-1))


def test_translated_evaluation_gives_six_views_of_each_image_the_shifted_ones_a_pixel_off() -> None:
    data = make_imageset(3, side=6)
    plain = next(iter(_stream(data, train=False).epoch(0)))[0]
    images, labels = next(iter(_stream(data, train=False, mirrored=True, translated=True).epoch(0)))
    assert images.shape[0] == 18 and labels.shape[0] == 3
    views = images.view(3, 6, *plain.shape[1:])
    assert torch.equal(views[:, 0], plain) and torch.equal(views[:, 1], plain.flip(-1))
    up_left, down_right = views[:, 2], views[:, 4]
    assert torch.equal(up_left[..., 1:, 1:], plain[..., :-1, :-1])  # content moved one pixel down-right
    assert torch.equal(down_right[..., :-1, :-1], plain[..., 1:, 1:])
    assert torch.equal(views[:, 3], up_left.flip(-1)) and torch.equal(views[:, 5], down_right.flip(-1))


def test_training_batches_are_never_mirrored_twice() -> None:
    data = make_imageset(5, side=4)
    images, labels = next(iter(_stream(data, train=True, mirrored=True).epoch(0)))
    assert images.shape[0] == labels.shape[0] == 5


def test_cutout_erases_training_batches_only_and_keeps_the_crops_it_had_without() -> None:
    data = make_imageset(count=16, classes=2, side=8)
    plain, erased = _stream(data, augment="cifar"), _stream(data, augment="cifar", cutout=4)
    for (without, _), (with_cutout, _) in zip(plain.epoch(0), erased.epoch(0), strict=True):
        changed = without != with_cutout
        assert changed.any() and torch.equal(with_cutout[changed], torch.zeros(int(changed.sum())))
    evaluation = _stream(data, train=False, cutout=4)
    assert torch.equal(next(iter(evaluation.epoch(0)))[0], next(iter(_stream(data, train=False).epoch(0)))[0])
