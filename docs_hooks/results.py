"""MkDocs hook: `<!-- results: results/NAME -->` (a folder under docs/) on an experiment page becomes the committed
summary.md of that experiment folder (its tables, figures and verdicts, exactly as `resnetlab experiment` wrote them)
and a link to its report.html.

The summary's own title is dropped (the page has one), its sections move one level down, and its relative links
(the figures) are rewritten to point into the results folder from the page. It is shown for a reader, not for
reproducing the run: the command (its paths are the machine's that ran it), the rule's wording and where each margin's
standard error came from stay in summary.md, results.json and the report; the page says what data the runs used and
links the rule's page.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

MARKER = re.compile(r"<!-- results: (\S+) -->")
HEADING = re.compile(r"#{1,5} ")
# A link or image whose text may hold one level of brackets ("[R1] Table 6"), to a relative target.
# Header lines of a summary that speak to whoever reruns it, not to a reader of the page.
RERUN_LINES = ("- command:", "- verdicts:", "- summarised again")
DATA = re.compile(r"data: ([^;]+);")
# A verdict's basis in square brackets ("[t(8): pooled over 4 nets; binomial, 10,000 images]"): the rule's page has it.
BASIS = re.compile(r" \[(?:t\(|one seed|every seed|spread)[^\[\]]*\]")
IMAGE = re.compile(r"!\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(([^)\s]+)\)")  # an image's target
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
    lines = [_for_a_reader(line) for line in lines if not line.startswith(RERUN_LINES)]
    text = "\n".join(_demote_headings(lines)).strip("\n")
    text = RELATIVE_LINK.sub(lambda m: f"{m.group(1)}({link_base}/{m.group(2)})", text)
    rule = posixpath.relpath("experiments/verdicts.md", posixpath.dirname(from_page) or ".")
    text += f"\n\nHow each verdict is decided: [the rule]({rule})."
    if (folder / "report.html").exists():
        text += f" Each run's config and environment: [the experiment's report]({link_base}/report.html)."
    return text


def _for_a_reader(line: str) -> str:
    """A summary line without a machine's data path or a verdict's statistical basis."""
    line = DATA.sub(lambda m: f"data: {_dataset(m.group(1))};", line, count=1)
    return BASIS.sub("", line)


def _dataset(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return "CIFAR-10" if "cifar10" in name.lower() else name


def _demote_headings(lines: list[str]) -> list[str]:
    """Each markdown heading one level down; a fenced code block's `#` lines are left as they are."""
    demoted, in_code = [], False
    for line in lines:
        if line.startswith("```"):
            in_code = not in_code
        demoted.append(f"#{line}" if HEADING.match(line) and not in_code else line)
    return demoted


def expand(markdown: str, page_path: str, docs_dir: Path) -> str:
    """Each marker replaced by its summary; a figure the page already shows (its own image link, leading with the
    finding) is not shown a second time."""
    shown = set(IMAGE.findall(MARKER.sub("", markdown)))
    return MARKER.sub(lambda m: _without(embed(docs_dir / m.group(1), page_path, docs_dir), shown), markdown)


def _without(text: str, images: set[str]) -> str:
    kept = [
        line for line in text.split("\n") if not (IMAGE.fullmatch(line.strip()) and IMAGE.findall(line)[0] in images)
    ]
    return "\n".join(kept)


def on_page_markdown(markdown: str, page: Any, config: Any, **_: Any) -> str:
    return expand(markdown, page.file.src_uri, Path(config["docs_dir"]))
