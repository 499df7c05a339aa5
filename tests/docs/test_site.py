"""The documentation site: built as CI builds it (`mkdocs build --strict`), then served on localhost and opened page by
page in headless Chromium, every page at a desktop and a phone width (WIDTHS).

The browser visits each page once per width (the `visits` fixture) and records what it found; each check is its own
test over those records, so a failure names only its own problems, for every page and width at once:
- the page loads: no console or script error, no failed request, every image and SVG diagram loaded, every formula
  rendered by KaTeX;
- no markdown list left as raw text (`- item` lines in a paragraph: the list had no blank line before it);
- nothing wider than the viewport: the page does not scroll sideways as a whole and the content column holds its
  content (a wide table or code block scrolls inside its own box instead);
- no image wider than the viewport;
- every content image is a figure with a caption;
- full-page screenshots of the pages a student starts from, at both widths, in OUTPUT.
The page list is read from the built site (every index.html but the search page's), so a new page is checked too."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from resnetlab.report.diagrams import DIAGRAMS
from tests.helpers.browser import playwright_driver

ROOT = Path(__file__).resolve().parents[2]
# The screenshots land here (`test-output/` in the repository, ignored by git, unless set otherwise).
OUTPUT = Path(os.environ.get("RESNETLAB_TEST_OUTPUT", ROOT / "test-output")) / "docs-site"
# A desktop and a phone (an iPhone 12 to 15 is 390 CSS pixels wide); every page is opened at each.
WIDTHS = (1280, 390)
# The pages screenshotted at each width, as OUTPUT/NAME-WIDTH.png.
SCREENSHOTS = {
    ".": "home",
    "theory/from-scratch": "from-scratch",
    "theory/convolution": "convolution",
    "theory/residual-learning": "residual-learning",
    "theory/preactivation": "preactivation",
    "experiments/degradation": "degradation",
    "experiments/depth": "depth",
    "experiments/landscape": "landscape",
}

_built: dict[str, Path] = {}


def build_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built as CI builds it, once per test session: the modules that read it share it (none changes it)."""
    if "site" not in _built:
        out = tmp_path_factory.mktemp("site")
        build = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )
        assert build.returncode == 0, build.stderr[-4000:]  # strict: a broken link or a page missing from nav fails
        _built["site"] = out
    return _built["site"]


def site_pages(site: Path) -> list[str]:
    """Every page of the built site, as its folder ("." for the home page): each index.html but the search page's
    (the 404 page is 404.html)."""
    pages = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html"))
    return [p for p in pages if p != "search" and not p.startswith(("search/", "assets/"))]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_site(tmp_path_factory)


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_the_strict_build_writes_the_generated_and_included_pages(site: Path) -> None:
    for page in ("index.html", "architectures/index.html", "reference/cli/index.html", "theory/shortcuts/index.html"):
        assert (site / page).exists(), page
    architectures = (site / "architectures/index.html").read_text()
    assert "<td>cifar_resnet1202</td>" in architectures  # the registry's table, generated at build time
    assert "<!-- resnetlab:" not in architectures and "--8&lt;--" not in (site / "index.html").read_text()


# Text that is still TeX after the page loaded: a formula KaTeX did not render (code and rendered math excluded).
RAW_TEX = r"""() => {
    const unrendered = Array.from(document.querySelectorAll('.arithmatex'))
        .filter(e => !e.querySelector('.katex')).map(e => e.textContent.slice(0, 80));
    const text = document.querySelector('article') || document.body;
    const copy = text.cloneNode(true);
    copy.querySelectorAll('pre, code, .katex').forEach(e => e.remove());
    const visible = copy.textContent;
    const marks = ['\\(', '\\[', '$$'].filter(m => visible.includes(m));
    const dollars = visible.match(/\$[^$\s][^$]*\$/g) || [];
    return [...unrendered, ...marks, ...dollars];
}"""
# Formulas rendered per page, at least (the pages whose formulas this site promises).
MATH = {"theory/residual-learning": 3, "theory/preactivation": 4, "theory/convolution": 3, "experiments/verdicts": 2}

