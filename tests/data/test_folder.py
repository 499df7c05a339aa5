from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from resnetlab.config import DataConfig
from resnetlab.data import load_splits
from resnetlab.data.folder import SkippedFilesWarning, load_folder
from resnetlab.errors import UserInputError

from .fakes import class_color, make_tree, write_image


def _load(root: Path, tmp_path: Path, image_size: int | None = None) -> tuple[Any, Any, str]:
    return load_folder(str(root), image_size, tmp_path / "cache")


def _count_opens(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    opens: list[int] = []
    original = Image.open

    def counting(*args: Any, **kwargs: Any) -> Image.Image:
        opens.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(Image, "open", counting)
    return opens


def test_a_tree_decodes_to_uint8_rgb_with_labels_from_sorted_folder_names(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", {"dog": 3, "cat": 2, "emu": 1}, size=(6, 4))
    data, test, source = _load(root, tmp_path)
    assert test is None and source == f"tree folder {root}"
    assert data.classes == ["cat", "dog", "emu"]
    assert data.images.shape == (6, 3, 4, 6) and data.images.dtype == torch.uint8 and data.images.is_contiguous()
    assert data.labels.tolist() == [0, 0, 1, 1, 1, 2]
    for image, label in zip(data.images, data.labels, strict=True):
        assert image[:, 0, 0].tolist() == list(class_color(int(label)))  # each image's pixels match its label


def test_train_and_test_folders_are_the_splits(tmp_path: Path) -> None:
    make_tree(tmp_path / "d" / "train", {"a": 4, "b": 3})
    make_tree(tmp_path / "d" / "test", {"a": 1, "b": 2})
    train, test, _ = _load(tmp_path / "d", tmp_path)
    assert train.labels.tolist() == [0] * 4 + [1] * 3 and test.labels.tolist() == [0, 1, 1]
    splits = load_splits(DataConfig(dataset="folder", path=str(tmp_path / "d"), cache_dir=str(tmp_path / "c")))
    assert (len(splits.train), len(splits.test)) == (7, 3)
    assert splits.source == f"d folder {tmp_path / 'd'} (7 train / 3 test)"


def test_val_folder_is_the_test_split_when_there_is_no_test_folder(tmp_path: Path) -> None:
    make_tree(tmp_path / "d" / "train", {"a": 2, "b": 2})
    make_tree(tmp_path / "d" / "val", {"a": 1, "b": 1})
    _, test, _ = _load(tmp_path / "d", tmp_path)
    assert test is not None and test.labels.tolist() == [0, 1]


def test_a_train_folder_alone_is_split_with_test_fraction(tmp_path: Path) -> None:
    make_tree(tmp_path / "d" / "train", {"a": 5, "b": 5})
    splits = load_splits(DataConfig(dataset="folder", path=str(tmp_path / "d"), test_fraction=0.2))
    assert torch.bincount(splits.test.labels).tolist() == [1, 1]


def test_train_and_test_with_different_classes_are_refused(tmp_path: Path) -> None:
    make_tree(tmp_path / "d" / "train", {"a": 1, "b": 1, "c": 1})
    make_tree(tmp_path / "d" / "test", {"a": 1, "b": 1, "d": 1})
    with pytest.raises(UserInputError, match=r"must have the same class folders \(only in train: c; only in test: d\)"):
        _load(tmp_path / "d", tmp_path)


@pytest.mark.parametrize(
    ("mode", "make"),
    [
        ("L", lambda: Image.new("L", (4, 4), 90)),
        ("RGBA", lambda: Image.new("RGBA", (4, 4), (10, 20, 30, 0))),
        ("P", lambda: Image.new("RGB", (4, 4), (10, 20, 30)).quantize(4)),
        ("P+transparency", lambda: _with_transparency(Image.new("RGB", (4, 4), (10, 20, 30)).quantize(4))),
        ("1", lambda: Image.new("1", (4, 4), 1)),
        ("I;16", lambda: Image.new("I;16", (4, 4), 90)),
    ],
)
def test_every_mode_becomes_three_channels(tmp_path: Path, mode: str, make: Any) -> None:
    root = tmp_path / "t"
    write_image(root / "b" / "x.png", (1, 2, 3), size=(4, 4))
    image = make()
    (root / "a").mkdir()
    image.save(root / "a" / "x.png")
    expected = np.asarray(image.convert("RGBA").convert("RGB"))[0, 0].tolist() if mode != "I;16" else [90] * 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # in particular no Pillow warning about palette transparency
        data, _, _ = _load(root, tmp_path)
    assert data.images.shape == (2, 3, 4, 4)
    assert data.images[0, :, 0, 0].tolist() == expected


def _with_transparency(image: Image.Image) -> Image.Image:
    image.info["transparency"] = 0
    return image


def test_cmyk_jpeg_bmp_and_webp_load_as_rgb(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / "cmyk").mkdir(parents=True)
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(root / "cmyk" / "red.jpg", quality=95)  # pure red in CMYK
    write_image(root / "bmp" / "x.bmp", (40, 50, 60))
    write_image(root / "webp" / "x.webp", (40, 50, 60), lossless=True)
    data, _, _ = _load(root, tmp_path)
    assert data.classes == ["bmp", "cmyk", "webp"] and data.images.shape == (3, 3, 8, 8)
    red = data.images[1].float().mean((1, 2))
    assert red[0] > 200 and red[1] < 50 and red[2] < 50
    assert data.images[0, :, 0, 0].tolist() == [40, 50, 60] == data.images[2, :, 0, 0].tolist()


def test_mixed_sizes_are_refused_without_image_size(tmp_path: Path) -> None:
    write_image(tmp_path / "t" / "a" / "1.png", size=(32, 32))
    write_image(tmp_path / "t" / "b" / "1.png", size=(50, 40))
    with pytest.raises(
        UserInputError,
        match=r"images have mixed sizes \(e.g. 32x32 in a/1.png and 50x40 in b/1.png\); set data.image_size",
    ):
        _load(tmp_path / "t", tmp_path)


def test_mixed_sizes_between_train_and_test_are_refused(tmp_path: Path) -> None:
    make_tree(tmp_path / "d" / "train", {"a": 1, "b": 1}, size=(8, 8))
    make_tree(tmp_path / "d" / "test", {"a": 1, "b": 1}, size=(6, 6))
    with pytest.raises(UserInputError, match=r"images have mixed sizes \(e.g. 8x8 in train/ and 6x6 in test/\)"):
        _load(tmp_path / "d", tmp_path)


def test_image_size_resizes_the_shorter_side_and_crops_the_centre(tmp_path: Path) -> None:
    wide = Image.new("RGB", (16, 8), (255, 0, 0))
    # Blue centre, red margins: the centre 8x8 square plus the 2-pixel reach of the bilinear filter is all blue.
    wide.paste((0, 0, 255), (2, 0, 14, 8))
    (tmp_path / "t" / "wide").mkdir(parents=True)
    wide.save(tmp_path / "t" / "wide" / "x.png")
    tall = Image.new("RGB", (20, 60), (0, 255, 0))
    (tmp_path / "t" / "tall").mkdir()
    tall.save(tmp_path / "t" / "tall" / "x.png")
    data, _, _ = _load(tmp_path / "t", tmp_path, image_size=4)
    assert data.images.shape == (2, 3, 4, 4)
    assert torch.all(data.images[1] == torch.tensor([0, 0, 255], dtype=torch.uint8).view(3, 1, 1))  # only blue
    assert torch.all(data.images[0] == torch.tensor([0, 255, 0], dtype=torch.uint8).view(3, 1, 1))


def test_image_size_also_works_with_reduced_jpeg_decoding(tmp_path: Path) -> None:
    write_image(tmp_path / "t" / "a" / "big.jpg", (200, 100, 50), size=(64, 48), quality=95)
    write_image(tmp_path / "t" / "b" / "small.jpg", (200, 100, 50), size=(10, 10), quality=95)
    data, _, _ = _load(tmp_path / "t", tmp_path, image_size=8)
    assert data.images.shape == (2, 3, 8, 8)
    assert (data.images.float() - torch.tensor([200.0, 100.0, 50.0]).view(1, 3, 1, 1)).abs().max() < 8


def test_corrupt_and_non_image_files_are_skipped_with_one_warning(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {"a": 2, "b": 2})
    (root / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (root / "b" / "notes.txt").write_text("hello")
    truncated = (root / "b" / "000.png").read_bytes()
    (root / "b" / "truncated.png").write_bytes(truncated[: len(truncated) // 2])
    with pytest.warns(SkippedFilesWarning) as caught:
        data, _, _ = _load(root, tmp_path)
    assert len(caught) == 1
    assert str(caught[0].message) == (
        f"skipped 3 file(s) under {root} that are not readable images, e.g. {root / 'a' / 'broken.jpg'}"
    )
    assert data.labels.tolist() == [0, 0, 1, 1]
    with pytest.warns(SkippedFilesWarning, match="skipped 3 file"):  # a cache hit warns the same way
        _load(root, tmp_path)


def test_corrupt_files_of_both_splits_make_one_warning(tmp_path: Path) -> None:
    make_tree(tmp_path / "d" / "train", {"a": 1, "b": 1})
    make_tree(tmp_path / "d" / "test", {"a": 1, "b": 1})
    (tmp_path / "d" / "train" / "a" / "bad.png").write_bytes(b"bad")
    (tmp_path / "d" / "test" / "b" / "bad.png").write_bytes(b"bad")
    with pytest.warns(SkippedFilesWarning) as caught:
        train, test, _ = _load(tmp_path / "d", tmp_path)
    assert len(caught) == 1 and str(caught[0].message).startswith(f"skipped 2 file(s) under {tmp_path / 'd'} ")
    assert (len(train), len(test)) == (2, 2)


def test_decompression_bombs_are_skipped_as_corrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "t", {"a": 1, "b": 1}, size=(4, 4))
    write_image(root / "a" / "warns.png", size=(12, 12))  # 144 px: above the limit, under twice it (a warning)
    write_image(root / "b" / "errors.png", size=(16, 16))  # 256 px: above twice the limit (an error)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.warns(SkippedFilesWarning, match="skipped 2 file"):
        data, _, _ = _load(root, tmp_path)
    assert len(data) == 2


def test_hidden_files_and_folders_are_ignored(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {"a": 1, "b": 1})
    (root / "a" / ".DS_Store").write_bytes(b"\x00\x01junk")
    write_image(root / ".thumbnails" / "x.png")
    write_image(root / "a" / ".cache" / "x.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data, _, _ = _load(root, tmp_path)
    assert data.classes == ["a", "b"] and len(data) == 2


def test_fifos_and_folder_link_loops_neither_hang_nor_count(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {"a": 1, "b": 1})
    os.mkfifo(root / "a" / "pipe")  # opening it for reading would block forever
    (root / "b" / "loop").symlink_to(root, target_is_directory=True)
    (root / "b" / "linked.png").symlink_to(root / "a" / "000.png")  # a linked file is an image like any other
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data, _, _ = _load(root, tmp_path)
    assert data.labels.tolist() == [0, 1, 1]


def test_images_in_subfolders_of_a_class_belong_to_it(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {"a": 1, "b": 1})
    write_image(root / "b" / "deeper" / "x.png", class_color(1))
    data, _, _ = _load(root, tmp_path)
    assert data.labels.tolist() == [0, 1, 1]


def test_a_second_load_is_a_cache_hit_without_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "t", {"a": 3, "b": 2})
    config = DataConfig(dataset="folder", path=str(root), test_fraction=0.4, cache_dir=str(tmp_path / "cache"))
    opens = _count_opens(monkeypatch)
    first = load_splits(config)
    assert len(opens) == 5
    second = load_splits(config)
    assert len(opens) == 5  # nothing decoded the second time
    assert torch.equal(first.train.images, second.train.images) and torch.equal(first.test.labels, second.test.labels)
    write_image(root / "a" / "000.png", (1, 1, 1))  # new content: a new key, decoded again
    load_splits(config)
    assert len(opens) == 10


def test_a_corrupt_cache_file_is_ignored_and_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "t", {"a": 2, "b": 2})
    first, _, _ = _load(root, tmp_path)
    (entry,) = (tmp_path / "cache").glob("folder-*.pt")
    entry.write_bytes(entry.read_bytes()[:100])
    opens = _count_opens(monkeypatch)
    again, _, _ = _load(root, tmp_path)
    assert len(opens) == 4 and torch.equal(first.images, again.images)
    _load(root, tmp_path)
    assert len(opens) == 4  # the rebuilt entry is a hit


def test_image_size_is_part_of_the_cache_key(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {"a": 1, "b": 1}, size=(8, 8))
    assert _load(root, tmp_path)[0].images.shape[-1] == 8
    assert _load(root, tmp_path, image_size=4)[0].images.shape[-1] == 4


def _file(tmp_path: Path) -> Path:
    (tmp_path / "f.txt").write_text("x")
    return tmp_path / "f.txt"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, r"data.path is not set; point it at a class-per-folder image tree"),
        (lambda p: p / "missing", r"data.path .*missing does not exist; fix data.path"),
        (_file, r"data.path .*f.txt is not a directory; point it at a class-per-folder image tree"),
        (lambda p: write_image(p / "flat" / "x.png").parent, r"flat has no class folders; expected .*/<class>/<image>"),
        (
            lambda p: make_tree(p / "one", {"cat": 2}),
            r"one has only one class folder \(cat\); a classifier needs at least two",
        ),
        (lambda p: _empty_classes(p / "e", ["a", "b"]), r"e has class folders but no images in them"),
        (
            lambda p: _empty_classes(make_tree(p / "h", {"a": 1}), ["b"]),
            r"class folder .*h/b has no images; add images or remove",
        ),
        (
            lambda p: _all_corrupt(make_tree(p / "c", {"a": 1})),
            r"class folder .*c/b has no readable images \(1 file\(s\) under .* could not be decoded\)",
        ),
    ],
)
def test_bad_trees_are_refused_with_a_clear_message(tmp_path: Path, setup: Any, message: str) -> None:
    path = setup(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedFilesWarning)
        with pytest.raises(UserInputError, match=message):
            load_folder(None if path is None else str(path), None, tmp_path / "cache")


def _empty_classes(root: Path, names: list[str]) -> Path:
    for name in names:
        (root / name).mkdir(parents=True)
    return root


def _all_corrupt(root: Path) -> Path:
    (root / "b").mkdir()
    (root / "b" / "x.jpg").write_bytes(b"garbage")
    return root
