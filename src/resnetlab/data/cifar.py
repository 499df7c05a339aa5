"""CIFAR-10 and CIFAR-100 from the official python pickles (Krizhevsky, 2009), optionally downloaded.

The pickles are read with an unpickler that can only build numpy arrays: a pickle can name any importable function
(say `os.system`) and have it called while loading, and these files come from the network.
"""

from __future__ import annotations

import importlib.util
import pickle
import tarfile
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from resnetlab.data.cache import Decoded, cached, content_key
from resnetlab.data.imageset import ImageSet
from resnetlab.errors import UserInputError


@dataclass(frozen=True)
class CifarLayout:
    folder: str  # the directory the archive extracts to
    url: str
    md5: str
    train_files: tuple[str, ...]
    test_file: str
    meta_file: str
    labels_key: bytes
    names_key: bytes

    @property
    def files(self) -> tuple[str, ...]:
        return (*self.train_files, self.test_file, self.meta_file)


# The official archives; a table (not constants in code) so tests can point a name at a local fake archive.
CIFAR_LAYOUTS: dict[str, CifarLayout] = {
    "cifar10": CifarLayout(
        folder="cifar-10-batches-py",
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        md5="c58f30108f718f92721af3b95e74349a",
        train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test_file="test_batch",
        meta_file="batches.meta",
        labels_key=b"labels",
        names_key=b"label_names",
    ),
    "cifar100": CifarLayout(
        folder="cifar-100-python",
        url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        md5="eb9058c3a382ffc7106e4002c42a8d85",
        train_files=("train",),
        test_file="test",
        meta_file="meta",
        labels_key=b"fine_labels",  # the 100 classes; the 20 coarse superclasses are not used
        names_key=b"fine_label_names",
    ),
}

# numpy 2 moved numpy.core to numpy._core; the official files (Python 2, numpy 1) name the old module.
_CORE = "numpy._core" if importlib.util.find_spec("numpy._core") is not None else "numpy.core"
# Everything the official files reference, plus what the same dicts re-pickled by Python 3 / numpy 2 reference:
# array reconstruction, dtypes, and bytes at pickle protocol 2 (`_codecs.encode`).
_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """Builds numpy arrays, lists, dicts and strings; any other global is refused before it is imported."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise UserInputError(
                f"refusing to unpickle {module}.{name}: a CIFAR file holds only arrays and lists, so this file is "
                "not one (or was tampered with); delete it and download the official archive"
            )
        if module.startswith(("numpy.core.", "numpy._core.")):
            module = f"{_CORE}.{module.rsplit('.', 1)[1]}"
        return super().find_class(module, name)


def read_pickle(path: Path) -> Any:
    """Load one CIFAR pickle: `encoding="bytes"` keeps the Python 2 files' str keys as bytes (b"data")."""
    try:
        with path.open("rb") as stream:
            return RestrictedUnpickler(stream, encoding="bytes").load()
    except UserInputError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise UserInputError(f"cannot read {path} as a CIFAR pickle ({error}); delete it and download again") from None


def load_cifar(name: str, path: str | None, *, download: bool, cache: Path) -> tuple[ImageSet, ImageSet, str]:
    """Train and test sets of `name` ("cifar10"/"cifar100") from `path`, and where they came from."""
    layout = CIFAR_LAYOUTS[name]
    if path is None:
        raise UserInputError(
            f"data.path is not set; point it at the folder holding {layout.folder}/ (or where to download it)"
        )
    given = Path(path).expanduser()
    directory = _find(given, layout)
    if directory is None:
        if not download:
            raise UserInputError(
                f"{name} is not in {given} (expected {layout.folder}/ with {', '.join(layout.files)}); "
                f"set data.download=true to fetch it, or fix data.path"
            )
        _download(layout, given.parent if given.name == layout.folder else given)
        directory = _find(given, layout)
        if directory is None:
            raise UserInputError(f"the archive {layout.url} did not contain {layout.folder}/; check the table's URL")
    classes = _class_names(directory / layout.meta_file, layout)

    def split(files: tuple[str, ...], which: str) -> ImageSet:
        def build() -> Decoded:
            return Decoded(_decode([directory / f for f in files], layout, classes), skipped=[])

        return cached(cache, content_key(name, directory, [*files, layout.meta_file], which), build).images

    train, test = split(layout.train_files, "train"), split((layout.test_file,), "test")
    return train, test, f"{name} pickles {directory}"


