from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from docs_hooks.results import embed, expand


@pytest.fixture(scope="module")
def docs_dir(tmp_path_factory: pytest.TempPathFactory, depth_smoke: Path) -> Path:
    """A docs folder holding one smoke experiment's results (the session's depth smoke run, tests/conftest.py), copied
    as they are committed under docs/results/."""
    root = tmp_path_factory.mktemp("hooks")
    results = root / "docs" / "results" / "depth-smoke"
    results.mkdir(parents=True)
    for name in ("summary.md", "depth.png", "report.html", "results.json"):
        shutil.copy(depth_smoke / name, results / name)
    return root / "docs"


def test_the_summary_is_embedded_with_its_figures_pointing_into_the_results_folder(docs_dir: Path) -> None:
    page = expand("# Depth\n\n<!-- results: results/depth-smoke -->\n", "experiments/depth.md", docs_dir)
    assert page.count("\n# ") == 0 and page.startswith("# Depth\n\n- budget: **smoke**")  # its title dropped
    assert "](../results/depth-smoke/depth.png)" in page  # was (depth.png), relative to the summary
    assert "| ResNet-20 |" in page and "### The paper's claims against this run" in page  # one level down
    assert page.rstrip().endswith("[the experiment's report](../results/depth-smoke/report.html).")


def test_links_are_relative_to_the_page_wherever_it_is(docs_dir: Path) -> None:
    assert "](results/depth-smoke/depth.png)" in embed(docs_dir / "results/depth-smoke", "index.md", docs_dir)


def test_a_folder_without_a_summary_fails_the_build(docs_dir: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"summary\.md does not exist: run the experiment"):
        expand("<!-- results: results/missing -->", "experiments/x.md", docs_dir)
