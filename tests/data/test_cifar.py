from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import os
import pickle
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from resnetlab.config import DataConfig
from resnetlab.data import cifar, load_splits
from resnetlab.data.cifar import CIFAR_LAYOUTS, guess_dataset, load_cifar, read_pickle
from resnetlab.errors import UserInputError

from .fakes import cifar_rows, write_cifar


def _load(path: Path, tmp_path: Path, name: str = "cifar10", download: bool = False) -> tuple[Any, Any, str]:
    return load_cifar(name, str(path), download=download, cache=tmp_path / "cache")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_pickles_load_as_images_in_the_official_layout(tmp_path: Path, protocol: int) -> None:
    directory = write_cifar(tmp_path, "cifar10", per_file=3, protocol=protocol)
    train, test, source = _load(tmp_path, tmp_path)
    assert source == f"cifar10 pickles {directory}"
    assert train.images.shape == (15, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.labels.tolist() == [i % 10 for i in range(15)] and train.labels.dtype == torch.int64
    assert test.labels.tolist() == [15 % 10, 16 % 10, 17 % 10]
    assert train.classes == [f"class{i}" for i in range(10)] == test.classes
    rows = cifar_rows(15, 0)
    assert np.array_equal(train.images.reshape(15, -1).numpy(), rows)
    # Red plane first, each plane row-major: pixel (row 0, column 1) of red is the marked one.
    assert train.images[4, 0, 0, 1] == 255 and train.images[4, 0, 0, 2] == 12
    assert train.images[4, 1, 31, 31] == 13 and train.images[4, 2, 5, 7] == 14


def test_the_extracted_folder_itself_is_accepted_as_path(tmp_path: Path) -> None:
    directory = write_cifar(tmp_path, "cifar10")
    train, _, _ = _load(directory, tmp_path)
    assert len(train) == 15


def test_cifar100_uses_the_fine_labels_and_names(tmp_path: Path) -> None:
    write_cifar(tmp_path, "cifar100", per_file=4)
    train, test, _ = _load(tmp_path, tmp_path, name="cifar100")
    assert train.labels.tolist() == [0, 1, 2, 3] and test.labels.tolist() == [4, 5, 6, 7]
    assert len(train.classes) == 100 and train.classes[7] == "fine7"


def test_load_splits_carves_val_from_the_cifar_train_split(tmp_path: Path) -> None:
    write_cifar(tmp_path, "cifar10", per_file=10)  # 50 train images, 5 per class
    config = DataConfig(dataset="cifar10", path=str(tmp_path), val_fraction=0.2, cache_dir=str(tmp_path / "c"))
    splits = load_splits(config)
    assert splits.val is not None and torch.bincount(splits.val.labels).tolist() == [1] * 10
    assert (len(splits.train), len(splits.test)) == (40, 10)
    assert len(splits.mean) == 3 and splits.pixel_mean.shape == (3, 32, 32)
    assert splits.source.endswith("(40 train / 10 val / 10 test)")


def test_a_second_load_reads_only_the_class_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_cifar(tmp_path, "cifar10")
    reads: list[str] = []
    original = cifar.read_pickle

    def counting(path: Path) -> Any:
        reads.append(path.name)
        return original(path)

    monkeypatch.setattr(cifar, "read_pickle", counting)
    first, _, _ = _load(tmp_path, tmp_path)
    assert len(reads) == 7  # meta, five train batches, test batch
    second, _, _ = _load(tmp_path, tmp_path)
    assert reads[7:] == ["batches.meta"] and torch.equal(first.images, second.images)


def test_the_restricted_unpickler_refuses_code_and_runs_none_of_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps({b"data": Exploit()}, protocol=2))
    with pytest.raises(UserInputError, match=r"refusing to unpickle posix.system: a CIFAR file holds only arrays"):
        read_pickle(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps({b"data": Path}))
    with pytest.raises(UserInputError, match=r"refusing to unpickle pathlib\.Path"):
        read_pickle(path)