def guess_dataset(path: Path) -> Literal["cifar10", "cifar100", "folder"]:
    """`cifar10`/`cifar100` for a folder holding (or being) CIFAR's pickle folder; `folder` for anything else."""
    if _find(path, CIFAR_LAYOUTS["cifar10"]) is not None:
        return "cifar10"
    if _find(path, CIFAR_LAYOUTS["cifar100"]) is not None:
        return "cifar100"
    return "folder"


def _find(given: Path, layout: CifarLayout) -> Path | None:
    # Either the extracted folder itself or its parent, the two ways people (and torchvision) write the path.
    for candidate in (given / layout.folder, given):
        if all((candidate / f).is_file() for f in layout.files):
            return candidate
    return None


def _download(layout: CifarLayout, into: Path) -> None:
    # Imported here: torchvision takes a while to import and only a download needs it.
    from torchvision.datasets.utils import download_and_extract_archive

    archive = into / Path(layout.url).name
    try:
        # The md5 check comes before extraction, so the tar's contents are the official archive's.
        download_and_extract_archive(layout.url, download_root=str(into), md5=layout.md5)
    except RuntimeError as error:  # torchvision's word for a checksum mismatch
        raise UserInputError(
            f"the download of {layout.url} does not match its md5 {layout.md5} ({error}); delete {archive} and "
            f"retry, or extract the official archive into {into} yourself"
        ) from None
    except tarfile.TarError as error:
        raise UserInputError(f"{archive} is not a readable tar.gz ({error}); delete it and retry") from None
    except (urllib.error.URLError, OSError) as error:
        raise UserInputError(
            f"cannot download {layout.url} ({error}); check the network, or extract the archive into {into} yourself"
        ) from None


def _class_names(meta: Path, layout: CifarLayout) -> list[str]:
    content = _bytes_keys(read_pickle(meta), meta)
    names = content.get(layout.names_key)
    if not isinstance(names, list) or not names:
        raise UserInputError(f"{meta} has no {layout.names_key.decode()} list; download the official archive again")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _decode(paths: list[Path], layout: CifarLayout, classes: list[str]) -> ImageSet:
    arrays, labels = [], []
    for path in paths:
        content = _bytes_keys(read_pickle(path), path)
        data, batch_labels = content.get(b"data"), content.get(layout.labels_key)
        # 3072 = 3 planes of 32x32, row-major, R then G then B: each row reshapes straight to 3 x 32 x 32.
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            raise UserInputError(f"{path} has no N x 3072 uint8 b'data' array; download the official archive again")
        try:
            label_array = np.asarray(batch_labels, dtype=np.int64)
        except (TypeError, ValueError):
            label_array = np.empty(0, dtype=np.int64)
        valid = label_array.shape == (data.shape[0],) and data.shape[0] > 0
        if not valid or label_array.min() < 0 or label_array.max() >= len(classes):
            raise UserInputError(
                f"{path} needs one {layout.labels_key!r} label in [0, {len(classes)}) per image; "
                "download the official archive again"
            )
        arrays.append(data.reshape(-1, 3, 32, 32))
        labels.append(label_array)
    images = torch.from_numpy(np.concatenate(arrays)).contiguous()
    return ImageSet(images, torch.from_numpy(np.concatenate(labels)), classes)


def _bytes_keys(content: Any, path: Path) -> dict[bytes, Any]:
    """The files' keys are bytes (Python 2 str); accept str keys too, as a re-pickled copy may have them."""
    if not isinstance(content, dict):
        raise UserInputError(f"{path} is not a CIFAR pickle (no dict inside); download the official archive again")
    return {k.encode() if isinstance(k, str) else k: v for k, v in content.items()}
