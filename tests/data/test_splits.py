from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from resnetlab.config import DataConfig
from resnetlab.data import ImageSet, load_splits
from resnetlab.data.splits import image_statistics, stratified_split
from resnetlab.errors import UserInputError

from .fakes import make_imageset, make_tree


def _rows(data: ImageSet) -> Counter[tuple[bytes, int]]:
    """Each (image bytes, label) pair with its multiplicity: compares sets of samples whatever their order."""
    return Counter((image.numpy().tobytes(), int(label)) for image, label in zip(data.images, data.labels, strict=True))


def _unbalanced(count_per_class: list[int]) -> ImageSet:
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(count_per_class)])
    # Image i holds i in two bytes, so every image is unique and identifies where it came from.
    index = torch.arange(len(labels))
    images = torch.stack([index // 256, index % 256], 1).to(torch.uint8).view(-1, 1, 1, 2).contiguous()
    return ImageSet(images, labels, [str(c) for c in range(len(count_per_class))])


def test_stratified_split_holds_out_the_fraction_of_every_class() -> None:
    data = _unbalanced([100, 50, 30, 20])
    kept, held = stratified_split(data, 0.1, seed=3, purpose="val")
    assert torch.bincount(held.labels).tolist() == [10, 5, 3, 2]
    assert _rows(kept) + _rows(held) == _rows(data)  # nothing lost, nothing duplicated, labels still with images
    # Both sides keep the original order (shuffling is the batch stream's job).
    for part in (kept, held):
        index = part.images[:, 0, 0, 0].long() * 256 + part.images[:, 0, 0, 1].long()
        assert torch.all(index[1:] > index[:-1])


def test_stratified_split_is_seeded() -> None:
    data = _unbalanced([40, 40, 40])
    first = stratified_split(data, 0.25, seed=0, purpose="val")[1]
    again = stratified_split(data, 0.25, seed=0, purpose="val")[1]
    other = stratified_split(data, 0.25, seed=1, purpose="val")[1]
    assert torch.equal(first.images, again.images)
    assert not torch.equal(first.images, other.images)


def test_small_classes_still_sum_to_the_rounded_fraction_and_keep_one_image_each() -> None:
    # Rounding 3 * 0.1 per class would hold out nothing; the total must be round(30 * 0.1) = 3.
    kept, held = stratified_split(_unbalanced([3] * 10), 0.1, seed=0, purpose="test")
    assert len(held) == 3 and len(kept) == 27
    assert torch.bincount(held.labels, minlength=10).max() == 1
    kept, held = stratified_split(_unbalanced([1, 9]), 0.5, seed=0, purpose="test")
    assert 0 in kept.labels.tolist()  # a one-image class is never held out entirely


def test_a_fraction_that_holds_out_nothing_is_refused() -> None:
    with pytest.raises(UserInputError, match=r"data.val_fraction=0.01 of 20 images holds out none; raise"):
        stratified_split(_unbalanced([10, 10]), 0.01, seed=0, purpose="val")


def test_image_statistics_match_a_direct_computation() -> None:
    data = make_imageset(50, channels=3, side=4)
    mean, std, pixel_mean = image_statistics(data.images)
    values = data.images.double() / 255
    assert mean == pytest.approx(values.mean((0, 2, 3)).tolist(), abs=1e-12)
    assert std == pytest.approx(values.std((0, 2, 3), unbiased=False).tolist(), abs=1e-9)
    assert pixel_mean.dtype == torch.float32 and pixel_mean.shape == (3, 4, 4)
    assert torch.allclose(pixel_mean, values.mean(0).float())


def test_a_constant_channel_gets_std_one_instead_of_zero() -> None:
    images = torch.zeros(4, 2, 3, 3, dtype=torch.uint8)
    images[:, 1] = torch.arange(4, dtype=torch.uint8).view(4, 1, 1) * 50
    mean, std, _ = image_statistics(images)
    assert mean[0] == 0.0 and std[0] == 1.0 and std[1] > 0


def test_digits_splits_are_stratified_disjoint_and_complete() -> None:
    splits = load_splits(DataConfig(dataset="digits", test_fraction=0.2, val_fraction=0.1, split_seed=5))
    train, val, test = splits.train, splits.val, splits.test
    assert val is not None
    assert (len(train), len(val), len(test)) == (1294, 144, 359)  # 1797 * 0.2 -> 359, then 1438 * 0.1 -> 144
    everything = load_splits(DataConfig(dataset="digits", test_fraction=0.2))
    assert _rows(train) + _rows(val) + _rows(test) == _rows(everything.train) + _rows(everything.test)
    class_sizes = torch.bincount(everything.train.labels) + torch.bincount(everything.test.labels)
    assert torch.all((torch.bincount(test.labels) - 0.2 * class_sizes).abs() <= 1)
    for part in (train, val, test):
        assert part.images.dtype == torch.uint8 and part.images.shape[1:] == (1, 8, 8)
        assert part.classes == [str(i) for i in range(10)]
    assert splits.source == "digits (scikit-learn) (1294 train / 144 val / 359 test)"


def test_val_comes_out_of_train_and_leaves_test_untouched() -> None:
    without = load_splits(DataConfig(dataset="digits", val_fraction=0.0, split_seed=1))
    with_val = load_splits(DataConfig(dataset="digits", val_fraction=0.2, split_seed=1))
    assert without.val is None and with_val.val is not None
    assert torch.equal(without.test.images, with_val.test.images)
    assert _rows(with_val.train) + _rows(with_val.val) == _rows(without.train)


def test_statistics_describe_the_final_train_split() -> None:
    splits = load_splits(DataConfig(dataset="digits", val_fraction=0.3))
    mean, std, pixel_mean = image_statistics(splits.train.images)
    assert splits.mean == mean and splits.std == std and torch.equal(splits.pixel_mean, pixel_mean)
    assert len(splits.mean) == 1 and splits.pixel_mean.shape == (1, 8, 8)


def test_a_tree_without_test_split_is_split_with_test_fraction(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "shapes", {"a": 10, "b": 10})
    splits = load_splits(DataConfig(dataset="folder", path=str(root), test_fraction=0.3, cache_dir=str(tmp_path / "c")))
    assert torch.bincount(splits.test.labels).tolist() == [3, 3]
    assert splits.source == f"shapes folder {root} (14 train / 6 test)"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (DataConfig(val_fraction=1.0), r"data.val_fraction must be in \[0, 1\), got 1.0"),
        (DataConfig(test_fraction=0.0), r"data.test_fraction must be in \(0, 1\), got 0.0"),
        (DataConfig(dataset="mnist"), r"data.dataset must be one of digits, cifar10, cifar100, folder, got 'mnist'"),  # type: ignore[arg-type]
    ],
)
def test_bad_configs_are_refused(config: DataConfig, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        load_splits(config)


def test_a_streamed_tree_keeps_files_on_disk_with_sampled_statistics(tmp_path: Path) -> None:
    from resnetlab.data import FileSet

    make_tree(tmp_path / "tree" / "train", {"a": 6, "b": 6}, size=(20, 12))
    make_tree(tmp_path / "tree" / "val", {"a": 2, "b": 2}, size=(20, 12))
    config = DataConfig(dataset="folder", path=str(tmp_path / "tree"), augment="imagenet", val_fraction=0.25)
    config.crop_size, config.scale_range, config.eval_resize = 8, [10, 14], 10
    splits = load_splits(config)
    assert isinstance(splits.train, FileSet) and isinstance(splits.test, FileSet) and isinstance(splits.val, FileSet)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (9, 3, 4)
    assert splits.train.image_shape == (3, 8, 8) and splits.pixel_mean.shape == (3, 8, 8)
    assert "streamed" in splits.source and splits.color_pca is not None
    assert 0 < splits.mean[0] < 1


@pytest.mark.parametrize(
    ("settings", "streamed"),
    [
        ({"augment": "imagenet"}, True),
        ({"storage": "stream", "image_size": 8}, True),
        ({"image_size": 8}, False),
        ({"image_size": 8, "memory_limit_gb": 1e-6}, True),  # 8 files x 3 x 8 x 8 bytes > 1 kB
        ({}, False),
    ],
)
def test_auto_storage_streams_for_imagenet_augmentation_or_too_many_bytes(
    tmp_path: Path, settings: dict[str, object], streamed: bool
) -> None:
    from resnetlab.data.splits import streams

    make_tree(tmp_path, {"a": 4, "b": 4})
    assert streams(DataConfig(dataset="folder", path=str(tmp_path), **settings)) is streamed  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"dataset": "digits", "augment": "imagenet"}, "needs data.dataset=folder; for CIFAR use data.augment=cifar"),
        ({"dataset": "digits", "storage": "stream"}, "data.storage=stream applies to folders only"),
        ({"augment": "imagenet", "storage": "memory"}, "set data.storage to stream or auto"),
        ({"augment": "imagenet", "image_size": 8}, "set data.image_size to null"),
        ({"eval_view": "ten_crop"}, "data.eval_view=ten_crop applies to streamed folders"),
        ({"eval_view": "flip_translate", "storage": "stream"}, "flip_translate applies to images held in memory"),
    ],
)
def test_storage_combinations_that_cannot_work_are_refused(
    tmp_path: Path, settings: dict[str, object], message: str
) -> None:
    make_tree(tmp_path, {"a": 4, "b": 4})
    config = DataConfig(**{"dataset": "folder", "path": str(tmp_path), **settings})  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match=message):
        load_splits(config)
