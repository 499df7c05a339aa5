"""The documentation site: built as CI builds it (`mkdocs build --strict`), then served on localhost and opened page by
page in headless Chromium."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from resnetlab.report.diagrams import DIAGRAMS
from tests.helpers.browser import playwright_driver

ROOT = Path(__file__).resolve().parents[2]
# Screenshots of the home and degradation pages land here (`test-output/` in the repository unless set otherwise).
OUTPUT = Path(os.environ.get("RESNETLAB_TEST_OUTPUT", ROOT / "test-output")) / "docs-site"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
    return out


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


def test_every_page_renders_in_chromium_with_its_images_and_no_console_error(site: Path, served: str) -> None:
    """Every page: no console error, no failed request, every image and SVG diagram loaded, every formula rendered
    by KaTeX (served from the site) with no raw TeX left; screenshots of the pages a student starts from."""
    executable = playwright_driver()
    import playwright.sync_api as playwright

    pages = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html"))
    pages = [p for p in pages if not p.startswith(("assets", "search", "results"))]
    assert len(pages) >= 20
    problems: list[str] = []
    OUTPUT.mkdir(parents=True, exist_ok=True)
    screenshots = {
        ".": OUTPUT / "home.png",
        "experiments/degradation": OUTPUT / "degradation.png",
        "theory/residual-learning": OUTPUT / "residual-learning.png",
        "theory/preactivation": OUTPUT / "preactivation.png",
        "experiments/landscape": OUTPUT / "landscape.png",
    }
    rendered: dict[str, int] = {}
    diagrams: set[str] = set()  # the SVG diagrams drawn at build time (docs_hooks/diagrams.py) that loaded
    for old in screenshots.values():
        old.unlink(missing_ok=True)
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def console(message: Any) -> None:
            if message.type == "error":
                problems.append(f"{page.url}: console {message.type}: {message.text}")

        def response(answer: Any) -> None:
            if answer.status >= 400:
                problems.append(f"{page.url}: HTTP {answer.status}: {answer.url}")

        page.on("console", console)
        page.on("response", response)
        page.on("pageerror", lambda error: problems.append(f"{page.url}: script error: {error}"))
        page.on("requestfailed", lambda request: problems.append(f"{page.url}: request failed: {request.url}"))
        for path in pages:
            url = served + ("" if path == "." else f"{path}/")
            page.goto(url, wait_until="networkidle")
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
            )
            problems += [f"{url}: image did not load: {src}" for src in broken]
            problems += [f"{url}: raw TeX: {text}" for text in page.evaluate(RAW_TEX)]
            rendered[path] = page.evaluate("document.querySelectorAll('.arithmatex .katex').length")
            diagrams |= set(
                page.evaluate(
                    "Array.from(document.images).filter(i => i.src.includes('/diagrams/') && i.naturalWidth > 0)"
                    ".map(i => i.src.split('/').pop())"
                )
            )
            if path in screenshots:
                page.screenshot(path=str(screenshots[path]), full_page=True)
        browser.close()
    assert problems == []
    assert diagrams == set(DIAGRAMS)
    assert {path: rendered[path] for path in MATH} == {
        path: max(rendered[path], least) for path, least in MATH.items()
    }, rendered
    assert all(shot.stat().st_size > 10_000 for shot in screenshots.values())  # taken in this run


def test_without_chromium_ci_fails_naming_the_browser_and_elsewhere_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page tests never pass in CI without a page opened: there a missing browser fails them."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI needs a browser for the page tests: the Chromium browser"):
        playwright_driver()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="Chromium browser"):
        playwright_driver()
