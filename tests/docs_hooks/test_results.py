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


def test_the_page_shows_the_summary_for_a_reader_without_the_machines_paths_or_the_statistics(tmp_path: Path) -> None:
    folder = tmp_path / "docs" / "results" / "x-standard"
    folder.mkdir(parents=True)
    (folder / "summary.md").write_text(
        "# X\n\n- budget: **standard**, 3,128 iterations per run; data: /work/shared/datasets/cifar10; one seed\n"
        "- command: `resnetlab experiment x --data /work/shared/datasets/cifar10 --out /work/runs/x`\n"
        "- verdicts: a claim is **shown** when ...\n\n"
        "- A beats B: **shown** (gap +1.41 points, margin 1.14 [t(24): pooled over 4 nets, 4 df; binomial, 10,000 "
        "images]; more).\n"
    )
    page = embed(folder, "experiments/x.md", tmp_path / "docs")
    assert "/work/" not in page and "- command:" not in page and "- verdicts:" not in page
    assert "data: CIFAR-10; one seed" in page
    assert "(gap +1.41 points, margin 1.14; more)." in page
    assert "How each verdict is decided: [the rule](verdicts.md)." in page


def test_a_figure_the_page_already_shows_is_not_embedded_twice(docs_dir: Path) -> None:
    lead = "![test error against depth](../results/depth-smoke/depth.png)"
    page = expand(f"# Depth\n\n{lead}\n\n<!-- results: results/depth-smoke -->\n", "experiments/depth.md", docs_dir)
    assert page.count("](../results/depth-smoke/depth.png)") == 1 and page.index(lead) < page.index("| ResNet-20 |")
