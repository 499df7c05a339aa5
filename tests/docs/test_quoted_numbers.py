"""Every experiment error, gap and time that the hand-written prose quotes traces to committed data.

What is read: README.md and docs/**/*.md, except the generated summaries under docs/results/. Each file is cut into
blocks (a paragraph, a list item, a table row); a heading starts a new section. Fenced code blocks are commands and
what they print, not prose: their numbers are not read. Inline code, link targets and HTML comments are left out.

Which data a block names:
- a docs page with `<!-- results: results/NAME -->` markers names those folders, for every block of the page (and
  a block's own links add theirs);
- a page without markers (README.md, the theory pages) names data by links: `docs/results/NAME` or any file in it,
  or an experiment page, which stands for the folders of that page's markers. A block's own links count; a block
  without links takes those of its section (the text between two headings).

Which blocks are checked: every block that names data, every block of docs/experiments/, and every block that speaks
of resnetlab's experiment runs ("quick budget", "quick run", `--budget quick|standard|paper`, "resnetlab experiment").

What is a quoted result: a number followed by `%`, `point(s)`, `s`/`sec`/`second(s)`, `min`/`minute(s)` or
`h`/`hour(s)`. In a list or a range written at one precision ("8.75, 7.51 and 6.97%", "0.4 to 1.0 points",
"2.6-3.8 s") the earlier numbers take the unit written after the last one. Not results: numbers inside names
(ResNet-56, top-5, fp32, 1e-4), numbers without such a unit (batch 128, 1,500 iterations, LR 0.1, quality 75) and a
percentage "of" something (LR steps "at 50% and 75% of the run": a share, not an error rate).

Where it must come from, at the precision it is written with (28.1% matches 28.09; "about" allows 5%):
- `%`: a paper number (every number of ../shared/docs/paper-facts.md with a decimal point or a % sign, and the values
  of the PAPER_* tables in src/resnetlab/experiments/*.py), or a value of a named folder: a run's `test_error` or
  `final_train_error` x100 in results.json (or a label's median over seeds), or a record of a committed
  metrics.jsonl there (`train_error`, `test_error` x100; `test_top1` x100 or as the error 100 - x);
- `points`: a difference of two values of one quantity in a named results.json (two test errors, two training
  errors, or one run's test and training error), a gap or margin its claims' verdicts record ("gap +0.41 points,
  margin 1.27"), or a difference of two values of one PAPER_* table;
- a time: a `...seconds` field of a record of a committed metrics.jsonl in a named folder (a run's last record is
  its total), or the sum of the runs' totals, in the unit written.

Anything else fails, with the file, the line, the number and what was looked for. A folder that holds neither
results.json nor metrics.jsonl backs nothing; a result quoted by a block that names no folder backs nothing either.
A number whose data is not committed (a run's wall time when its metrics.jsonl is not in the repository) cannot pass:
the prose drops it or says so in words. The checker reads the working tree; CI runs it on a clean clone, where only
committed files exist.

The papers' numbers come from ../shared/docs/paper-facts.md (or $RESNETLAB_PAPER_FACTS); where that file is missing,
the check of the real prose is skipped, since every citation of [R1] and [R2] would fail. The checker's own tests
below build their site in tmp_path and need nothing outside it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.docs.quoted_numbers import PaperNumbers, Problem, check, paper_numbers

ROOT = Path(__file__).resolve().parents[2]
PAPER_FACTS = Path(os.environ.get("RESNETLAB_PAPER_FACTS", ROOT.parent / "shared" / "docs" / "paper-facts.md"))


def test_every_quoted_result_traces_to_the_papers_or_to_committed_data() -> None:
    if not PAPER_FACTS.is_file():
        pytest.skip(f"{PAPER_FACTS} is not here: without the papers' numbers every citation of them would fail")
    paper = paper_numbers(PAPER_FACTS, ROOT / "src" / "resnetlab" / "experiments")
    problems = check(ROOT, paper)
    assert not problems, "quoted numbers that no committed data backs:\n" + "\n".join(map(str, problems))


# The checker itself, on a small site in tmp_path.

PAPER = PaperNumbers(values={8.75, 7.51, 6.43}, gaps={1.24})


def _site(root: Path, pages: dict[str, str], runs: dict[str, list[dict[str, object]]]) -> Path:
    for name, rows in runs.items():
        folder = root / "docs" / "results" / name
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps({"experiment": name, "runs": rows}))
    for path, text in pages.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def _run(label: str, test: float, train: float) -> dict[str, object]:
    return {"label": label, "seed": 0, "test_error": test, "final_train_error": train, "run_dir": f"{label}-seed0"}


RUNS = {"demo-quick": [_run("A", 0.2809, 0.2914), _run("B", 0.2768, 0.2877), _run("C", 0.4841, 0.5030)]}
MARKER = "<!-- results: results/demo-quick -->\n"


def _problems(tmp_path: Path, pages: dict[str, str], runs: dict[str, list[dict[str, object]]] = RUNS) -> list[Problem]:
    return check(_site(tmp_path, pages, runs), PAPER)


def test_values_gaps_and_paper_numbers_that_trace_pass(tmp_path: Path) -> None:
    page = (
        "# Demo\n\nA ends at 28.1% test error (29.14% training error), B at 27.68%, 0.41 points below A; C at 48.4%,\n"
        "20.7 points behind B. [R1] has 8.75, 7.51 and 6.43% after 64k iterations.\n\n" + MARKER
    )
    assert _problems(tmp_path, {"docs/experiments/demo.md": page}) == []


def test_a_stale_number_fails_with_file_line_and_what_was_looked_for(tmp_path: Path) -> None:
    page = "# Demo\n\nA ends at 28.1% test error,\nB at 27.9%.\n\n" + MARKER
    [problem] = _problems(tmp_path, {"docs/experiments/demo.md": page})
    assert (problem.file, problem.line, problem.text) == ("docs/experiments/demo.md", 4, "27.9%")
    assert "docs/results/demo-quick" in problem.why and "test_error" in problem.why
    assert "docs/experiments/demo.md:4: '27.9%'" in str(problem)


def test_a_gap_must_be_a_difference_of_two_values_of_one_quantity(tmp_path: Path) -> None:
    page = "# Demo\n\nB is below A by 0.4 to 2.0 points.\n\n" + MARKER  # 0.41 traces, 2.0 does not
    [problem] = _problems(tmp_path, {"docs/experiments/demo.md": page})
    assert problem.text == "2.0 points" and "difference" in problem.why


def test_a_margin_that_a_claim_of_results_json_records_traces(tmp_path: Path) -> None:
    page = "# Demo\n\nB is 0.41 points below A, within the 1.27 points of two standard errors; not 1.30 points.\n\n"
    _site(tmp_path, {"docs/experiments/demo.md": page + MARKER}, RUNS)
    results = tmp_path / "docs/results/demo-quick/results.json"
    committed = json.loads(results.read_text())
    committed["claims"] = [{"claim": "B is better than A", "detail": "gap +0.41 points, margin 1.27 [binomial]"}]
    results.write_text(json.dumps(committed))
    assert [p.text for p in check(tmp_path, PAPER)] == ["1.30 points"]


def test_the_earlier_numbers_of_a_list_take_its_unit(tmp_path: Path) -> None:
    page = "# Demo\n\nTest errors 28.09, 27.68, 48.40 and 48.41%.\n\n" + MARKER  # 48.40 is stale
    [problem] = _problems(tmp_path, {"docs/experiments/demo.md": page})
    assert problem.text.startswith("48.40 (percent")


def test_a_result_in_a_paragraph_that_names_no_data_fails(tmp_path: Path) -> None:
    page = "# Notes\n\nOur quick run ends at 28.1% test error.\n"  # true of demo-quick, but the page does not say so
    [problem] = _problems(tmp_path, {"docs/theory/notes.md": page})
    assert problem.text == "28.1%" and "names no results folder" in problem.why


def test_a_number_of_a_folder_the_page_does_not_name_fails(tmp_path: Path) -> None:
    runs = {**RUNS, "other-quick": [_run("D", 0.4655, 0.4883)]}
    page = "# Demo\n\nA ends at 28.1%, D at 46.6%.\n\n" + MARKER
    [problem] = _problems(tmp_path, {"docs/experiments/demo.md": page}, runs)
    assert problem.text == "46.6%" and "demo-quick" in problem.why and "other-quick" not in problem.why


def test_a_time_needs_a_committed_metrics_log(tmp_path: Path) -> None:
    page = "# Demo\n\nThe three nets took 9 minutes, from 158 s for A to 200 s for C.\n\n" + MARKER
    problems = _problems(tmp_path, {"docs/experiments/demo.md": page})
    assert [p.text for p in problems] == ["9 minutes", "158 s", "200 s"]
    assert all("no metrics.jsonl is committed" in p.why for p in problems)

    for label, seconds in (("A", 158.2), ("B", 180.0), ("C", 199.6)):
        run = tmp_path / "docs/results/demo-quick" / f"{label}-seed0"
        run.mkdir()
        records = [{"kind": "epoch", "epoch": 1, "seconds": seconds - 1}, {"kind": "final", "seconds": seconds}]
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert check(tmp_path, PAPER) == []  # 158 s, 200 s and the 537.8 s of all three (9 minutes) are in the logs


def test_a_time_an_experiment_records_in_results_json_traces(tmp_path: Path) -> None:
    page = "# Demo\n\nMeasuring the surfaces took 27 min.\n\n" + MARKER
    site = _site(tmp_path, {"docs/experiments/demo.md": page}, RUNS)
    results = site / "docs/results/demo-quick/results.json"
    recorded = json.loads(results.read_text())
    results.write_text(json.dumps({**recorded, "landscape": {"measuring_seconds": 1650.0}}))
    assert check(site, PAPER) == []  # 1,650 s reads as 27 min
    results.write_text(json.dumps({**recorded, "landscape": {"measuring_seconds": 1000.0}}))
    assert [p.text for p in check(site, PAPER)] == ["27 min"]


def test_readme_names_data_by_links_in_the_paragraph_or_its_section(tmp_path: Path) -> None:
    readme = (
        "# demo\n\n## Experiments\n\n| command | page |\n|---|---|\n| demo | [docs](docs/experiments/demo.md) |\n\n"
        "A ends at 28.1% and B at 27.7%.\n\n"
        "## Digits\n\nThe digits run reaches 99.44% (no link in this section, no experiment run spoken of).\n\n"
        "## Elsewhere\n\nSee [the page](docs/experiments/demo.md): C ends at 47.0%.\n"
    )
    pages = {"README.md": readme, "docs/experiments/demo.md": "# Demo\n\n" + MARKER}
    [problem] = _problems(tmp_path, pages)
    assert (problem.file, problem.line, problem.text) == ("README.md", 17, "47.0%")


def test_config_numbers_and_code_are_not_results(tmp_path: Path) -> None:
    page = (
        "# Demo\n\nBatch 128, LR 0.1 divided by 10 at 50% and 75% of the run, 1,500 iterations, 20% of each class\n"
        "held out, JPEG quality 75, ResNet-56, top-5, 1e-4, `--epochs 30 in 14 s`.\n\n"
        "```text\ntest accuracy 99.44% in 14 s\n```\n\n" + MARKER
    )
    assert _problems(tmp_path, {"docs/experiments/demo.md": page}) == []


def test_a_named_folder_without_data_backs_nothing(tmp_path: Path) -> None:
    (tmp_path / "docs/results/figures-only").mkdir(parents=True)
    page = "# Demo\n\n![a figure](../results/figures-only/plot.png)\n\nThe run ends at 36.67%.\n"
    [problem] = _problems(tmp_path, {"docs/theory/demo.md": page}, {})
    assert problem.text == "36.67%" and "figures-only" in problem.why
