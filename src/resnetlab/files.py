"""Writing a file safely, the one way resnetlab does it: to a hidden partial file beside it, then one rename. A reader
never sees half a file, and a write cut off (a crash, a full disk, Ctrl-C) leaves the old file whole: `os.replace`
within one folder is atomic. The same holds for a folder written whole (a copied run) and for a file several
processes may write at once (`unique=True`: each writes its own partial file; the last rename wins)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def partial_path(path: Path) -> Path:
    """The hidden file a write of `path` goes to first. It keeps `path`'s suffix: some writers choose the format by it
    (PIL's `save`, numpy's `save`)."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


@contextmanager
def written(path: Path, *, unique: bool = False) -> Iterator[Path]:
    """`with written(path) as partial:` write `partial` (a file, or a folder made there); leaving the block renames it
    to `path`, an error removes it (and `path` stays as it was). A partial left by an earlier crash is removed first.
    `unique`: a partial name of this call's own, for files that several processes may write at the same moment."""
    partial = _unique_partial(path) if unique else partial_path(path)
    if not unique:
        _remove(partial)
    try:
        yield partial
        partial.replace(path)
    except BaseException:  # the write or the rename failed: no partial file is left behind
        _remove(partial)
        raise


def _unique_partial(path: Path) -> Path:
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".partial{path.suffix}")
    os.close(handle)
    return Path(name)


def _remove(partial: Path) -> None:
    if partial.is_dir() and not partial.is_symlink():
        shutil.rmtree(partial)
    else:
        partial.unlink(missing_ok=True)


def write_text(path: Path, text: str, *, errors: str | None = None) -> Path:
    """`text` into `path`, safely; `errors` as `Path.write_text` takes it ("surrogateescape": file names that are not
    UTF-8 keep their bytes)."""
    with written(path) as partial:
        partial.write_text(text, errors=errors)
    return path


def write_json(path: Path, value: Any) -> Path:
    """`value` as indented JSON with a final newline, safely."""
    return write_text(path, json.dumps(value, indent=2) + "\n")
