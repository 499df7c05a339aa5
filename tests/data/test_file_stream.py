from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from resnetlab.data.file_stream import FileStream, sample_statistics
from resnetlab.data.folder import SkippedFilesWarning, scan_folder
from resnetlab.data.imageset import FileSet
from resnetlab.data.transforms import ColorPCA, color_pca, lighting_offsets, normalization
from resnetlab.data.views import CenterView, ScaleAugmentation, TenCropView
from resnetlab.errors import UserInputError
from tests.data.fakes import write_image


def _noisy_tree(root: Path, per_class: int = 5, classes: int = 2) -> Path:
    """JPEGs of mixed sizes, class c around a colour of its own."""
    rng = np.random.default_rng(0)
    for c in range(classes):
        for i in range(per_class):
            width, height = (int(v) for v in rng.integers(24, 48, 2))
            pixels = rng.integers(0, 40, (height, width, 3)) + np.array([40 + 80 * c, 100, 200 - 80 * c])
            path = root / f"class{c}" / f"{i}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path)
    return root


def _stream(
    data: FileSet, *, train: bool = True, workers: int = 0, view: object = None, **kwargs: object
) -> FileStream:
    normalize = normalization("channel", (0.5,) * 3, (0.25,) * 3, torch.zeros(0), data.image_shape, torch.device("cpu"))
    return FileStream(
        data,
        4,
        train=train,
        view=view or ScaleAugmentation(16, (18, 30), 0.4),  # type: ignore[arg-type]
        normalize=normalize,
        seed=1,
        device=torch.device("cpu"),
        workers=workers,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def files(tmp_path: Path) -> FileSet:
    train, test, _ = scan_folder(str(_noisy_tree(tmp_path / "tree")), (3, 16, 16))
    assert test is None
    return train


def test_batches_do_not_depend_on_the_number_of_workers(files: FileSet) -> None:
    in_process = list(_stream(files, workers=0).epoch(2))
    with_workers = list(_stream(files, workers=2).epoch(2))
    assert len(in_process) == 3  # 10 files in batches of 4
    for (a, la), (b, lb) in zip(in_process, with_workers, strict=True):
        assert torch.equal(a, b) and torch.equal(la, lb)
    assert a.shape[1:] == (3, 16, 16) and a.dtype == torch.float32


def test_epochs_differ_and_a_mid_epoch_start_sees_the_same_batches(files: FileSet) -> None:
    stream = _stream(files)
    first, second = list(stream.epoch(0)), list(stream.epoch(1))
    assert not torch.equal(first[0][0], second[0][0])
    resumed = list(stream.epoch(0, start_batch=1))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first[1:], resumed, strict=True))


def test_the_training_process_generator_is_left_alone(files: FileSet) -> None:
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    list(_stream(files, workers=0).epoch(0))
    assert torch.equal(torch.rand(3), expected)


def test_ten_crop_evaluation_gives_ten_images_per_label(files: FileSet) -> None:
    images, labels = next(iter(_stream(files, train=False, view=TenCropView(20, 16)).epoch(0)))
    assert images.shape == (40, 3, 16, 16) and labels.tolist() == [0, 0, 0, 0]


def test_lighting_moves_each_image_by_one_colour_shift(files: FileSet) -> None:
    pca = color_pca(torch.diag(torch.tensor([0.04, 0.01, 0.0025], dtype=torch.float64)))
    view = CenterView(20, 16)  # no random view: only the lighting differs
    plain = list(_stream(files, view=view).epoch(0))
    lit = list(_stream(files, view=view, lighting=(pca, 0.1)).epoch(0))
    shift = lit[0][0] - plain[0][0]
    per_image = shift.flatten(2)
    assert torch.allclose(per_image, per_image[:, :, :1].expand_as(per_image), atol=1e-5)  # constant per channel
    assert per_image[:, :, 0].abs().max() > 0


def test_lighting_offsets_follow_the_colour_axes() -> None:
    pca = color_pca(torch.diag(torch.tensor([0.04, 0.0, 0.0], dtype=torch.float64)))
    offsets = lighting_offsets(pca, 1000, 0.1, torch.ones(1, 3, 1, 1) / 255.0, torch.Generator().manual_seed(0))
    assert offsets.shape == (1000, 3, 1, 1)
    # Only the red axis has spread (std 0.2): shifts are N(0, 0.1 * 0.2) in red, zero elsewhere.
    assert offsets[:, 1:].abs().max() < 1e-6
    assert offsets[:, 0].std().item() == pytest.approx(0.02, rel=0.1)