# The layout of the page at the viewport width given, in four lists of problems (each a line of text).
# rawLists: a paragraph (or a list item's own text) with a line that starts "- " or "* ": a markdown list that did
#   not render, because no blank line preceded it (or, in a list item, a sub-list indented less than 4 spaces).
# overflow: the page scrolls sideways as a whole (the document wider than the viewport), or the content column
#   (main, Material's .md-content) is wider than the viewport or than it holds; with the elements that stick out:
#   the outermost past the viewport or the column's right edge, and the innermost whose text runs past that edge,
#   that no scrolling or clipping box of theirs holds in.
# wideImages: an image (any on the page) wider than the viewport.
# uncaptioned: a content image (an <img> in the article, icons, emoji, logos and KaTeX left out) that is not inside a
#   <figure> with a non-empty <figcaption> of its own.
LAYOUT = r"""(width) => {
    const article = document.querySelector('article.md-content__inner') || document.querySelector('article')
        || document.body;
    const squeeze = text => text.replace(/\s+/g, ' ').trim().slice(0, 100);
    const describe = e => {
        const cls = typeof e.className === 'string' && e.className.trim()
            ? '.' + e.className.trim().split(/\s+/).join('.') : '';
        const what = e.tagName === 'IMG' ? e.getAttribute('src') : squeeze(e.textContent).slice(0, 60);
        return `<${e.tagName.toLowerCase()}${cls}> "${what}"`;
    };
    const result = {rawLists: [], overflow: [], wideImages: [], uncaptioned: []};

    const rawLine = /^[ \t]*[-*] /;
    const raw = (element, kind, remove) => {
        const copy = element.cloneNode(true);
        copy.querySelectorAll(remove).forEach(e => e.remove());
        const line = copy.textContent.split('\n').find(l => rawLine.test(l));
        if (line !== undefined) {
            result.rawLists.push(`${kind} with a raw list line "${squeeze(line)}" in "${squeeze(copy.textContent)}"`);
        }
    };
    article.querySelectorAll('p').forEach(p => raw(p, 'paragraph', '.katex, .arithmatex'));
    // a list item's own text: its paragraphs are checked above, its rendered sub-lists are lists
    article.querySelectorAll('li').forEach(li => raw(li, 'list item', 'p, ul, ol, pre, .katex, .arithmatex'));

    const doc = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
    if (doc > width + 1) result.overflow.push(`the page is ${doc} px wide: it scrolls sideways`);
    // The content column is Material's .md-content: the article and the margins its code blocks and tables bleed into.
    const content = article.closest('.md-content') || article;
    for (const [name, box] of [['main', document.querySelector('main')], ['content', content]]) {
        if (!box) continue;
        const rect = box.getBoundingClientRect();
        if (rect.right > width + 1) {
            result.overflow.push(`the ${name} column reaches ${Math.round(rect.right)} px, past the viewport`);
        }
        if (box.scrollWidth > box.clientWidth + 1) {
            result.overflow.push(
                `the ${name} column holds ${box.scrollWidth} px of content in its ${box.clientWidth} px`);
        }
    }
    const edge = Math.min(width, content.getBoundingClientRect().right);
    const clips = e => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(e).overflowX);
    const out = new Set();
    for (const e of article.querySelectorAll('*')) {
        const rect = e.getBoundingClientRect();
        if (rect.width === 0 || rect.right <= edge + 1) continue;
        let inside = false;  // a box of its own holds it in, or an outer one is reported already
        for (let a = e.parentElement; a && a !== article; a = a.parentElement) {
            if (clips(a) || out.has(a)) { inside = true; break; }
        }
        if (!inside) out.add(e);
    }
    // text that runs past the column (a word too long to wrap): the innermost box it spills from
    const held = e => {
        for (let a = e.parentElement; a && a !== article; a = a.parentElement) if (clips(a)) return true;
        return false;
    };
    const spills = Array.from(article.querySelectorAll('*')).filter(e =>
        e.clientWidth > 0 && e.getBoundingClientRect().left + e.scrollWidth > edge + 1 && !clips(e) && !held(e)
        && !Array.from(out).some(o => e.contains(o)));
    spills.filter(e => !spills.some(d => d !== e && e.contains(d))).forEach(e => out.add(e));
    if (out.size > 0) {
        const culprits = Array.from(out).slice(0, 5).map(e =>
            e.getBoundingClientRect().right > edge + 1
                ? `${describe(e)} reaches ${Math.round(e.getBoundingClientRect().right)} px`
                : `${describe(e)} holds ${e.scrollWidth} px of text in ${e.clientWidth} px`);
        result.overflow.push(`${out.size} element(s) stick out of the ${Math.round(edge)} px column: `
            + culprits.join('; '));
    }

    for (const img of document.images) {
        const w = img.getBoundingClientRect().width;
        if (w > width) result.wideImages.push(`${img.getAttribute('src')} is ${Math.round(w)} px wide`);
    }

    const icon = '.katex, .twemoji, .emojione, .gemoji, .md-logo, .md-icon, [class*="emoji"], [class*="icon"], '
        + '[class*="logo"]';
    for (const img of article.querySelectorAll('img')) {
        if (img.matches(icon) || img.closest(icon)) continue;
        const figure = img.closest('figure');
        const caption = figure && figure.querySelector(':scope > figcaption');
        const src = img.getAttribute('src');
        if (!figure) result.uncaptioned.push(`${src}: not in a <figure>`);
        else if (!caption) result.uncaptioned.push(`${src}: its <figure> has no <figcaption>`);
        else if (!caption.textContent.trim()) result.uncaptioned.push(`${src}: its <figcaption> is empty`);
    }
    return result;
}"""


