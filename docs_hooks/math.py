"""The site's formulas are rendered by KaTeX served from the site itself (`docs/assets/katex/`, which `make docs` and
`make test` take from the npm registry, checksummed: see the Makefile). A build without it fails here, in one line,
instead of publishing pages whose formulas stay raw TeX."""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError

KATEX = Path("assets/katex/katex.min.js")


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    if not (Path(config.docs_dir) / KATEX).exists():
        raise PluginError(f"docs/{KATEX} is missing: run `make docs` (it fetches KaTeX from the npm registry)")
    return config
