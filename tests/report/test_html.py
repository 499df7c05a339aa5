from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from resnetlab.cli import main
from resnetlab.config import load_config
from resnetlab.errors import UserInputError
from resnetlab.report import build_report
from resnetlab.train.loop import train
from tests.helpers.browser import chromium


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory, depth_smoke: Path) -> tuple[Path, Path]:
    """A finished smoke experiment (the session's depth smoke run, tests/conftest.py; the reports are written
    elsewhere, so it is read, not changed) and a finished single run, as the commands write them."""
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESNETLAB_CACHE", str(root / "cache"))
        config = load_config(None, ["schedule.unit=iteration", "schedule.length=4", "data.batch_size=32"])
        train(config, out=root / "run", show_progress=False)
    return depth_smoke, root / "run"


def test_the_page_stands_alone_with_tables_figures_configs_and_environment(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    experiment, single = folders
    page = build_report([experiment, single], tmp_path / "report.html", title="two folders").read_text()
    assert "<title>two folders</title>" in page
    assert "<h1>Depth: CIFAR-10 ResNets of 20 to 110 layers ([R1] Table 6)</h1>" in page  # the summary, rendered
    assert "<td>ResNet-20</td>" in page and "<td>8.75%</td>" in page  # its markdown table became an HTML table
    assert 'src="depth.png"' not in page and page.count('src="data:image/png;base64,') == 3  # depth.png, error, loss
    assert "<summary>config of ResNet-32-seed0</summary>" in page and "<summary>environment</summary>" in page
    assert f"<h2>Run {single.name}</h2>" in page and "Test accuracy <b>" in page


def test_an_existing_report_is_replaced_but_no_other_file(folders: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    build_report([folders[1]], out)
    build_report([folders[0]], out)  # a page this command wrote: replaced
    assert "Depth:" in out.read_text()
    notes = tmp_path / "notes.html"
    notes.write_text("<p>my notes</p>")
    with pytest.raises(UserInputError, match="exists and is not a resnetlab report; choose another --out"):
        build_report([folders[0]], notes)
    assert notes.read_text() == "<p>my notes</p>"


def test_a_folder_that_is_neither_run_nor_experiment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"is neither a run directory .* nor a finished experiment"):
        build_report([tmp_path], tmp_path / "report.html")


def test_cli_writes_the_report(folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.html"
    assert main(["report", str(folders[0]), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out}"


def test_the_page_renders_in_headless_chromium_with_every_figure_and_no_console_error(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    executable = chromium()
    out = build_report(list(folders), tmp_path / "report.html")
    browser = subprocess.run(
        [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            out.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert browser.returncode == 0, browser.stderr[-2000:]
    assert "<h1>resnetlab report</h1>" in browser.stdout  # the DOM after the page loaded
    figures = re.search(r'data-figures="(\d+)/(\d+)"', browser.stdout)  # set by the page's own load check
    assert figures is not None and figures.group(1) == figures.group(2) == "3"
    assert ":CONSOLE" not in browser.stderr  # nothing logged to the console: no script error, no warning
