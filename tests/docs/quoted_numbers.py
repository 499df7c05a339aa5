"""The checker behind `test_quoted_numbers.py`: every number the hand-written prose binds to committed data reads
exactly as that data, and every experiment result a run-speaking block quotes is bound or is a paper number. The
convention it enforces is documented in that test module's docstring.

Run it on some pages (all of README.md and docs/ when none is given):

    .venv/bin/python -m tests.docs.quoted_numbers docs/experiments/degradation.md README.md
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import os
import re
import statistics
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MARKER = re.compile(r"<!-- results: (\S+) -->")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"#{1,6} ")
LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+\.)\s")
COMMENT = re.compile(r"<!--.*?-->", re.S)
# Prose that speaks of resnetlab's own experiment runs; its results must be bound to the data they come from.
EXPERIMENT_TALK = re.compile(r"quick[- ]budget|quick run|--budget (?:quick|standard|paper)|resnetlab experiment", re.I)

# A number as prose writes it: 1,023 or 28.09; not part of a name (ResNet-56, top-5, fp32, v1.5, 3x3, 1e-4).
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
UNIT = re.compile(
    r"\s*(?P<percent>%)|\s+(?P<points>points?)\b|\s?(?P<s>s|sec|seconds?)\b|\s?(?P<min>min|minutes?)\b"
    r"|\s?(?P<h>h|hours?)\b|(?P<ratio>x(?!\w)|\u00d7)"
)
# Between two numbers of one list or range ("8.75, 7.51 and 6.97%", "0.4 to 1.0 points", "2.6-3.8 s"): the earlier
# numbers take the unit written after the last one.
LIST_SEPARATOR = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|\s+to\s+|/\s*|\s*[-\u2013]\s*)\s*")
# "50% and 75% of the run", "20% of each class": a share of something, not an error rate.
SHARE = re.compile(r"(?:\s*(?:,|and|or|to)\s*\d[\d.,]*\s*%)*\s+of\b")

BINDING = re.compile(r"<!--\s*=(.*?)-->", re.S)
# The number a binding stands behind: a sign only where it cannot be a hyphen (2.6-3.8, ResNet-56), then one unit
# word without digits (%, points, s, x, GFLOP/s), emphasis markers around either.
BOUND_NUMBER = re.compile(
    r"(?:(?<![\w.])(?P<sign>[+\-\u2212]))?(?<![\w.,])(?P<integer>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<decimals>\d+))?"
    r"[*_]*(?:\s*[^\s\d*_<>()\[\]]+)?[*_]*\s*$"
)
# Text that ends in one emphasis or code span: a bound text must be all of it ("**not shown**" is not "shown").
EMPHASIS_AT_END = re.compile(r"(?:(\*\*|__|\*|_)(?P<emphasis>[^*_]+)\1|`(?P<code>[^`]+)`)\s*$")
TERM_TOKEN = re.compile(r"(?:\[[^\]]*\]|[^\s\[])+")  # a word; brackets may hold spaces ([claim=Deeper nets])
SELECTOR_STEP = re.compile(r"\[([^\]]*)\]|\.?([^.\[\]]+)")
NUMERIC_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "mean": statistics.fmean,
    "median": statistics.median,
    "min": min,
    "max": max,
    "sum": math.fsum,
}
AGGREGATES = (*NUMERIC_AGGREGATES, "count", "first", "last")
RESULT_UNITS = ("percent", "points", "s", "min", "h", "ratio")

Value = float | str


class BindingError(ValueError):
    """A binding that cannot be evaluated; the message is one line that says why."""


@dataclass(frozen=True)
class Quote:
    """A number with a result's unit as it stands in the prose; `offset` is where its digits start in the block."""

    file: str
    line: int
    text: str
    value: float
    decimals: int
    unit: str  # one of RESULT_UNITS
    offset: int

    def reads_as(self, value: float) -> bool:
        """Whether `value`, rounded to the decimals written, is this quote."""
        return f"{value:.{self.decimals}f}" == f"{self.value:.{self.decimals}f}"


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
    """A paragraph, a list item, a table row or a fenced code block, with the line and the offset it starts at."""

    line: int
    offset: int  # in the page's text
    raw: str
    code: bool  # a fenced code block: commands and what they print, not prose; its numbers are not read
    text: str  # inline code, link targets and HTML comments blanked out, so offsets still map to lines
    links: tuple[str, ...]
    section: int