@dataclass
class Visit:
    """What the browser found on one page at one width."""

    page: str  # the page's folder in the site, "." for the home page
    width: int
    problems: list[str] = field(default_factory=list)  # console, script and request errors, images, raw TeX
    formulas: int = 0  # formulas KaTeX rendered
    diagrams: set[str] = field(default_factory=set)  # the build-time SVG diagrams (docs_hooks/diagrams.py) loaded
    layout: dict[str, list[str]] = field(default_factory=dict)  # LAYOUT's lists
    screenshot: Path | None = None

    @property
    def name(self) -> str:
        return f"{'home' if self.page == '.' else self.page + '/'} at {self.width} px"


@pytest.fixture(scope="module")
def chromium_path() -> str:
    return playwright_driver()  # first, so that a missing browser fails (CI) or skips before anything is built


@pytest.fixture(scope="module")
def visits(chromium_path: str, site: Path, served: str) -> list[Visit]:
    """Every page opened at every width, in headless Chromium; the screenshots written to OUTPUT."""
    import playwright.sync_api as playwright

    pages = site_pages(site)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT.glob("*.png"):
        old.unlink()  # a screenshot left from an earlier run never passes for this one's
    found: list[Visit] = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])

        def note(problem: str) -> None:  # on the page being visited, the last one
            found[-1].problems.append(problem)

        def console(message: Any) -> None:
            if message.type == "error":
                note(f"console {message.type}: {message.text}")

        def response(answer: Any) -> None:
            if answer.status >= 400:
                note(f"HTTP {answer.status}: {answer.url}")

        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", console)
            page.on("response", response)
            page.on("pageerror", lambda error: note(f"script error: {error}"))
            page.on("requestfailed", lambda request: note(f"request failed: {request.url}"))
            for path in pages:
                now = Visit(path, width)
                found.append(now)
                page.goto(served + ("" if path == "." else f"{path}/"), wait_until="networkidle")
                broken = page.evaluate(
                    "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
                )
                now.problems += [f"image did not load: {src}" for src in broken]
                now.problems += [f"raw TeX: {text}" for text in page.evaluate(RAW_TEX)]
                now.formulas = page.evaluate("document.querySelectorAll('.arithmatex .katex').length")
                now.diagrams = set(
                    page.evaluate(
                        "Array.from(document.images).filter(i => i.src.includes('/diagrams/') && i.naturalWidth > 0)"
                        ".map(i => i.src.split('/').pop())"
                    )
                )
                now.layout = page.evaluate(LAYOUT, width)
                if path in SCREENSHOTS:
                    now.screenshot = OUTPUT / f"{SCREENSHOTS[path]}-{width}.png"
                    page.screenshot(path=str(now.screenshot), full_page=True)
            page.close()
        browser.close()
    return found


