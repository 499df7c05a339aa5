"""Writing a file safely, the one way resnetlab does it: to a hidden partial file beside it, then one rename. A reader
never sees half a file, and a write cut off (a crash, a full disk, Ctrl-C) leaves the old file whole: `os.replace`
within one folder is atomic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def partial_path(path: Path) -> Path:
    """The hidden file a write of `path` goes to first. It keeps `path`'s suffix: some writers choose the format by it
    (PIL's `save`, numpy's `save`)."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


@contextmanager
def written(path: Path) -> Iterator[Path]:
    """`with written(path) as partial:` write `partial`; leaving the block renames it to `path`, an error removes it
    (and `path` stays as it was)."""
    partial = partial_path(path)
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)


def write_text(path: Path, text: str, *, errors: str | None = None) -> Path:
    """`text` into `path`, safely; `errors` as `Path.write_text` takes it ("surrogateescape": file names that are not
    UTF-8 keep their bytes)."""
    with written(path) as partial:
        partial.write_text(text, errors=errors)
    return path


def write_json(path: Path, value: Any) -> Path:
    """`value` as indented JSON with a final newline, safely."""
    return write_text(path, json.dumps(value, indent=2) + "\n")