@dataclass(frozen=True)
class PageBlock:
    """A block of a page, whether it speaks of resnetlab's runs, and the results folders its page or links name."""

    file: str
    block: Block
    speaks: bool
    folders: tuple[str, ...]


@dataclass(frozen=True)
class Written:
    """A number as written right before a binding; `start` and `end` are offsets of its digits in the block."""

    sign: str  # "", "+" or "-"
    digits: str  # thousands commas dropped: "2146", "17.14"
    decimals: int
    start: int
    end: int
    text: str  # as written, unit included: "17.14%", "2,146 s"


@dataclass(frozen=True)
class Bound:
    """A binding comment of the prose and what stands right before it."""

    file: str
    line: int
    expression: str
    before: str  # the block's text up to the comment, other comments blanked
    number: Written | None
    block_offset: int  # of the block in the page: block_offset + number.end - 1 is its last digit in the page

    def shown(self) -> str:
        return self.number.text if self.number else " ".join(self.before.split()[-3:])


@dataclass(frozen=True)
class Term:
    """SOURCE SELECTOR [AGG] [*N | /N]."""

    source: str
    selector: str
    aggregate: str | None
    scale: float


@dataclass
class PaperNumbers:
    """The papers' numbers: from paper-facts.md and the PAPER_* tables of resnetlab.experiments."""

    values: set[float] = field(default_factory=set)
    gaps: set[float] = field(default_factory=set)  # differences within one PAPER_* table


def default_paper_facts(root: Path) -> Path:
    """../shared/docs/paper-facts.md beside the checkout, or $RESNETLAB_PAPER_FACTS."""
    return Path(os.environ.get("RESNETLAB_PAPER_FACTS", root.parent / "shared" / "docs" / "paper-facts.md"))


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


# The data: files under docs/, read once, and the value of each binding expression, computed once.


class Sources:
    """The committed data files under `docs`, each parsed once, and each binding expression's value, cached: one
    Sources serves any number of checks of the same tree."""

    def __init__(self, docs: Path) -> None:
        self.docs = docs
        self._files: dict[str, object] = {}
        self._values: dict[str, Value | BindingError] = {}

    def evaluate(self, expression: str) -> Value:
        """The value of `expression` (TERM, TERM - TERM or TERM / TERM); BindingError where there is none."""
        if expression not in self._values:
            try:
                self._values[expression] = self._evaluate(expression)
            except BindingError as error:
                self._values[expression] = error
        value = self._values[expression]
        if isinstance(value, BindingError):
            raise BindingError(str(value))  # a fresh one: re-raising the cached one would pile up tracebacks
        return value

    def _evaluate(self, expression: str) -> Value:
        tokens = TERM_TOKEN.findall(re.sub(r"([*/])\s+(?=\d)", r"\1", expression))
        operators = [i for i, token in enumerate(tokens) if token in ("-", "/")]
        if len(operators) > 1:
            raise BindingError("at most two terms, joined by ' - ' or ' / '")
        if not operators:
            return self._term(parse_term(tokens))
        at = operators[0]
        left, right = self._term(parse_term(tokens[:at])), self._term(parse_term(tokens[at + 1 :]))
        if isinstance(left, str) or isinstance(right, str):
            raise BindingError(f"text ({left!r}, {right!r}) cannot be subtracted or divided")
        if tokens[at] == "-":
            return left - right
        if right == 0:
            raise BindingError("the ratio's second term is 0")
        return left / right

    def _term(self, term: Term) -> Value:
        values = leaves(select(self.load(term.source), term.selector))
        value = aggregate(values, term.aggregate, term.selector)
        if term.scale == 1.0:
            return value
        if isinstance(value, str):
            raise BindingError(f"{term.selector} is text ({value!r}); it cannot be scaled")
        return value * term.scale

    def load(self, source: str) -> object:
        """docs/results/SOURCE, else docs/SOURCE; a folder stands for its results.json; .jsonl reads as a list."""
        if source not in self._files:
            self._files[source] = _read_data(self._path(source))
        return self._files[source]

    def _path(self, source: str) -> Path:
        if Path(source).is_absolute() or ".." in Path(source).parts:
            raise BindingError(f"source {source!r} must be a path under docs/results/ or docs/")
        for base in (self.docs / "results", self.docs):
            path = base / source
            if path.is_dir():
                path = path / "results.json"
            if path.is_file():
                return path
        raise BindingError(f"no file {source!r} under docs/results/ or docs/ (a folder needs a results.json)")


