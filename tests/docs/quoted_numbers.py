"""The checker behind `test_quoted_numbers.py`: every experiment error, gap and time that the hand-written prose quotes
must trace to committed data. The convention it enforces is documented in that test module's docstring.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import re
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MARKER = re.compile(r"<!-- results: (\S+) -->")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"#{1,6} ")
LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+\.)\s")
# Prose that speaks of resnetlab's own experiment runs; such a paragraph must name the data it quotes.
EXPERIMENT_TALK = re.compile(r"quick[- ]budget|quick run|--budget (?:quick|standard|paper)|resnetlab experiment", re.I)

# A number as prose writes it: 1,023 or 28.09; not part of a name (ResNet-56, top-5, fp32, v1.5, 3x3, 1e-4).
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
UNIT = re.compile(
    r"\s*(?P<percent>%)|\s+(?P<points>points?)\b|\s?(?P<s>s|sec|seconds?)\b|\s?(?P<min>min|minutes?)\b"
    r"|\s?(?P<h>h|hours?)\b"
)
SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0}
# Between two numbers of one list or range ("8.75, 7.51 and 6.97%", "0.4 to 1.0 points", "2.6-3.8 s"): the earlier
# numbers take the unit written after the last one.
LIST_SEPARATOR = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|\s+to\s+|/\s*|\s*[-\u2013]\s*)\s*")
# "50% and 75% of the run", "20% of each class": a share of something, not an error rate.
SHARE = re.compile(r"(?:\s*(?:,|and|or|to)\s*\d[\d.,]*\s*%)*\s+of\b")
ABOUT = re.compile(r"(?:about|around|roughly|some|~)\s*$", re.I)
METRIC_ERRORS = ("train_error", "test_error")  # fractions of a metrics.jsonl record, quoted x100
METRIC_ACCURACIES = ("test_top1",)  # quoted x100, or as the error 100 - x
RESULT_KINDS = ("test_error", "final_train_error")
# In a claim's verdict detail ("gap +0.41 points, margin 1.27 [binomial, ...]"): the gaps and margins it recorded.
CLAIM_GAP = re.compile(r"(?:margin\s+|gap\s+[+-]?)(\d+(?:\.\d+)?)")
SLACK = 1e-6


@dataclass(frozen=True)
class Quote:
    """A number with its unit as it stands in the prose."""

    file: str
    line: int
    text: str
    value: float
    decimals: int
    unit: str  # "percent", "points", "s", "min" or "h"
    about: bool

    def matches(self, value: float, scale: float = 1.0) -> bool:
        """Whether `value` (in units of `scale`: seconds for times) reads as this quote at its precision."""
        tolerance = 0.5 * 10.0**-self.decimals + SLACK
        if self.about:
            tolerance = max(tolerance, 0.05 * abs(self.value))
        return abs(value / scale - self.value) <= tolerance


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    text: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text!r}: {self.why}"


@dataclass(frozen=True)
class Block:
    """A paragraph, a list item, a table row or a fenced code block, with the line it starts on."""

    line: int
    raw: str
    code: bool  # a fenced code block: commands and what they print, not prose; its numbers are not read
    text: str  # inline code, link targets and HTML comments blanked out, so offsets still map to lines
    links: tuple[str, ...]
    section: int


@dataclass
class PaperNumbers:
    """The papers' numbers: from paper-facts.md and the PAPER_* tables of resnetlab.experiments."""

    values: set[float] = field(default_factory=set)
    gaps: set[float] = field(default_factory=set)  # differences within one PAPER_* table


@dataclass
class FolderData:
    """What one committed results folder holds: results.json values and gaps, metrics.jsonl records and times."""

    folder: Path
    percents: set[float] = field(default_factory=set)
    gaps: set[float] = field(default_factory=set)
    seconds: set[float] = field(default_factory=set)
    has_results: bool = False
    has_metrics: bool = False


