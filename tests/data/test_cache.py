from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from resnetlab.data.cache import Decoded, cache_root, cached, content_key

from .fakes import make_imageset


def test_cache_root_prefers_the_config_then_the_environment_then_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNETLAB_CACHE", "/from/env")
    assert cache_root("/from/config") == Path("/from/config")
    assert cache_root(None) == Path("/from/env")
    monkeypatch.delenv("RESNETLAB_CACHE")
    assert cache_root(None) == Path.home() / ".cache" / "resnetlab"


def test_the_key_follows_paths_bytes_and_settings(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.png").write_bytes(b"one")
    (tmp_path / "a" / "2.png").write_bytes(b"two")
    files = ["a/1.png", "a/2.png"]
    key = content_key("folder", tmp_path, files, "size=None")
    assert key.startswith("folder-") and key == content_key("folder", tmp_path, files, "size=None")
    assert key != content_key("folder", tmp_path, files, "size=32")
    assert key != content_key("folder", tmp_path, files[::-1], "size=None")
    (tmp_path / "a" / "2.png").write_bytes(b"tWo")  # same size: only the bytes differ
    assert key != content_key("folder", tmp_path, files, "size=None")
    (tmp_path / "a" / "2.png").write_bytes(b"two")
    assert key == content_key("folder", tmp_path, files, "size=None")
    (tmp_path / "a" / "2.png").rename(tmp_path / "a" / "3.png")
    assert key != content_key("folder", tmp_path, ["a/1.png", "a/3.png"], "size=None")


def test_a_hit_does_not_build_again_and_returns_the_same_tensors(tmp_path: Path) -> None:
    data = make_imageset(6)
    builds: list[int] = []

    def build() -> Decoded:
        builds.append(1)
        return Decoded(data, skipped=["cat/bad.jpg"])

    first = cached(tmp_path, "k", build)
    second = cached(tmp_path, "k", build)
    assert len(builds) == 1
    assert torch.equal(second.images.images, data.images) and torch.equal(second.images.labels, data.labels)
    assert (
        second.images.classes == data.classes and second.skipped == ["cat/bad.jpg"] and first.skipped == second.skipped
    )
    assert sorted(os.listdir(tmp_path)) == ["k.pt"]  # no temporary file left behind


@pytest.mark.parametrize("content", [b"", b"not a torch file", b"PK\x03\x04truncated zip"])
def test_a_corrupt_entry_is_rebuilt_and_replaced(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "k.pt").write_bytes(content)
    data = make_imageset(3)
    rebuilt = cached(tmp_path, "k", lambda: Decoded(data, skipped=[]))
    assert torch.equal(rebuilt.images.images, data.images)
    hit = cached(tmp_path, "k", lambda: pytest.fail("a repaired entry must be a hit"))
    assert torch.equal(hit.images.images, data.images)


def test_an_entry_with_the_wrong_content_is_rebuilt(tmp_path: Path) -> None:
    torch.save(
        {"version": 1, "images": torch.zeros(2, 3), "labels": torch.zeros(2), "classes": [], "skipped": []},
        tmp_path / "k.pt",
    )
    data = make_imageset(3)
    assert torch.equal(cached(tmp_path, "k", lambda: Decoded(data, skipped=[])).images.images, data.images)


def test_an_unwritable_cache_warns_and_still_returns_the_data(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    data = make_imageset(2)
    with pytest.warns(UserWarning, match="cannot write the data cache .*; set data.cache_dir to a writable folder"):
        result = cached(blocker / "cache", "k", lambda: Decoded(data, skipped=[]))
    assert result.images is data