def _read_data(path: Path) -> object:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        if path.suffix == ".json":
            return json.loads(text)
    except json.JSONDecodeError as error:
        raise BindingError(f"{path.name} is not valid JSON: {error}") from error
    raise BindingError(f"{path.name}: only .json and .jsonl files can be bound")


def parse_term(tokens: list[str]) -> Term:
    """SOURCE SELECTOR [AGG] [*N | /N], already cut into words."""
    words = list(tokens)
    scale = 1.0
    if words and words[-1][:1] in ("*", "/"):
        scale = _scale(words.pop())
    aggregate_name = words.pop() if words and words[-1] in AGGREGATES else None
    if len(words) != 2:
        shown = " ".join(tokens)
        raise BindingError(f"{shown!r} is not SOURCE SELECTOR [{'|'.join(AGGREGATES)}] [*N | /N]")
    return Term(words[0], words[1], aggregate_name, scale)


def _scale(word: str) -> float:
    try:
        number = float(word[1:])
    except ValueError:
        raise BindingError(f"{word!r} is not *N or /N") from None
    if word[0] == "*":
        return number
    if number == 0:
        raise BindingError(f"{word!r} divides by 0")
    return 1.0 / number


def select(data: object, selector: str) -> object:
    """Follow `selector` (keys, [k=v,...] filters, [N] indexes) from `data`; a key applied to a list maps over it."""
    value, done, at = data, "", 0
    for step in SELECTOR_STEP.finditer(selector):
        if step.start() != at:
            raise BindingError(f"cannot read selector {selector!r} at {selector[at:]!r}")
        inside, key = step.group(1), step.group(2)
        if key is not None:
            value = _key(value, key, done)
        elif re.fullmatch(r"-?\d+", inside.strip()):
            value = _index(value, int(inside), done)
        else:
            value = _filter(value, inside, done)
        done, at = selector[: step.end()], step.end()
    if at != len(selector) or not selector:
        raise BindingError(f"cannot read selector {selector!r}")
    return value


def _key(value: object, key: str, done: str) -> object:
    if isinstance(value, list):
        return [_key(item, key, done) for item in value]
    where = done or "the top"
    if not isinstance(value, dict):
        raise BindingError(f"{where} is {_kind(value)}, which has no key {key!r}")
    if key not in value:
        raise BindingError(f"no key {key!r} in {where} (keys: {_some(value)})")
    return value[key]


def _index(value: object, index: int, done: str) -> object:
    if not isinstance(value, list):
        raise BindingError(f"{done or 'the top'} is {_kind(value)}, not a list to index with [{index}]")
    if not -len(value) <= index < len(value):
        raise BindingError(f"[{index}] is out of range: {done or 'the top'} has {len(value)} items")
    return value[index]


def _filter(value: object, inside: str, done: str) -> list[object]:
    if not isinstance(value, list):
        raise BindingError(f"{done or 'the top'} is {_kind(value)}, not a list to filter with [{inside}]")
    wanted = {}
    for condition in inside.split(","):
        key, equals, text = condition.partition("=")
        if not equals or not key.strip():
            raise BindingError(f"[{inside}]: a filter is [key=value,key=value]")
        wanted[key.strip()] = text.strip()
    kept: list[object] = [
        item
        for item in value
        if isinstance(item, dict) and all(k in item and _as_text(item[k]) == v for k, v in wanted.items())
    ]
    if not kept:
        raise BindingError(f"[{inside}] matches none of the {len(value)} items of {done or 'the top'}")
    return kept


