"""`batches`: the stream a run reads one split through, chosen by where the data lives and what the config asks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from resnetlab.config import DataConfig
from resnetlab.data import BatchStream, DataSplits, FileSet, FileStream, ImageSet, batches
from resnetlab.data.transforms import color_pca
from resnetlab.data.views import CenterView, MirroredView, ScaleAugmentation, SquareView, TenCropView

from .fakes import make_imageset, make_tree

CPU = torch.device("cpu")
MEAN, STD = (0.5, 0.4, 0.3), (0.25, 0.2, 0.1)


def _splits(data: ImageSet | FileSet, *, pca: bool = False) -> DataSplits:
    pixel_mean = torch.zeros(3, 8, 8)
    covariance = torch.diag(torch.tensor([0.04, 0.01, 0.0025]))
    return DataSplits(data, None, data, MEAN, STD, pixel_mean, "fake", color_pca=color_pca(covariance) if pca else None)


def _files(root: Path) -> FileSet:
    tree = make_tree(root, {"cat": 4, "dog": 4}, size=(20, 20))
    paths = sorted(tree.glob("*/*.png"))
    labels = torch.tensor([0 if p.parent.name == "cat" else 1 for p in paths])
    return FileSet([str(p) for p in paths], labels, ["cat", "dog"], (3, 16, 16))


def test_images_in_memory_train_in_batches_of_batch_size_and_evaluate_in_eval_batch_size() -> None:
    data = make_imageset(20)
    config = DataConfig(batch_size=8, eval_batch_size=16)
    train = batches(config, _splits(data), data, train=True, seed=0, device=CPU)
    evaluate = batches(config, _splits(data), data, train=False, seed=0, device=CPU)
    assert isinstance(train, BatchStream) and isinstance(evaluate, BatchStream)
    assert [len(labels) for _, labels in train.epoch(0)] == [8, 8, 4]
    assert [len(labels) for _, labels in evaluate.epoch(0)] == [16, 4]


def test_evaluation_batches_are_the_images_in_order_normalised_by_the_splits_statistics() -> None:
    data = make_imageset(6)
    stream = batches(DataConfig(eval_batch_size=6), _splits(data), data, train=False, seed=0, device=CPU)
    ((images, labels),) = list(stream.epoch(0))
    mean, std = torch.tensor(MEAN).view(3, 1, 1), torch.tensor(STD).view(3, 1, 1)
    assert torch.allclose(images, (data.images.float() / 255 - mean) / std, atol=1e-5)
    assert torch.equal(labels, data.labels)


def test_flip_evaluation_follows_each_image_by_its_mirror_and_training_is_not_doubled() -> None:
    data = make_imageset(4)
    config = DataConfig(batch_size=4, eval_batch_size=4, eval_view="flip")
    ((images, labels),) = list(batches(config, _splits(data), data, train=False, seed=0, device=CPU).epoch(0))
    assert len(images) == 2 * len(labels)
    assert torch.equal(images[1], images[0].flip(-1))
    ((trained, _),) = list(batches(config, _splits(data), data, train=True, seed=0, device=CPU).epoch(0))
    assert len(trained) == 4


def test_a_process_trains_on_its_block_of_each_global_batch() -> None:
    data = make_imageset(16)
    config = DataConfig(batch_size=8)
    blocks = [
        list(batches(config, _splits(data), data, train=True, seed=3, device=CPU, shard=(rank, 2)).epoch(0))
        for rank in range(2)
    ]
    whole = list(batches(config, _splits(data), data, train=True, seed=3, device=CPU).epoch(0))
    for batch, first, second in zip(whole, *blocks, strict=True):
        assert torch.equal(torch.cat([first[1], second[1]]), batch[1])


def test_streamed_training_with_imagenet_augmentation_draws_scales_and_crops(tmp_path: Path) -> None:
    files = _files(tmp_path / "tree")
    config = DataConfig(augment="imagenet", crop_size=16, scale_range=[18, 24], workers=0, batch_size=4)
    stream = batches(config, _splits(files), files, train=True, seed=0, device=CPU)
    assert isinstance(stream, FileStream) and stream.train and stream.batch_size == 4
    assert isinstance(stream.view, ScaleAugmentation) and stream.view.scale_range == (18, 24)
    images, _ = next(iter(stream.epoch(0)))
    assert images.shape == (4, 3, 16, 16)


@pytest.mark.parametrize(
    ("options", "view"),
    [
        ({}, CenterView),
        ({"image_size": 16}, SquareView),
        ({"eval_view": "ten_crop"}, TenCropView),
        ({"eval_view": "flip"}, MirroredView),
    ],
)
def test_streamed_evaluation_uses_the_view_the_config_names(
    options: dict[str, object], view: type, tmp_path: Path
) -> None:
    files = _files(tmp_path / "tree")
    config = DataConfig(crop_size=16, eval_resize=18, eval_batch_size=8, workers=0, **options)  # type: ignore[arg-type]
    stream = batches(config, _splits(files), files, train=False, seed=0, device=CPU)
    assert isinstance(stream, FileStream) and not stream.train and stream.batch_size == 8
    assert type(stream.view) is view


def test_streamed_training_without_imagenet_augmentation_sees_the_evaluation_view(tmp_path: Path) -> None:
    files = _files(tmp_path / "tree")
    config = DataConfig(augment="none", crop_size=16, eval_resize=18, eval_view="ten_crop", workers=0)
    stream = batches(config, _splits(files), files, train=True, seed=0, device=CPU)
    assert type(stream.view) is CenterView  # the plain view: ten crops are for evaluation only


@pytest.mark.parametrize(("lighting", "pca", "changed"), [(0.1, True, True), (0.0, True, False), (0.1, False, False)])
def test_pca_lighting_applies_only_with_a_strength_and_the_splits_colour_axes(
    lighting: float, pca: bool, changed: bool, tmp_path: Path
) -> None:
    files = _files(tmp_path / "tree")
    config = DataConfig(augment="imagenet", crop_size=16, scale_range=[18, 24], workers=0, batch_size=8)
    lit, plain = dataclasses.replace(config, lighting=lighting), dataclasses.replace(config, lighting=0.0)
    (with_lighting, _), (without, _) = (
        next(iter(batches(c, _splits(files, pca=pca), files, train=True, seed=0, device=CPU).epoch(0)))
        for c in (lit, plain)
    )
    assert (not torch.equal(with_lighting, without)) is changed
