"""resnetlab.files: the one way resnetlab writes a file, through a hidden partial file and one rename."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import resnetlab.files as files


def test_a_text_is_written_whole_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    path = files.write_text(tmp_path / "summary.md", "# done\n")
    assert path.read_text() == "# done\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]


def test_json_is_indented_with_a_final_newline(tmp_path: Path) -> None:
    path = files.write_json(tmp_path / "results.json", {"a": [1, 2]})
    assert path.read_text().endswith("]\n}\n") and json.loads(path.read_text()) == {"a": [1, 2]}


def test_a_write_cut_off_leaves_the_old_file_whole_and_no_partial(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("old\n")
    with pytest.raises(KeyboardInterrupt), files.written(path) as partial:
        partial.write_text("half of the new")
        raise KeyboardInterrupt
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_the_partial_file_is_hidden_and_keeps_the_suffix_writers_read_the_format_from(tmp_path: Path) -> None:
    assert files.partial_path(tmp_path / "cam.png") == tmp_path / ".cam.partial.png"
    assert files.partial_path(tmp_path / "features.npy").suffix == ".npy"


def test_names_that_are_not_utf8_keep_their_bytes(tmp_path: Path) -> None:
    name = b"caf\xe9.jpg".decode("utf-8", errors="surrogateescape")
    path = files.write_text(tmp_path / "list.txt", name + "\n", errors="surrogateescape")
    assert path.read_bytes() == b"caf\xe9.jpg\n"


def test_a_folder_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "ResNet-20-seed0"
    with pytest.raises(OSError), files.written(target) as partial:
        partial.mkdir()
        (partial / "metrics.jsonl").write_text("{}\n")
        raise OSError("disk full")
    assert list(tmp_path.iterdir()) == []
    with files.written(target) as partial:
        partial.mkdir()
        (partial / "metrics.jsonl").write_text("{}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["ResNet-20-seed0"] and (target / "metrics.jsonl").is_file()


def test_a_partial_left_by_a_crash_is_cleared_before_writing(tmp_path: Path) -> None:
    stale = files.partial_path(tmp_path / "run")
    stale.mkdir()
    (stale / "half.txt").write_text("from a crash")
    with files.written(tmp_path / "run") as partial:
        partial.mkdir()
    assert list((tmp_path / "run").iterdir()) == [] and not stale.exists()


def test_writers_at_the_same_moment_each_get_their_own_partial(tmp_path: Path) -> None:
    entry = tmp_path / "cache.pt"
    with files.written(entry, unique=True) as first, files.written(entry, unique=True) as second:
        assert first != second and first.name.startswith(".cache.") and first.suffix == ".pt"
        first.write_text("one")
        second.write_text("two")
    assert entry.read_text() == "one" and [p.name for p in tmp_path.iterdir()] == ["cache.pt"]  # the last rename won


def test_no_module_renames_into_place_on_its_own() -> None:
    """resnetlab.files is the one place a partial file is renamed into place."""
    source = Path(__file__).parents[1] / "src" / "resnetlab"
    own = [
        f"{path.relative_to(source)}: {needle}"
        for path in sorted(source.rglob("*.py"))
        if path.name != "files.py"
        for needle in ("os.replace(", "os.rename(", "tempfile.mkstemp(", "partial.replace(", "partial_path(")
        if needle in path.read_text()
    ]
    assert own == []


def test_a_rename_that_fails_leaves_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside.txt").write_text("a folder cannot be replaced by a file")
    with pytest.raises(OSError), files.written(target) as partial:
        partial.write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