def _as_text(value: object) -> str:
    """A JSON value as a filter compares it: text as is, anything else as JSON writes it (0, 0.5, true, null)."""
    return value if isinstance(value, str) else json.dumps(value)


def leaves(value: object) -> list[object]:
    """What a selector gives, as a flat list: nested lists (a filter, a key mapped over a list) flattened."""
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def aggregate(values: list[object], how: str | None, selector: str) -> Value:
    """The one value of `values`: reduced by `how`, or the only one there is."""
    if how == "count":
        return float(len(values))
    if not values:
        raise BindingError(f"{selector} gives no values")
    if how is None and len(values) > 1:
        raise BindingError(f"binding gives {len(values)} values; add mean/median/min/max/sum/count/first/last")
    if how in (None, "first"):
        return _scalar(values[0], selector)
    if how == "last":
        return _scalar(values[-1], selector)
    numbers = [_scalar(v, selector) for v in values]
    if any(isinstance(n, str) for n in numbers):
        raise BindingError(f"{selector} holds text; {how} needs numbers")
    return _finite(NUMERIC_AGGREGATES[str(how)]([float(n) for n in numbers]), selector)


def _scalar(value: object, selector: str) -> Value:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _finite(float(value), selector)
    if isinstance(value, dict):
        raise BindingError(f"{selector} is an object; select one of its keys ({_some(value)})")
    raise BindingError(f"{selector} is {_kind(value)}, not a number or text")


def _finite(value: float, selector: str) -> float:
    if not math.isfinite(value):
        raise BindingError(f"{selector} is {value} (a run that diverged?); quote it in words, not bound")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "text" if isinstance(value, str) else "a number"


def _some(mapping: dict[object, object]) -> str:
    keys = [str(k) for k in mapping]
    return ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")


# The prose: pages, blocks, quotes and bindings.


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    """`text` with each match of `pattern` replaced by spaces (newlines kept, so offsets still map to lines)."""
    return pattern.sub(lambda match: re.sub(r"[^\n]", " ", match.group(0)), text)


def blocks(markdown: str) -> list[Block]:
    """The prose of a page in blocks: paragraphs, list items, table rows and fenced code blocks; headings start a
    new section. Comment lines are left out, except a binding that starts a line (it belongs to the prose above)."""
    out: list[Block] = []
    lines = markdown.split("\n")
    starts = list(itertools.accumulate((len(line) + 1 for line in lines), initial=0))
    current: list[str] = []
    section, start, in_code = 0, 0, False

    def flush() -> None:
        nonlocal current
        if current:
            raw = "\n".join(current)
            code = raw.lstrip().startswith("```")
            text = _blank(raw, COMMENT)
            text = _blank(text, re.compile(r"(`+)(?!`).+?\1", re.S))
            text = _blank(text, LINK)
            links = tuple(LINK.findall(raw))
            out.append(Block(start + 1, starts[start], raw, code, "" if code else text, links, section))
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
        # A binding that starts a line stays in the prose: it binds what ends the line above, or fails loudly.
        comment_line = line.startswith("<!--") and not BINDING.match(line)
        if not line.strip() or comment_line or line.startswith("--8<--"):
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
    """Every number of `block` that carries a unit of a result (%, points, s, min, h, or a ratio's x), its own or,
    in a list or a range, the one written after the list's last number. Shares ("50% of the run") are left out."""
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
        decimals = len(match.group(2) or "")
        out.append(Quote(file, line, " ".join(shown.split()), _number(match), decimals, unit, match.start()))
    return out


def _number(match: re.Match[str]) -> float:
    return float(match.group(1).replace(",", "") + (f".{match.group(2)}" if match.group(2) else ""))


def bindings(file: str, block: Block) -> list[Bound]:
    """The binding comments of a prose block, each with the number (or text) written right before it."""
    if block.code:
        return []
    uncommented = _blank(block.raw, COMMENT)
    out = []
    for comment in BINDING.finditer(block.raw):
        before = uncommented[: comment.start()]
        number = BOUND_NUMBER.search(before)
        written = _written(number) if number else None
        at = written.start if written else comment.start()
        line = block.line + block.raw.count("\n", 0, at)
        out.append(Bound(file, line, comment.group(1).strip(), before, written, block.offset))
    return out