def test_an_evil_batch_in_the_dataset_folder_is_refused(tmp_path: Path) -> None:
    directory = write_cifar(tmp_path, "cifar10")
    (directory / "data_batch_3").write_bytes(pickle.dumps({b"data": eval}))
    with pytest.raises(UserInputError, match=r"refusing to unpickle builtins\.eval"):
        _load(tmp_path, tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x80\x02}q\x00(U\x04data", r"cannot read .*data_batch_1 as a CIFAR pickle .*; delete it and download again"),
        (pickle.dumps([1, 2]), r"data_batch_1 is not a CIFAR pickle \(no dict inside\)"),
        (pickle.dumps({b"labels": [0]}), r"data_batch_1 has no N x 3072 uint8 b'data' array"),
        (
            pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}),
            r"needs one b'labels' label in \[0, 10\)",
        ),
        (
            pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [10]}),
            r"needs one b'labels' label in \[0, 10\)",
        ),
        (pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": 3}), r"needs one b'labels' label"),
        (pickle.dumps({b"data": np.zeros((0, 3072), np.uint8), b"labels": []}), r"needs one b'labels' label"),
    ],
)
def test_malformed_batches_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    directory = write_cifar(tmp_path, "cifar10")
    (directory / "data_batch_1").write_bytes(content)
    with pytest.raises(UserInputError, match=message):
        _load(tmp_path, tmp_path)


def test_missing_files_without_download_say_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(
        UserInputError,
        match=r"cifar10 is not in .* \(expected cifar-10-batches-py/ .*\); set data\.download=true to fetch it, or fix",
    ):
        _load(tmp_path, tmp_path)
    with pytest.raises(UserInputError, match=r"data.path is not set; point it at the folder holding cifar-100-python/"):
        load_cifar("cifar100", None, download=False, cache=tmp_path)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def archive_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fake cifar-10-python.tar.gz served over HTTP on the loopback interface; yields its URL.

    Loopback HTTP rather than a file:// URL: torchvision's downloader reads `response.length`, which only HTTP
    responses have, so a file:// URL fails before any byte is fetched. This way the real download path runs.
    """
    source = tmp_path / "source"
    write_cifar(source, "cifar10")
    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # a proxy configured in the environment must not see this
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cifar-10-python.tar.gz"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _point_table_at(url: str, md5: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CIFAR_LAYOUTS, "cifar10", dataclasses.replace(CIFAR_LAYOUTS["cifar10"], url=url, md5=md5))


def _md5(tmp_path: Path) -> str:
    return hashlib.md5((tmp_path / "served" / "cifar-10-python.tar.gz").read_bytes()).hexdigest()


@pytest.mark.parametrize("into_folder", [False, True])
def test_download_fetches_checks_and_extracts_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive_server: str, into_folder: bool
) -> None:
    _point_table_at(archive_server, _md5(tmp_path), monkeypatch)
    target = tmp_path / "data" / ("cifar-10-batches-py" if into_folder else "")
    train, test, source = _load(target, tmp_path, download=True)
    assert (len(train), len(test)) == (15, 3)
    assert (tmp_path / "data" / "cifar-10-python.tar.gz").is_file()
    assert source == f"cifar10 pickles {tmp_path / 'data' / 'cifar-10-batches-py'}"


def test_a_checksum_mismatch_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive_server: str
) -> None:
    _point_table_at(archive_server, "0" * 32, monkeypatch)
    with pytest.raises(
        UserInputError, match=r"the download of http://.*cifar-10-python.tar.gz does not match its md5 0{32}"
    ):
        _load(tmp_path / "data", tmp_path, download=True)
    assert not (tmp_path / "data" / "cifar-10-batches-py").exists()  # nothing unverified was extracted


def test_an_unreachable_url_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = dataclasses.replace(CIFAR_LAYOUTS["cifar10"], url=(tmp_path / "nowhere.tar.gz").as_uri())
    monkeypatch.setitem(CIFAR_LAYOUTS, "cifar10", layout)
    with pytest.raises(UserInputError, match=r"cannot download file://.*nowhere.tar.gz .*; check the network"):
        _load(tmp_path / "data", tmp_path, download=True)


def test_the_official_table_is_unchanged() -> None:
    assert CIFAR_LAYOUTS["cifar10"].url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert CIFAR_LAYOUTS["cifar10"].md5 == "c58f30108f718f92721af3b95e74349a"
    assert CIFAR_LAYOUTS["cifar100"].url == "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    assert CIFAR_LAYOUTS["cifar100"].md5 == "eb9058c3a382ffc7106e4002c42a8d85"


def test_the_dataset_kind_is_guessed_from_the_folder(tmp_path: Path) -> None:
    write_cifar(tmp_path, "cifar10")
    assert guess_dataset(tmp_path) == "cifar10"
    assert guess_dataset(tmp_path / "cifar-10-batches-py") == "cifar10"
    assert guess_dataset(tmp_path / "elsewhere") == "folder"
