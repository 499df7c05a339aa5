"""MkDocs hook: an image standing alone in its paragraph becomes a figure with a caption. `![alt](src)` is captioned
with its alt text, `![alt](src "title")` with its title; the image itself is kept as it was written.

It works on each page's rendered HTML, after every other hook has had its say, so the same rule captions an image
written on a page, one in a README section included as a snippet, one in an experiment's summary.md embedded by
docs_hooks/results.py, and the architecture diagrams (docs_hooks/diagrams.py). An image inside a sentence, a link or
a table is left as it is: it is not a figure of its own.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from typing import Any

# A paragraph holding one <img> and nothing else, as Python-Markdown writes `![alt](src)` on a line of its own.
ALONE = re.compile(r"<p>\s*(<img\b[^>]*>)\s*</p>")


class _Attributes(HTMLParser):
    """The attributes of the one tag fed in, their character references resolved."""

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.attributes: dict[str, str] = {}
        self.feed(tag)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes = {name: value or "" for name, value in attrs}


def caption(img: str) -> str:
    """The caption of an <img> tag: its title, else its alt text; empty when it has neither."""
    attributes = _Attributes(img).attributes
    return (attributes.get("title") or attributes.get("alt") or "").strip()


def captioned(page: str) -> str:
    """`page` (HTML) with each image that stands alone in its paragraph as <figure><img><figcaption>; one without a
    caption to give (no alt text, no title) stays a paragraph."""

    def figure(match: re.Match[str]) -> str:
        img = match.group(1)
        text = caption(img)
        if not text:
            return match.group(0)
        return f"<figure>\n{img}\n<figcaption>{escape(text, quote=False)}</figcaption>\n</figure>"

    return ALONE.sub(figure, page)


def on_page_content(html: str, **_: Any) -> str:
    return captioned(html)