def _written(match: re.Match[str]) -> Written:
    sign = "-" if match.group("sign") in ("-", "\u2212") else match.group("sign") or ""
    decimals = match.group("decimals") or ""
    digits = match.group("integer").replace(",", "") + (f".{decimals}" if decimals else "")
    end = match.end("decimals") if decimals else match.end("integer")
    text = " ".join(match.group(0).replace("*", "").replace("_", "").split())
    return Written(sign, digits, len(decimals), match.start("integer"), end, text)


def check_binding(bound: Bound, sources: Sources) -> Problem | None:
    """None when the number (or text) before `bound` reads exactly as its expression's value."""
    try:
        value = sources.evaluate(bound.expression)
    except BindingError as error:
        return Problem(bound.file, bound.line, bound.shown(), f"binding {bound.expression!r} fails: {error}")
    why = _text_mismatch(bound, value) if isinstance(value, str) else _number_mismatch(bound, value)
    return Problem(bound.file, bound.line, bound.shown(), why) if why else None


def _number_mismatch(bound: Bound, value: float) -> str | None:
    if bound.number is None:
        return f"binding {bound.expression!r} gives {value:g}, but no number stands right before it"
    written = bound.number
    expected = f"{value:{'+' if written.sign == '+' else ''}.{written.decimals}f}"
    if float(expected) == 0:  # -0.00 reads as 0.00 (or +0.00)
        expected = expected.replace("-", "+" if written.sign == "+" else "")
    if written.sign + written.digits == expected:
        return None
    return (
        f"binding {bound.expression!r} gives {value!r}, which reads {expected} at the {written.decimals} decimal(s) "
        f"written, not {written.sign}{written.digits}"
    )


def _text_mismatch(bound: Bound, value: str) -> str | None:
    value = value.strip()
    span = EMPHASIS_AT_END.search(bound.before)
    if span:  # an emphasised "**not shown**" must be all of the value, not end with it
        written = (span.group("emphasis") or span.group("code")).strip()
        if written == value:
            return None
    else:  # plain prose ends with the value, as a whole word: "it is shown", not "unshown"
        written = bound.before.rstrip()
        if value and written.endswith(value) and not written[: len(written) - len(value)][-1:].isalnum():
            return None
    return f"binding {bound.expression!r} gives {value!r}, but the text before it reads {written[-40:]!r}"


def page_name(root: Path, page: Path) -> str:
    return page.relative_to(root).as_posix() if page.is_relative_to(root) else str(page)


def page_folders(markdown: str) -> list[str]:
    """The results folders (names under docs/results/) a page names with `<!-- results: results/NAME -->`."""
    return [name.removeprefix("results/") for name in MARKER.findall(markdown)]


def _target(target: str, page: Path) -> Path | None:
    path = target.split("#", 1)[0]
    if not path or re.match(r"[a-z]+:", path):
        return None
    return (page.parent / path).resolve()


def linked_folders(target: str, page: Path, docs: Path) -> list[str] | None:
    """The results folders a link speaks of, or None when it links no run: docs/results/NAME (or a file in it)
    gives NAME; an experiment page (under docs/experiments/ or with markers) gives its markers' folders."""
    resolved = _target(target, page)
    if resolved is None:
        return None
    results, docs = (docs / "results").resolve(), docs.resolve()
    if resolved.is_relative_to(results) and resolved != results:
        return [resolved.relative_to(results).parts[0]]
    if resolved.suffix != ".md" or not resolved.is_file() or not resolved.is_relative_to(docs):
        return None
    folders = page_folders(resolved.read_text(encoding="utf-8"))
    return folders if folders or resolved.parent == docs / "experiments" else None


def prose_pages(root: Path) -> list[Path]:
    """README.md and docs/**/*.md, without the generated summaries under docs/results/."""
    docs = root / "docs"
    pages = [root / "README.md"] if (root / "README.md").is_file() else []
    return pages + sorted(p for p in docs.rglob("*.md") if not p.is_relative_to(docs / "results"))


