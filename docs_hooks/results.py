"""MkDocs hook: `<!-- results: results/NAME -->` (a folder under docs/) on an experiment page becomes the committed
summary.md of that experiment folder (its tables, figures and verdicts, exactly as `resnetlab experiment` wrote them)
and a link to its report.html.

The summary's own title is dropped (the page has one), its sections move one level down, and its relative links
(the figures) are rewritten to point into the results folder from the page.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

MARKER = re.compile(r"<!-- results: (\S+) -->")
HEADING = re.compile(r"#{1,5} ")
# A link or image whose text may hold one level of brackets ("[R1] Table 6"), to a relative target.
RELATIVE_LINK = re.compile(r"(!?\[(?:[^\[\]]|\[[^\[\]]*\])*\])\((?![a-z]+:|/|#)([^)\s]+)\)")


def embed(folder: Path, from_page: str, docs_dir: Path) -> str:
    """The summary of `folder` (inside `docs_dir`) as it reads on the page `from_page` (a path inside `docs_dir`)."""
    summary = folder / "summary.md"
    if not summary.exists():
        raise FileNotFoundError(f"{summary} does not exist: run the experiment and copy its results there first")
    if not folder.resolve().is_relative_to(docs_dir.resolve()):
        raise ValueError(f"{folder} is not inside {docs_dir}: results are embedded from under docs/")
    link_base = posixpath.relpath(folder.relative_to(docs_dir).as_posix(), posixpath.dirname(from_page) or ".")
    lines = summary.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    text = "\n".join(_demote_headings(lines)).strip("\n")
    text = RELATIVE_LINK.sub(lambda m: f"{m.group(1)}({link_base}/{m.group(2)})", text)
    if (folder / "report.html").exists():
        text += f"\n\nEach run's config and environment: [the experiment's report]({link_base}/report.html)."
    return text


def _demote_headings(lines: list[str]) -> list[str]:
    """Each markdown heading one level down; a fenced code block's `#` lines are left as they are."""
    demoted, in_code = [], False
    for line in lines:
        if line.startswith("```"):
            in_code = not in_code
        demoted.append(f"#{line}" if HEADING.match(line) and not in_code else line)
    return demoted


def expand(markdown: str, page_path: str, docs_dir: Path) -> str:
    return MARKER.sub(lambda m: embed(docs_dir / m.group(1), page_path, docs_dir), markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, **_: Any) -> str:
    return expand(markdown, page.file.src_uri, Path(config["docs_dir"]))
