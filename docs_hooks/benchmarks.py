"""MkDocs hook: `<!-- benchmark: benchmarks/NAME.json -->` (a file under docs/) becomes that saved benchmark run's
tables, rendered by the benchmark's own `markdown` function (the module its `command` ran), at build time.

The speed tables on the performance page are therefore the committed output of a run of a script in `benchmarks/`,
never figures typed into the page: run the script again with `--out docs/benchmarks/NAME.json` and the next build
shows the new run.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

MARKER = re.compile(r"<!-- benchmark: (\S+) -->")
ROOT = Path(__file__).resolve().parents[1]  # the repository, where the `benchmarks` package lives


def render(path: Path) -> str:
    """The markdown of one saved benchmark file, by the module that wrote it."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the benchmark with --out {path} first")
    payload = json.loads(path.read_text(encoding="utf-8"))
    module_name = payload["command"][2]  # ["python", "-m", "benchmarks.NAME", ...]
    if not module_name.startswith("benchmarks."):
        raise ValueError(f"{path} was not written by a script in benchmarks/ (its command: {payload['command']})")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    module = importlib.import_module(module_name)
    text: str = module.markdown(payload)
    return text


def expand(markdown: str, docs_dir: Path) -> str:
    return MARKER.sub(lambda m: render(docs_dir / m.group(1)), markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, **_: Any) -> str:
    return expand(markdown, Path(config["docs_dir"]))