def paper_numbers(facts: Path | None, experiments_src: Path) -> PaperNumbers:
    """Every number of paper-facts.md that has a decimal point or a % sign (integers alone are depths, widths and
    counts), and every value of a module-level PAPER_* table in `experiments_src`/*.py (read, not imported)."""
    paper = PaperNumbers()
    if facts is not None:
        text = facts.read_text(encoding="utf-8")
        for match in NUMBER.finditer(text):
            if match.group(2) is not None or text[match.end() :].lstrip(" ").startswith("%"):
                paper.values.add(_number(match))
    for source in sorted(experiments_src.glob("*.py")):
        try:
            tree = ast.parse(source.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        for node in tree.body:
            target, value = _assignment(node)
            if target is None or value is None or not target.startswith("PAPER_"):
                continue
            table = [float(v) for v in _constants(value)]
            paper.values.update(table)
            paper.gaps.update(abs(a - b) for a, b in itertools.combinations(table, 2))
    return paper


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id, node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None


def _constants(node: ast.expr) -> Iterator[float]:
    """The numbers of a literal table: a dict's values (its keys are depths or labels), any other literal's items."""
    if isinstance(node, ast.Dict):
        for value in node.values:
            yield from _constants(value)
    elif isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        yield float(node.value)
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for item in node.elts:
            yield from _constants(item)


def folder_data(folder: Path) -> FolderData:
    data = FolderData(folder)
    results = folder / "results.json"
    if results.is_file():
        data.has_results = True
        committed = json.loads(results.read_text(encoding="utf-8"))
        runs = committed.get("runs", [])
        for claim in committed.get("claims", []):
            data.gaps.update(float(v) for v in CLAIM_GAP.findall(str(claim.get("detail", ""))))
        data.seconds.update(_recorded_seconds(committed))
        by_kind: dict[str, list[float]] = {kind: [] for kind in RESULT_KINDS}
        per_label: dict[tuple[str, str], list[float]] = {}
        for run in runs:
            for kind in RESULT_KINDS:
                value = run.get(kind)
                if isinstance(value, int | float) and math.isfinite(value):
                    by_kind[kind].append(100 * value)
                    per_label.setdefault((kind, str(run.get("label"))), []).append(100 * value)
            test, train = run.get("test_error"), run.get("final_train_error")
            if isinstance(test, int | float) and isinstance(train, int | float):
                data.gaps.add(abs(100 * (test - train)))  # one run's generalisation gap
        for (kind, _), values in per_label.items():
            if len(values) > 1:
                by_kind[kind].append(statistics.median(values))  # tables give the median over seeds
        for values in by_kind.values():
            data.percents.update(values)
            data.gaps.update(abs(a - b) for a, b in itertools.combinations(values, 2))
    for log in sorted(folder.rglob("metrics.jsonl")):
        data.has_metrics = True
        last_seconds = None
        for line in log.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            for key, value in record.items():
                if not isinstance(value, int | float) or isinstance(value, bool):
                    continue
                if key in METRIC_ERRORS:
                    data.percents.add(100 * value)
                elif key in METRIC_ACCURACIES:
                    data.percents.update((100 * value, 100 - 100 * value))
                elif key.endswith("seconds"):
                    data.seconds.add(float(value))
            if isinstance(record.get("seconds"), int | float):
                last_seconds = float(record["seconds"])
        if last_seconds is not None:
            data.seconds.add(last_seconds)
    return data


def _recorded_seconds(value: object) -> Iterator[float]:
    """Every number results.json records under a key ending in "seconds" (an experiment's own timings, such as the
    landscape's measuring time), at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).endswith("seconds") and isinstance(item, int | float) and not isinstance(item, bool):
                yield float(item)
            else:
                yield from _recorded_seconds(item)
    elif isinstance(value, list):
        for item in value:
            yield from _recorded_seconds(item)


def _folder_total(data: Iterable[FolderData]) -> set[float]:
    """The time of a whole experiment: the sum of its runs' final `seconds` (the last record of each log)."""
    totals = set()
    for folder in data:
        finals = []
        for log in sorted(folder.folder.rglob("metrics.jsonl")):
            records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
            if records and isinstance(records[-1].get("seconds"), int | float):
                finals.append(float(records[-1]["seconds"]))
        if finals:
            totals.add(sum(finals))
    return totals


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    """`text` with each match of `pattern` replaced by spaces (newlines kept, so offsets still map to lines)."""
    return pattern.sub(lambda match: re.sub(r"[^\n]", " ", match.group(0)), text)


def blocks(markdown: str) -> list[Block]:
    """The prose of a page in blocks: paragraphs, list items, table rows and fenced code blocks; headings start a
    new section. HTML comments are left out."""
    out: list[Block] = []
    lines = markdown.split("\n")
    current: list[str] = []
    section, start, in_code = 0, 0, False

    def flush() -> None:
        nonlocal current
        if current:
            raw = "\n".join(current)
            code = raw.lstrip().startswith("```")
            links = tuple(LINK.findall(raw))
            text = _blank(raw, re.compile(r"<!--.*?-->", re.S))
            text = _blank(text, re.compile(r"(`+)(?!`).+?\1", re.S))
            text = _blank(text, re.compile(r"\]\(([^)\s]+)\)"))
            out.append(Block(start + 1, raw, code, "" if code else text, links, section))
        current = []

    for number, line in enumerate(lines):
        if in_code:
            current.append(line)
            if line.lstrip().startswith("```"):
                in_code = False
                flush()
            continue
        if line.lstrip().startswith("```"):
            flush()
            in_code, start, current = True, number, [line]
            continue
        if not line.strip() or line.startswith("<!--") or line.startswith("--8<--"):
            flush()
            continue
        if HEADING.match(line):
            flush()
            section += 1
            continue
        if LIST_ITEM.match(line) or line.lstrip().startswith("|"):
            flush()
        if not current:
            start = number
        current.append(line)
    flush()
    return out


def quotes(file: str, block: Block) -> list[Quote]:
    """Every number of `block` that carries a unit of a result: %, points, s, min or h, its own or, in a list or a
    range, the one written after the list's last number."""
    text = block.text
    found: list[tuple[re.Match[str], str | None]] = []
    for match in NUMBER.finditer(text):
        before = text[max(0, match.start() - 2) : match.start()]
        if len(before) == 2 and before[1] == "-" and before[0].isalpha():
            continue  # ResNet-56, top-5, 1e-4
        unit_match = UNIT.match(text, match.end())
        unit = unit_match.lastgroup if unit_match else None
        if unit == "percent" and SHARE.match(text, unit_match.end() if unit_match else match.end()):
            unit = "share"
        found.append((match, unit))
    units = [unit for _, unit in found]
    for i in range(len(found) - 2, -1, -1):
        (here, _), (then, _) = found[i], found[i + 1]
        # "at 56, 46.6%": a list's members share their precision, so a number written otherwise is not one of them.
        same_precision = len(here.group(2) or "") == len(then.group(2) or "")
        listed = LIST_SEPARATOR.fullmatch(text[here.end() : then.start()])
        if units[i] is None and units[i + 1] not in (None, "share") and same_precision and listed:
            units[i] = units[i + 1]
    out = []
    for (match, own), unit in zip(found, units, strict=True):
        if unit is None or unit == "share":
            continue
        end = UNIT.match(text, match.end())
        from_list = f"{match.group(0)} ({unit}, from the end of its list)"
        shown = text[match.start() : end.end()] if own and end else from_list
        line = block.line + text.count("\n", 0, match.start())
        about = bool(ABOUT.search(text[max(0, match.start() - 12) : match.start()]))
        decimals = len(match.group(2) or "")
        out.append(Quote(file, line, " ".join(shown.split()), _number(match), decimals, unit, about))
    return out


def _number(match: re.Match[str]) -> float:
    return float(match.group(1).replace(",", "") + (f".{match.group(2)}" if match.group(2) else ""))


def page_folders(page: Path, docs: Path) -> list[Path]:
    """The results folders a page names with its `<!-- results: results/NAME -->` markers."""
    return [docs / name for name in MARKER.findall(page.read_text(encoding="utf-8"))]


def linked_folders(target: str, page: Path, docs: Path) -> list[Path]:
    """The results folders a link names: docs/results/NAME (or a file in it), or an experiment page's markers."""
    path = target.split("#", 1)[0]
    if not path or re.match(r"[a-z]+:", path):
        return []
    resolved = (page.parent / path).resolve()
    results = (docs / "results").resolve()
    if resolved.is_relative_to(results) and resolved != results:
        return [results / resolved.relative_to(results).parts[0]]
    if resolved.suffix == ".md" and resolved.is_file() and resolved.is_relative_to(docs.resolve()):
        return page_folders(resolved, docs.resolve())
    return []


def prose_pages(root: Path) -> list[Path]:
    """README.md and docs/**/*.md, without the generated summaries under docs/results/."""
    docs = root / "docs"
    pages = [root / "README.md"] if (root / "README.md").is_file() else []
    return pages + sorted(p for p in docs.rglob("*.md") if not p.is_relative_to(docs / "results"))


def check(root: Path, paper: PaperNumbers) -> list[Problem]:
    """Every quoted number of the prose under `root` that does not trace to the papers or to committed data."""
    docs = root / "docs"
    cache: dict[Path, FolderData] = {}
    problems: list[Problem] = []
    for page in prose_pages(root):
        name = page.relative_to(root).as_posix()
        own = page_folders(page, docs) if page.is_relative_to(docs) else []
        page_blocks = blocks(page.read_text(encoding="utf-8"))
        by_section: dict[int, list[Path]] = {}
        for block in page_blocks:
            for target in block.links:
                by_section.setdefault(block.section, []).extend(linked_folders(target, page, docs))
        for block in page_blocks:
            linked = [f for target in block.links for f in linked_folders(target, page, docs)]
            # A page's markers name its data; a page without them names it by links, the paragraph's own or else
            # those of its section.
            inherited = [] if own else by_section.get(block.section, [])
            folders = list(dict.fromkeys([*own, *(linked or inherited)]))
            speaks = bool(folders) or EXPERIMENT_TALK.search(block.raw) or page.parent == docs / "experiments"
            if not speaks:
                continue
            data = [cache.setdefault(f, folder_data(f)) for f in folders]
            for quote in quotes(name, block):
                why = _untraced(quote, paper, data, root)
                if why:
                    problems.append(Problem(quote.file, quote.line, quote.text, why))
    return problems


def _shown(folder: Path, root: Path) -> str:
    return folder.relative_to(root).as_posix() if folder.is_relative_to(root) else str(folder)


def _untraced(quote: Quote, paper: PaperNumbers, data: list[FolderData], root: Path) -> str | None:
    """None when `quote` traces to the papers or to `data`; otherwise what was looked for, and where."""
    if quote.unit == "percent" and any(quote.matches(v) for v in paper.values):
        return None
    if quote.unit == "points" and any(quote.matches(v) for v in paper.gaps):
        return None
    if not data:
        return (
            "quotes a result, but the paragraph names no results folder: give the page a "
            "`<!-- results: results/NAME -->` marker, or link docs/results/NAME or an experiment page in the "
            "paragraph or its section"
        )
    where = ", ".join(_shown(d.folder, root) for d in data)
    missing = [d for d in data if not d.has_results and not d.has_metrics]
    if missing:
        names = ", ".join(d.folder.name for d in missing)
        return f"names results folder(s) {names}, which hold no committed results.json or metrics.jsonl"
    precision = f"at its {quote.decimals} decimal(s)" + (", 'about': within 5%" if quote.about else "")
    if quote.unit == "percent":
        if any(quote.matches(v) for d in data for v in d.percents):
            return None
        return (
            f"not a paper number (paper-facts.md, PAPER_* tables) nor a value of {where} (results.json test_error or "
            f"final_train_error x100, or a metrics.jsonl record), {precision}"
        )
    if quote.unit == "points":
        if any(quote.matches(v) for d in data for v in d.gaps):
            return None
        return (
            f"not a difference of two values of one quantity in {where}/results.json (test errors, training "
            f"errors), nor a gap of one PAPER_* table, {precision}"
        )
    scale = SECONDS[quote.unit]
    times = {t for d in data for t in d.seconds} | _folder_total(data)
    if any(quote.matches(t, scale) for t in times):
        return None
    if not any(d.has_metrics for d in data):
        return f"a time, but no metrics.jsonl is committed under {where}: untraceable"
    return f"no time in the metrics.jsonl committed under {where} reads as {quote.text!r}, {precision}"
