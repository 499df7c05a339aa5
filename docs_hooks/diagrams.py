"""MkDocs hook: the architecture diagrams (`resnetlab.report.diagrams`) drawn from the code when the site is built,
served as `diagrams/NAME.svg`. A page shows one with `![what it shows](../diagrams/unit-orders.svg)`; nothing drawn
is committed, so a changed spec or unit ordering is in the next build's pictures."""

from __future__ import annotations

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from resnetlab.report.diagrams import DIAGRAMS


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for name, draw in DIAGRAMS.items():
        files.append(File.generated(config, f"diagrams/{name}", content=draw()))
    return files