def test_unreadable_files_are_skipped_with_a_counted_warning(files: FileSet, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    data = FileSet([*files.files, str(bad)], torch.cat([files.labels, torch.tensor([0])]), files.classes, (3, 16, 16))
    stream = _stream(data, train=False, view=CenterView(20, 16))
    with pytest.warns(SkippedFilesWarning, match=r"skipped 1 file\(s\) that are not readable images, e.g. .*bad.jpg"):
        seen = sum(len(labels) for _, labels in stream.epoch(0))
    assert seen == 10
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same file again is not warned about again
        list(stream.epoch(0))


def test_a_batch_of_only_unreadable_files_stops_with_a_message(tmp_path: Path) -> None:
    for i in range(2):
        (tmp_path / f"{i}.jpg").write_text("no")
    data = FileSet([str(tmp_path / f"{i}.jpg") for i in range(2)], torch.tensor([0, 1]), ["a", "b"], (3, 16, 16))
    with pytest.warns(SkippedFilesWarning), pytest.raises(UserInputError, match="none of the 2 files of batch 0"):
        list(_stream(data, train=False, view=CenterView(20, 16)).epoch(0))


def test_sample_statistics_match_a_direct_computation(tmp_path: Path) -> None:
    for label, colour in enumerate([(10, 20, 30), (200, 100, 50)]):
        for i in range(3):
            (tmp_path / f"c{label}").mkdir(exist_ok=True)
            Image.new("RGB", (20, 16), colour).save(tmp_path / f"c{label}" / f"{i}.png")
    data, _, _ = scan_folder(str(tmp_path), (3, 8, 8))
    stats = sample_statistics(data, CenterView(8, 8), workers=0, limit=100, seed=0)
    values = torch.tensor([[10, 20, 30], [200, 100, 50]], dtype=torch.float64) / 255
    assert torch.allclose(stats["mean"], values.mean(0))
    assert torch.allclose(stats["std"], values.std(0, unbiased=False))
    assert torch.allclose(stats["covariance"], torch.cov(values.T, correction=0), atol=1e-9)
    assert stats["pixel_mean"].shape == (3, 8, 8)


def test_cutout_erases_streamed_training_images_only(files: FileSet) -> None:
    view = CenterView(20, 16)  # no random view: only the cutout differs
    plain = next(iter(_stream(files, view=view).epoch(0)))[0]
    erased = next(iter(_stream(files, view=view, cutout=6).epoch(0)))[0]
    changed = plain != erased
    assert changed.any() and torch.equal(erased[changed], torch.zeros(int(changed.sum())))
    evaluation = next(iter(_stream(files, train=False, view=view, cutout=6).epoch(0)))[0]
    assert torch.equal(evaluation, next(iter(_stream(files, train=False, view=view).epoch(0)))[0])


def _pca() -> tuple[ColorPCA, float]:
    return color_pca(torch.diag(torch.tensor([0.04, 0.01, 0.0025], dtype=torch.float64))), 0.1


@pytest.mark.parametrize("workers", [0, 2])
def test_the_shards_of_a_streamed_batch_are_the_batch_one_process_trains_on(files: FileSet, workers: int) -> None:
    """Every augmentation (the per-image random view, then crop and flip, lighting and cutout drawn for the global
    batch) lands on the same image whichever process decodes it."""
    options = {"cifar_augment": True, "cutout": 6, "lighting": _pca()}
    whole = list(_stream(files, **options).epoch(3))
    shards = [list(_stream(files, workers=workers, shard=(rank, 2), **options).epoch(3)) for rank in range(2)]
    assert len(whole) == len(shards[0]) == len(shards[1]) == 3  # 10 files: 4 + 4 + 2, i.e. 2 + 2 + 1 per process
    for batch, first, second in zip(whole, *shards, strict=True):
        assert len(first[1]) == (len(batch[1]) + 1) // 2
        assert torch.equal(torch.cat([first[0], second[0]]), batch[0])
        assert torch.equal(torch.cat([first[1], second[1]]), batch[1])


def test_a_skipped_file_leaves_the_other_images_augmentation_alone(files: FileSet, tmp_path: Path) -> None:
    """Augmentation parameters belong to positions in the planned batch, not to whichever images were readable."""
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    broken = FileSet([*files.files[:-1], str(bad)], files.labels, files.classes, files.image_shape)
    options = {"cifar_augment": True, "cutout": 6}
    intact = list(_stream(files, **options).epoch(0))
    with pytest.warns(SkippedFilesWarning):
        damaged = list(_stream(broken, **options).epoch(0))
    shorter = 0
    for (a, la), (b, lb) in zip(intact, damaged, strict=True):
        if len(b) == len(a):
            assert torch.equal(a, b) and torch.equal(la, lb)
            continue
        shorter += 1  # the batch that held the unreadable file: the others' images are as they were
        assert any(torch.equal(torch.cat([a[:p], a[p + 1 :]]), b) for p in range(len(a)))
    assert shorter == 1


def test_a_last_batch_smaller_than_the_processes_is_refused(files: FileSet) -> None:
    subset = files.subset(torch.arange(9))  # batches of 4: 4 + 4 + 1, and 1 image cannot feed 2 processes
    with pytest.raises(UserInputError, match=r"last batch of 9 training images in batches of 4 has 1 image\(s\)"):
        _stream(subset, shard=(0, 2))
    _stream(subset, train=False, shard=(0, 2))  # checked for training only: rank 0 alone evaluates


def test_a_process_whose_block_is_all_unreadable_stops_with_a_message(tmp_path: Path) -> None:
    paths = [write_image(tmp_path / f"{i}.png") for i in range(2)] + [tmp_path / "2.jpg", tmp_path / "3.jpg"]
    for path in paths[2:]:
        path.write_text("no")
    data = FileSet([str(p) for p in paths], torch.tensor([0, 1, 0, 1]), ["a", "b"], (3, 16, 16))
    view = CenterView(20, 16)
    assert len(next(iter(_stream(data, train=False, view=view, shard=(0, 2)).epoch(0)))[1]) == 2
    message = "none of the 2 files of batch 0 that process 1 decodes could be read as images"
    with pytest.warns(SkippedFilesWarning), pytest.raises(UserInputError, match=message):
        list(_stream(data, train=False, view=view, shard=(1, 2)).epoch(0))


def test_a_global_batch_smaller_than_the_processes_is_refused(files: FileSet) -> None:
    with pytest.raises(
        UserInputError, match=r"data\.batch_size=4 \(the global batch\) is smaller than the 8 processes"
    ):
        _stream(files, shard=(0, 8))
