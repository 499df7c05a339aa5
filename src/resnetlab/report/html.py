"""`resnetlab report`: run and experiment directories as one self-contained HTML page (figures embedded as data URIs,
tables, configs, environments, seeds, and the experiments' notes where a result differs from the paper)."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Sequence
from pathlib import Path

import markdown

import resnetlab.files as files
from resnetlab.errors import UserInputError

GENERATOR = "resnetlab report"
_MARK = f"<meta name='generator' content='{GENERATOR}'>"  # on every page this command wrote, which it may replace
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } th, td { border: 1px solid #bbb; padding: 4px 8px; }
th { background: #f0f0f0; } img { max-width: 100%; } pre { background: #f6f6f6; padding: 8px; overflow-x: auto; }
section { border-top: 2px solid #ddd; margin-top: 2em; } details { margin: 0.5em 0; }
"""
# Counts the figures that really decoded, so a browser test can tell a page whose images all load.
_FIGURE_CHECK = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute("data-figures", loaded + "/" + images.length);
});
"""


def build_report(paths: Sequence[Path], out: Path, *, title: str = "resnetlab report") -> Path:
    """Write one page for `paths` (run directories and experiment directories, in the order given) to `out`."""
    sections = [_section(path) for path in paths]
    if out.exists() and _MARK not in _head(out):
        raise UserInputError(f"{out} exists and is not a resnetlab report; choose another --out")
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"{_MARK}<title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n"
        + "\n".join(sections)
        + f"\n<script>{_FIGURE_CHECK}</script>\n</body></html>\n"
    )
    return files.write_text(out, page)


def _head(page: Path) -> str:
    with open(page, encoding="utf-8", errors="replace") as handle:
        return handle.read(2000)


def _section(path: Path) -> str:
    experiment = (path / "experiment.json").is_file() or (path / "results.json").is_file()  # committed: results only
    if experiment and (path / "summary.md").is_file():
        return _experiment_section(path)
    if (path / "config.yaml").is_file():
        return _run_section(path)
    raise UserInputError(
        f"{path} is neither a run directory (config.yaml) nor a finished experiment (summary.md); "
        "give directories that `resnetlab train` or `resnetlab experiment` wrote"
    )


def _experiment_section(path: Path) -> str:
    body = markdown.markdown((path / "summary.md").read_text(), extensions=["tables"])
    body = _embed_images(body, path)
    results = json.loads((path / "results.json").read_text()) if (path / "results.json").is_file() else {"runs": []}
    runs = results["runs"]
    rows = "".join(
        f"<tr><td>{html.escape(r['label'])}</td><td>{r['seed']}</td><td>{100 * r['test_error']:.2f}%</td>"
        f"<td>{100 * r['final_train_error']:.2f}%</td><td>{html.escape(r['run_dir'])}</td></tr>"
        for r in runs
    )
    table = (
        "<table><tr><th>run</th><th>seed</th><th>test error</th><th>final training error</th><th>folder</th></tr>"
        f"{rows}</table>"
    )
    configs = "".join(_details(f"config of {r['run_dir']}", path / r["run_dir"] / "config.yaml") for r in runs)
    environment = _details("environment", path / runs[0]["run_dir"] / "environment.json") if runs else ""
    return (
        f"<section>{body}<h3>Runs ({len(runs)}, in {html.escape(str(path))})</h3>{table}{configs}{environment}"
        "</section>"
    )


def _run_section(path: Path) -> str:
    parts = [f"<section><h2>Run {html.escape(path.name)}</h2>"]
    metrics = path / "test_metrics.json"
    if metrics.is_file():
        test = json.loads(metrics.read_text())
        parts.append(
            f"<p>Test accuracy <b>{100 * test['top1']:.2f}%</b> (top-5 {100 * test['top5']:.2f}%, loss "
            f"{test['loss']:.4f}) on {test['count']:,} images.</p>"
        )
    else:
        parts.append("<p>Not finished: no test result yet.</p>")
    for figure in ("error.png", "loss_lr.png"):
        if (path / figure).is_file():
            parts.append(f'<img alt="{figure}" src="{_data_uri(path / figure)}">')
    parts.append(_details("config", path / "config.yaml"))
    parts.append(_details("environment", path / "environment.json"))
    parts.append("</section>")
    return "".join(parts)


def _embed_images(body: str, folder: Path) -> str:
    """Figures a summary links by file name become data URIs: the page stands alone."""

    def embed(match: re.Match[str]) -> str:
        source = folder / html.unescape(match.group(1))
        return f'src="{_data_uri(source)}"' if source.is_file() else match.group(0)

    return re.sub(r'src="([^"]+\.png)"', embed, body)


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _details(label: str, file: Path) -> str:
    if not file.is_file():
        return ""
    return f"<details><summary>{html.escape(label)}</summary><pre>{html.escape(file.read_text())}</pre></details>"