def report(visits: list[Visit], what: str, problems: list[str]) -> str:
    return f"{len(problems)} {what} on {len({v.page for v in visits})} pages at {WIDTHS} px:\n" + "\n".join(problems)


def layout_problems(visits: list[Visit], kind: str) -> list[str]:
    return [f"{visit.name}: {problem}" for visit in visits for problem in visit.layout[kind]]


def test_every_page_renders_in_chromium_with_its_images_and_no_console_error(visits: list[Visit]) -> None:
    """Every page at every width: no console error, no failed request, every image and SVG diagram loaded, every
    formula rendered by KaTeX (served from the site) with no raw TeX left."""
    assert len({visit.page for visit in visits}) >= 20
    problems = [f"{visit.name}: {problem}" for visit in visits for problem in visit.problems]
    assert not problems, report(visits, "problems loading pages", problems)
    for width in WIDTHS:
        drawn = set().union(*(visit.diagrams for visit in visits if visit.width == width))
        assert drawn == set(DIAGRAMS), width
        rendered = {visit.page: visit.formulas for visit in visits if visit.width == width}
        assert {path: rendered.get(path, 0) for path in MATH} == {
            path: max(rendered.get(path, 0), least) for path, least in MATH.items()
        }, (width, rendered)


def test_no_page_shows_a_markdown_list_as_raw_text(visits: list[Visit]) -> None:
    """A list right after a line of text, with no blank line between, is no list in Python-Markdown: its "- item"
    lines stay in the paragraph, one run-on sentence with dashes."""
    problems = layout_problems(visits, "rawLists")
    assert not problems, report(visits, "lists left as raw text (add a blank line before the list)", problems)


def test_no_page_is_wider_than_the_viewport(visits: list[Visit]) -> None:
    """On a phone as on a desktop the page never scrolls sideways: the content column fits the viewport and holds its
    content; a wide table or code block scrolls inside its own box."""
    problems = layout_problems(visits, "overflow")
    assert not problems, report(visits, "pages wider than the viewport", problems)


def test_no_image_is_wider_than_the_viewport(visits: list[Visit]) -> None:
    problems = layout_problems(visits, "wideImages")
    assert not problems, report(visits, "images wider than the viewport", problems)


def test_every_content_image_is_a_figure_with_a_caption(visits: list[Visit]) -> None:
    """A picture on a teaching page says what it shows: every image of a page's content (icons, emoji and logos left
    out) is in a <figure> whose <figcaption> has text."""
    problems = layout_problems(visits, "uncaptioned")
    assert not problems, report(visits, "images without a caption", problems)


def test_the_pages_a_student_starts_from_are_screenshotted_at_every_width(visits: list[Visit]) -> None:
    taken = {(visit.page, visit.width): visit.screenshot for visit in visits if visit.screenshot is not None}
    missing = [f"{page} at {width} px" for page in SCREENSHOTS for width in WIDTHS if (page, width) not in taken]
    assert not missing, f"no such page to screenshot: {missing}"
    small = [str(shot) for shot in taken.values() if not shot.exists() or shot.stat().st_size <= 10_000]
    assert not small, small  # taken in this run, and more than a blank page


def test_without_chromium_ci_fails_naming_the_browser_and_elsewhere_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page tests never pass in CI without a page opened: there a missing browser fails them."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI needs a browser for the page tests: the Chromium browser"):
        playwright_driver()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="Chromium browser"):
        playwright_driver()