def read_page(root: Path, page: Path, markdown: str | None = None) -> list[PageBlock]:
    """The blocks of `page` (or of `markdown` standing for it), each with whether it speaks of resnetlab's runs: its
    page has results markers or lies in docs/experiments/, it or (on a page without markers) its section links a
    results folder or an experiment page, or it talks of experiment runs (EXPERIMENT_TALK)."""
    docs = root / "docs"
    text = page.read_text(encoding="utf-8") if markdown is None else markdown
    file = page_name(root, page)
    on_docs = page.is_relative_to(docs)
    own = page_folders(text) if on_docs else []
    page_blocks = blocks(text)
    links: dict[int, list[str]] = {}  # per block that links a run: the folders its links name
    by_section: dict[int, list[str]] = {}
    for i, block in enumerate(page_blocks):
        for target in block.links:
            folders = linked_folders(target, page, docs)
            if folders is not None:
                links.setdefault(i, []).extend(folders)
                by_section.setdefault(block.section, []).extend(folders)
    out = []
    for i, block in enumerate(page_blocks):
        linked = links.get(i)
        inherited = None if own or linked is not None else by_section.get(block.section)
        talks = bool(EXPERIMENT_TALK.search(block.raw)) or page.parent == docs / "experiments"
        speaks = bool(own) or linked is not None or inherited is not None or talks
        names = tuple(dict.fromkeys([*own, *(linked or inherited or [])]))
        out.append(PageBlock(file, block, speaks, names))
    return out


def check_block(page_block: PageBlock, sources: Sources, paper: PaperNumbers) -> list[Problem]:
    """Every binding of the block that does not read as its data, and, where the block speaks of runs, every quoted
    result that is neither bound nor a paper number."""
    bound = bindings(page_block.file, page_block.block)
    problems = [p for p in (check_binding(b, sources) for b in bound) if p is not None]
    if not page_block.speaks:
        return problems
    bound_at = {b.number.start for b in bound if b.number is not None}
    for quote in quotes(page_block.file, page_block.block):
        if quote.offset not in bound_at and not _is_paper_number(quote, paper):
            problems.append(Problem(quote.file, quote.line, quote.text, _not_bound(page_block.folders)))
    return sorted(problems, key=lambda p: p.line)


def _is_paper_number(quote: Quote, paper: PaperNumbers) -> bool:
    """A percentage of the papers, or a difference of two values of one PAPER_* table, at the precision written."""
    if quote.unit == "percent":
        return any(quote.reads_as(v) for v in paper.values)
    if quote.unit == "points":
        return any(quote.reads_as(v) for v in paper.gaps)
    return False


def _not_bound(folders: tuple[str, ...]) -> str:
    source = f"SOURCE: {' or '.join(folders)}?" if folders else "SOURCE: a folder of docs/results/"
    return f"not bound: add <!-- = SOURCE SELECTOR [AGG] [*N] --> after it ({source}), or it must be a paper number"


def check_page(
    root: Path, page: Path, paper: PaperNumbers, sources: Sources | None = None, markdown: str | None = None
) -> list[Problem]:
    """The problems of one page (or of `markdown` standing for it)."""
    sources = sources or Sources(root / "docs")
    return [p for block in read_page(root, page, markdown) for p in check_block(block, sources, paper)]


def check(root: Path, paper: PaperNumbers, sources: Sources | None = None) -> list[Problem]:
    """The problems of README.md and docs/**/*.md under `root`."""
    sources = sources or Sources(root / "docs")
    return [p for page in prose_pages(root) for p in check_page(root, page, paper, sources)]


def main(arguments: list[str]) -> int:
    """Check the pages named (all of them when none is): print each problem, exit 1 when there is one."""
    root = Path(__file__).resolve().parents[2]
    facts = default_paper_facts(root)
    if not facts.is_file():
        print(f"warning: {facts} is missing; the papers' numbers will read as unbound", file=sys.stderr)
    paper = paper_numbers(facts if facts.is_file() else None, root / "src" / "resnetlab" / "experiments")
    sources = Sources(root / "docs")
    pages = [Path(a).resolve() for a in arguments] or prose_pages(root)
    problems = [p for page in pages for p in check_page(root, page, paper, sources)]
    print("\n".join(map(str, problems)) or "no problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
