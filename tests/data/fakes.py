"""Tiny fake datasets written into a test's tmp_path: image trees, CIFAR pickles, in-memory image sets."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from resnetlab.data import ImageSet


def class_color(label: int) -> tuple[int, int, int]:
    """A colour that names its class, so a test can read the label back from the pixels."""
    return (10 + 20 * label, 100, 200 - 10 * label)


def write_image(
    path: Path, color: tuple[int, ...] = (10, 20, 30), size: tuple[int, int] = (8, 8), **save: object
) -> Path:
    """A solid RGB image of `size` (W, H) saved by its suffix (PNG is lossless, so pixels read back exactly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, **save)  # type: ignore[arg-type]
    return path


def make_tree(root: Path, counts: dict[str, int], size: tuple[int, int] = (8, 8)) -> Path:
    """root/<class>/<i>.png for each class (in sorted order = label order), solid in the class's colour."""
    for label, name in enumerate(sorted(counts)):
        for i in range(counts[name]):
            write_image(root / name / f"{i:03d}.png", class_color(label), size)
    return root


def make_imageset(count: int, channels: int = 3, side: int = 8, classes: int = 4, seed: int = 0) -> ImageSet:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, channels, side, side), dtype=torch.uint8, generator=generator)
    labels = torch.arange(count) % classes
    return ImageSet(images, labels, [f"c{i}" for i in range(classes)])


def cifar_rows(count: int, start: int) -> np.ndarray:
    """count x 3072 uint8 rows: red plane = 3 * image number, green = +1, blue = +2 (mod 256), so planes are known."""
    rows = np.empty((count, 3072), dtype=np.uint8)
    for i in range(count):
        base = 3 * (start + i)
        rows[i, :1024], rows[i, 1024:2048], rows[i, 2048:] = base % 256, (base + 1) % 256, (base + 2) % 256
    rows[:, 1] = 255  # one pixel off the plane's value: row 0, column 1 of red, to check the row-major layout
    return rows


def write_cifar(parent: Path, name: str, per_file: int = 3, protocol: int = 2) -> Path:
    """The official layout of `name` under parent/<folder>/; image k has label k % classes."""
    if name == "cifar10":
        folder, train, test, meta, label_key = (
            "cifar-10-batches-py",
            [f"data_batch_{i}" for i in range(1, 6)],
            "test_batch",
            "batches.meta",
            b"labels",
        )
        meta_content: dict[bytes, object] = {
            b"label_names": [f"class{i}".encode() for i in range(10)],
            b"num_vis": 3072,
        }
        classes = 10
    else:
        folder, train, test, meta, label_key = "cifar-100-python", ["train"], "test", "meta", b"fine_labels"
        meta_content = {
            b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
            b"coarse_label_names": [b"c"] * 20,
        }
        classes = 100
    directory = parent / folder
    directory.mkdir(parents=True, exist_ok=True)
    start = 0
    for file in [*train, test]:
        content: dict[bytes, object] = {
            b"data": cifar_rows(per_file, start),
            label_key: [(start + i) % classes for i in range(per_file)],
        }
        if name == "cifar100":
            content[b"coarse_labels"] = [0] * per_file  # present in the real files, and must not be used
        content[b"batch_label"] = file.encode()
        (directory / file).write_bytes(pickle.dumps(content, protocol=protocol))
        start += per_file
    (directory / meta).write_bytes(pickle.dumps(meta_content, protocol=protocol))
    return directory


def write_photos(root: Path, classes: int = 3, per_class: int = 6, seed: int = 0) -> Path:
    """root/class_<k>/<i>.jpg: textured JPEGs of mixed sizes and aspect ratios, tinted by class, as a user's folder."""
    generator = np.random.default_rng(seed)
    for label in range(classes):
        for i in range(per_class):
            width, height = (int(v) for v in generator.integers(24, 72, size=2))
            noise = generator.integers(0, 96, size=(height, width, 3))
            pixels = np.clip(noise + np.array(class_color(label)) * 0.6, 0, 255).astype(np.uint8)
            path = root / f"class_{label}" / f"{i:03d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(path, quality=90)
    return root
