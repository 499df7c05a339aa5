"""The teaching pages of the built site (getting started, theory, architectures, experiments) read as finished pages
for a student, not as working notes: no "Not finished yet", "not committed" or "not quoted", no "this machine", and no
path of the machine the docs were written on (/work/, /root/, /home/, /tmp/, ../shared).

What is read: the visible text of each page's article (Material's <article>), from the built HTML: tags, attributes,
scripts and styles left out, and the navigation, header and footer too (the search index is a file of its own). Code
counts: a command in a code block that reads `--data ../shared/datasets/cifar10` shows ../shared as much as prose
does; each hit says whether it is in prose, inline code or a code block, so the fix is clear. Matching ignores case
and treats any run of whitespace as one space (a phrase broken over two lines of the source still matches). The page
list is read from the built site, so a new page under these sections is checked too."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.docs.test_site import build_site, site_pages

# The sections a student reads to learn: their folders in the built site.
TEACHING = ("getting-started/", "theory/", "architectures", "experiments/")
NOTES = ("Not finished yet", "not committed", "not quoted", "this machine")
MACHINE_PATHS = ("/work/", "/root/", "/home/", "/tmp/", "../shared")

PROSE, INLINE, BLOCK = "prose", "inline code", "code block"
SKIPPED = {"script", "style", "template", "noscript"}
# Tags that end a run of text: their text never runs into the next (`<td>a</td><td>b</td>` is "a b", not "ab").
BREAKS = {
    *("p", "div", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "td", "th", "thead", "tbody", "br", "hr"),
    *("pre", "blockquote", "figure", "figcaption", "details", "summary", "section", "h1", "h2", "h3", "h4"),
    *("h5", "h6", "img"),
}


class ArticleText(HTMLParser):
    """The visible text of a page's <article>, character by character with where it stands (PROSE, INLINE, BLOCK),
    every run of whitespace one space."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chars: list[str] = []
        self.where: list[str] = []
        self.article = self.skipped = self.pre = self.code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._count(tag, +1)

    def handle_endtag(self, tag: str) -> None:
        self._count(tag, -1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BREAKS:
            self._add(" ")

    def _count(self, tag: str, step: int) -> None:
        if tag == "article":
            self.article = max(0, self.article + step)
        elif tag in SKIPPED:
            self.skipped = max(0, self.skipped + step)
        elif tag == "pre":
            self.pre = max(0, self.pre + step)
        elif tag == "code":
            self.code = max(0, self.code + step)
        if tag in BREAKS:
            self._add(" ")

    def handle_data(self, data: str) -> None:
        self._add(data)

    def _add(self, data: str) -> None:
        if not self.article or self.skipped:
            return
        where = BLOCK if self.pre else INLINE if self.code else PROSE
        for char in data:
            if char.isspace():
                if not self.chars or self.chars[-1] == " ":
                    continue
                char = " "
            self.chars.append(char)
            self.where.append(where)

    @property
    def text(self) -> str:
        return "".join(self.chars)


def read(html: str) -> ArticleText:
    parser = ArticleText()
    parser.feed(html)
    parser.close()
    return parser


def hits(site: Path, pages: list[str], needles: tuple[str, ...]) -> list[tuple[str, str]]:
    """Each occurrence of a needle on the pages: (where it stands, "page: "needle" in WHERE: ...snippet...")."""
    found = []
    pattern = re.compile("|".join(re.escape(needle) for needle in needles), re.IGNORECASE)
    for page in pages:
        article = read((site / page / "index.html").read_text(encoding="utf-8"))
        text = article.text
        for match in pattern.finditer(text):
            where = article.where[match.start()]
            snippet = text[max(0, match.start() - 70) : match.end() + 70]
            found.append((where, f'{page}/: "{match.group()}" in {where}: ...{snippet}...'))
    return found


def message(found: list[tuple[str, str]], what: str) -> str:
    counts = ", ".join(f"{sum(where == w for where, _ in found)} in {w}" for w in (PROSE, INLINE, BLOCK))
    return f"{len(found)} {what} ({counts}):\n" + "\n".join(line for _, line in found)


@pytest.fixture(scope="module")
def teaching(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The built site (shared with tests/docs/test_site.py) and its teaching pages."""
    site = build_site(tmp_path_factory)
    pages = [page for page in site_pages(site) if page.startswith(TEACHING)]
    for section in TEACHING:  # every section is there: a moved section never leaves the check with nothing to read
        assert any(page.startswith(section) for page in pages), (section, pages)
    return site, pages


def test_teaching_pages_show_no_working_notes(teaching: tuple[Path, list[str]]) -> None:
    found = hits(*teaching, NOTES)
    assert not found, message(found, f"working notes on the teaching pages {NOTES}")


def test_teaching_pages_show_no_path_of_the_build_machine(teaching: tuple[Path, list[str]]) -> None:
    found = hits(*teaching, MACHINE_PATHS)
    assert not found, message(found, f"paths of the build machine on the teaching pages {MACHINE_PATHS}")


def test_the_text_read_is_the_articles_visible_text_with_code_marked() -> None:
    page = read(
        "<html><head><title>this machine</title><script>var p = '/work/';</script></head><body>"
        "<nav>Not finished yet</nav><article><h1>Title</h1><p>Data are <em>not\n  committed</em> here;"
        ' <a href="/home/x" title="/tmp/">a link</a> and <code>--data ../shared</code>.</p>'
        "<style>p::before { content: '/root/'; }</style>"
        "<table><tr><td>a</td><td>b</td></tr></table>"
        '<pre><code>resnetlab train --out /tmp/runs\n</code></pre><img alt="/work/ x" src="a.png"></article>'
        "<footer>not quoted</footer></body></html>"
    )
    assert page.text.strip() == (
        "Title Data are not committed here; a link and --data ../shared. a b resnetlab train --out /tmp/runs"
    )
    where = {needle: page.where[page.text.index(needle)] for needle in ("not committed", "../shared", "/tmp/")}
    assert where == {"not committed": PROSE, "../shared": INLINE, "/tmp/": BLOCK}


# The chapters of the learner's path (mkdocs.yml's nav, from the basics to putting ResNets to work): each ends with a
# summary and exercises.
CHAPTERS = (
    "theory/convolution.md",
    "theory/degradation.md",
    "theory/residual-learning.md",
    "theory/shortcuts.md",
    "theory/bottleneck.md",
    "theory/preactivation.md",
    "theory/from-scratch.md",
    "architectures.md",
    *(f"experiments/{name}.md" for name in ("verdicts", "degradation", "depth", "shortcuts", "responses")),
    *(f"experiments/{name}.md" for name in ("identity-mappings", "gradients", "landscape")),
    "getting-started/cifar10.md",
    "getting-started/finetune.md",
    "practical/training.md",
    "practical/deployment.md",
    "practical/distributed.md",
)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_ends_with_a_summary_and_exercises(chapter: str) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / chapter).read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings[-2:] == ["Summary", "Exercises"], f"{chapter} ends with {headings[-2:]}"
    exercises = text.split("\n## Exercises\n", 1)[1]
    assert len(re.findall(r"^\d+\. ", exercises, flags=re.M)) >= 2, f"{chapter}: fewer than two exercises"
    assert "Look for" in exercises or "look for" in exercises, f"{chapter}: exercises say what to look for"


def test_the_home_page_has_a_start_here_path() -> None:
    home = (Path(__file__).resolve().parents[2] / "docs" / "index.md").read_text(encoding="utf-8")
    start = home.split("## Start here\n", 1)[1].split("\n## ", 1)[0]
    assert len(re.findall(r"^\d+\. ", start, flags=re.M)) >= 5
