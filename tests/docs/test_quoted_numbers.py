"""Every number the hand-written prose quotes from resnetlab's runs is bound to the committed data it comes from, and
reads exactly as that data.

Bindings. A number is bound by an HTML comment written right after it (no space needed; invisible on GitHub and on
the site):

    17.14%<!-- = degradation-standard runs[label=ResNet-20].test_error median *100 -->
    **shown**<!-- = degradation-standard claims[1].verdict -->
    1.41 points<!-- = degradation-standard claims[1].comparisons[name=20 against 56].gap *100 -->
    2,146 s<!-- = gradients-quick/ResNet-56-seed0/metrics.jsonl [-1].seconds -->
    1.09x<!-- = benchmarks/inference-peers.json rows[case=resnet50,variant=int8].ratio -->
    1.2 points<!-- = depth-quick runs[depth=20].test_error *100 - depth-quick runs[depth=56].test_error *100 -->

The comment is `<!-- = TERM -->`, `<!-- = TERM - TERM -->` (a difference) or `<!-- = TERM / TERM -->` (a ratio), and a
TERM is `SOURCE SELECTOR [AGG] [*N | /N]`:
- SOURCE: a path under docs/results/ (tried first) or under docs/ (benchmarks/x.json). A folder stands for its
  results.json. A .json file is read as it is, a .jsonl file as the list of its records (blank lines skipped).
- SELECTOR: keys joined by dots (`peaks_flops.fp32`); `[key=value,key=value]` keeps the items of a list whose fields
  equal those values, compared as text of the JSON value (`[seed=0]`, `[diverged=true]`, `[label=ResNet-20]`);
  `[N]` and `[-1]` index a list; a key applied to a list maps over it (`runs.test_error`: every run's). A selector may
  start with `[` to apply to the whole file (`[-1].wall_seconds` of a metrics.jsonl).
- AGG: mean, median, min, max or sum of numbers, count of items, first or last item. It reduces everything the
  selector gives (nested lists flattened). Without AGG the selector must give exactly one value: "binding gives 2
  values; add mean/median/..." otherwise. A filter must match at least one item, so a count is never 0.
- `*N` or `/N` scales the term: `*100` for a fraction quoted as a percentage, `/60` for seconds quoted in minutes.

What is compared. A number: the one written right before the comment, with its sign, thousands commas and decimals;
one unit word may stand between it and the comment (%, points, s, min, h, x, GFLOP/s), and emphasis around either.
The value rounded to the decimals written must be the number written, exactly: 17.1% and 17.14% bind 0.17138 *100,
17.2% does not; "+1.41" needs the value +1.41 and says so with its sign, "1.41" needs it positive. Text (a claim's
verdict): where the prose before the comment ends in an emphasis or code span (`**not shown**`), the span must be the
text; otherwise the prose must end with it as a whole word. A binding that cannot be evaluated (no such file or key,
a filter that matches nothing, several values without AGG, null or NaN, a number where text is expected) fails with
its file, line and a one-line reason. Bindings are checked wherever they stand: any block of any page, README.md
included, and numbers without a unit too (ratios, curvatures, response sizes).

What must be bound. README.md and docs/**/*.md are read, except the generated summaries under docs/results/. Each
page is cut into blocks (a paragraph, a list item, a table row); a heading starts a new section. Fenced code blocks
are commands and what they print: not read, bindings in them included. Inline code and link targets are left out. A
block speaks of resnetlab's runs when its page has `<!-- results: results/NAME -->` markers or lies in
docs/experiments/; when it, or on a page without markers its section, links docs/results/NAME (or a file in it) or
an experiment page; or when it talks of experiment runs ("quick budget", "quick run", `--budget quick|standard|paper`,
"resnetlab experiment"). In such a block every quoted result must be bound: a number followed by `%`, `point(s)`,
`s`/`sec`/`second(s)`, `min`/`minute(s)`, `h`/`hour(s)`, or a ratio written `1.09x`. In a list or a range written at
one precision ("8.75, 7.51 and 6.97%", "0.4 to 1.0 points") the earlier numbers take the unit of the last, so each
needs its own binding. The one exception is a paper number, which needs none: a `%` that reads, at its precision, as
a number of ../shared/docs/paper-facts.md (one with a decimal point or a % sign) or a value of a PAPER_* table of
src/resnetlab/experiments/*.py, or `points` that read as a difference of two values of one PAPER_* table. Not
results: numbers inside names (ResNet-56, top-5, fp32, 1e-4), numbers without such a unit (batch 128, LR 0.1) and a
percentage "of" something (LR steps "at 50% and 75% of the run").

The checker reads the working tree; CI runs it on a clean clone, where only committed files exist, so a number whose
data is not committed cannot be bound: the prose drops it or says it in words. Check some pages by hand with
`.venv/bin/python -m tests.docs.quoted_numbers docs/experiments/degradation.md README.md`.

The papers' numbers come from ../shared/docs/paper-facts.md (or $RESNETLAB_PAPER_FACTS): the check of the real prose
fails without that file. The mutation test changes one digit of every bound number of the real prose, in a copy, and
requires the check to catch each. The checker's own tests build their site in tmp_path and need nothing outside it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.docs.quoted_numbers import (
    Bound,
    PaperNumbers,
    Problem,
    Sources,
    bindings,
    check,
    check_block,
    default_paper_facts,
    paper_numbers,
    prose_pages,
    read_page,
)

ROOT = Path(__file__).resolve().parents[2]
PAPER_FACTS = default_paper_facts(ROOT)
# The real prose binds its numbers; so few bound numbers would mean the mutation test checks next to nothing.
MIN_BOUND_NUMBERS = 20


def test_every_result_the_real_prose_quotes_is_bound_and_reads_as_its_data() -> None:
    assert PAPER_FACTS.is_file(), (
        f"{PAPER_FACTS} is missing: without the papers' numbers every citation of [R1] and [R2] reads as an unbound "
        "result; check out ../shared beside this repository or point $RESNETLAB_PAPER_FACTS at paper-facts.md"
    )
    paper = paper_numbers(PAPER_FACTS, ROOT / "src" / "resnetlab" / "experiments")
    problems = check(ROOT, paper)
    assert not problems, "quoted numbers not bound, or not as their data reads:\n" + "\n".join(map(str, problems))


def _bound_numbers(root: Path) -> list[tuple[Path, Bound]]:
    return [
        (page, bound)
        for page in prose_pages(root)
        for page_block in read_page(root, page)
        for bound in bindings(page_block.file, page_block.block)
        if bound.number is not None
    ]


def _one_digit_changed(text: str, at: int) -> str:
    return text[:at] + str((int(text[at]) + 1) % 10) + text[at + 1 :]


def test_changing_any_digit_of_a_bound_number_of_the_real_prose_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_bytes((ROOT / "README.md").read_bytes())
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    sources, no_paper = Sources(tmp_path / "docs"), PaperNumbers()  # a bound number is checked against data only
    bound_numbers = _bound_numbers(tmp_path)
    assert len(bound_numbers) > MIN_BOUND_NUMBERS, f"only {len(bound_numbers)} bound numbers in README.md and docs/"
    missed = []
    for page, bound in bound_numbers:
        assert bound.number is not None
        text = page.read_text(encoding="utf-8")
        # Only the block of the changed number is checked: hundreds of changes stay fast.
        before = next(b for b in read_page(tmp_path, page) if b.block.offset == bound.block_offset)
        after = next(
            b
            for b in read_page(tmp_path, page, _one_digit_changed(text, bound.block_offset + bound.number.end - 1))
            if b.block.offset == bound.block_offset
        )
        known = set(check_block(before, sources, no_paper))
        caught = [p for p in check_block(after, sources, no_paper) if p.line == bound.line and p not in known]
        if not caught:
            missed.append(f"{bound.file}:{bound.line}: {bound.number.text!r} changed in one digit still passes")
    assert not missed, "\n".join(missed)


# The checker itself, on a small site in tmp_path.

PAPER = PaperNumbers(values={8.75, 7.51, 6.43}, gaps={1.24})
NO_PAPER = PaperNumbers()
MARKER = "\n\n<!-- results: results/demo-quick -->\n"


def _run(label: str, seed: int, test: float, train: float) -> dict[str, object]:
    return {"label": label, "seed": seed, "test_error": test, "final_train_error": train, "run_dir": f"{label}-{seed}"}


RESULTS = {
    "experiment": "demo",
    "claims": [
        {"claim": "B beats A", "verdict": "shown", "gap": 0.0141},
        {"claim": "C beats B", "verdict": "not shown", "gap": -0.0032},
    ],
    "runs": [
        _run("A", 0, 0.1720, 0.1801),
        _run("A", 1, 0.1708, 0.1795),
        _run("B", 0, 0.1580, 0.1602),
        _run("B", 1, 0.1566, 0.1588),
        {"label": "C", "seed": 0, "test_error": None, "diverged": True},
    ],
    "landscape": {"curvature": 0.5213, "measuring_seconds": 1650.0},
}
METRICS = [{"kind": "iteration", "wall_seconds": 10.6}, {"kind": "iteration", "wall_seconds": 2100.2}]
PEERS = {"rows": [{"case": "resnet50", "variant": "int8", "ratio": 1.0912}, {"case": "resnet50", "variant": "fp32"}]}


def _site(root: Path, pages: dict[str, str]) -> Path:
    results = root / "docs/results/demo-quick"
    (results / "A-seed0").mkdir(parents=True)
    (results / "results.json").write_text(json.dumps(RESULTS))
    log = "\n".join(json.dumps(r) for r in METRICS) + "\n\n" + json.dumps({"kind": "final", "wall_seconds": 2146.3})
    (results / "A-seed0/metrics.jsonl").write_text(log + "\n")
    (root / "docs/benchmarks").mkdir()
    (root / "docs/benchmarks/peers.json").write_text(json.dumps(PEERS))
    for path, text in pages.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def _problems(tmp_path: Path, pages: dict[str, str], paper: PaperNumbers = NO_PAPER) -> list[Problem]:
    return check(_site(tmp_path, pages), paper)


def _experiment_page(tmp_path: Path, prose: str, paper: PaperNumbers = NO_PAPER) -> list[Problem]:
    return _problems(tmp_path, {"docs/experiments/demo.md": "# Demo\n\n" + prose + MARKER}, paper)


@pytest.mark.parametrize(
    ("written", "binding"),
    [
        ("17.14%", "demo-quick runs[label=A].test_error mean *100"),
        ("17.14%", "demo-quick runs[label=A].test_error median *100"),
        ("17.20%", "demo-quick runs[label=A,seed=0].test_error *100"),
        ("17.08%", "demo-quick runs[label=A].test_error min *100"),
        ("17.95%", "demo-quick runs[seed=1].final_train_error max *100"),
        (
            "1.41 points",
            "demo-quick runs[label=A].test_error mean *100 - demo-quick runs[label=B].test_error mean *100",
        ),
        ("+1.41 points", "demo-quick claims[0].gap *100"),
        ("-0.32 points", "demo-quick claims[1].gap *100"),
        ("1.09x", "benchmarks/peers.json rows[case=resnet50,variant=int8].ratio"),
        ("1.0912", "benchmarks/peers.json rows[variant=int8].ratio first"),
        ("2,146 s", "demo-quick/A-seed0/metrics.jsonl [-1].wall_seconds"),
        ("36 min", "demo-quick/A-seed0/metrics.jsonl [kind=final].wall_seconds /60"),
        ("2,110.8 s", "demo-quick/A-seed0/metrics.jsonl [kind=iteration].wall_seconds sum"),
        ("27.5 min", "demo-quick landscape.measuring_seconds / 60"),
        ("5 runs", "demo-quick runs count"),
        ("1 claim", "demo-quick claims[verdict=shown] count"),
        ("0.52", "demo-quick landscape.curvature"),
        ("1.09", "demo-quick runs[label=A].test_error mean / demo-quick runs[label=B].test_error mean"),
    ],
)
def test_a_number_that_reads_as_its_binding_passes(tmp_path: Path, written: str, binding: str) -> None:
    problems = _experiment_page(tmp_path, f"The run gives {written}<!-- = {binding} -->, as bound.")
    assert problems == []


def test_a_number_is_compared_at_the_precision_written(tmp_path: Path) -> None:
    binding = "<!-- = demo-quick runs[label=A].test_error mean *100 -->"
    prose = "; ".join(f"{n}%{binding}" for n in ("17", "17.1", "17.14", "17.140", "17.2", "17.13", "17.15"))
    problems = _experiment_page(tmp_path, f"A ends at {prose}.")
    assert [p.text for p in problems] == ["17.2%", "17.13%", "17.15%"]
    assert "reads 17.14 at the 2 decimal(s) written, not 17.13" in problems[1].why


def test_a_wrong_number_fails_with_file_line_and_what_its_data_reads(tmp_path: Path) -> None:
    prose = "A ends at 17.14%<!-- = demo-quick runs[label=A].test_error mean *100 -->,\nB at 15.37%"
    [problem] = _experiment_page(tmp_path, prose + "<!-- = demo-quick runs[label=B].test_error mean *100 -->.")
    assert (problem.file, problem.line, problem.text) == ("docs/experiments/demo.md", 4, "15.37%")
    assert "reads 15.73" in problem.why and str(problem).startswith("docs/experiments/demo.md:4: '15.37%'")


def test_a_sign_written_or_not_is_part_of_the_number(tmp_path: Path) -> None:
    gap = "demo-quick claims[1].gap *100"  # -0.32
    problems = _experiment_page(tmp_path, f"C trails by 0.32 points<!-- = {gap} -->, +0.32 points<!-- = {gap} -->.")
    assert [p.text for p in problems] == ["0.32 points", "+0.32 points"]


@pytest.mark.parametrize(
    ("prose", "passes"),
    [
        ("B beats A: **shown**<!-- = demo-quick claims[0].verdict -->.", True),
        ("B beats A: it is shown<!-- = demo-quick claims[0].verdict -->.", True),
        ("C beats B: *not shown*<!-- = demo-quick claims[1].verdict -->.", True),
        ("C beats B: **shown**<!-- = demo-quick claims[1].verdict -->.", False),
        ("B beats A: **not shown**<!-- = demo-quick claims[0].verdict -->.", False),  # not a mere suffix
        ("B beats A: unshown<!-- = demo-quick claims[0].verdict -->.", False),
        ("A is `A`<!-- = demo-quick runs[0].label -->.", True),
    ],
)
def test_a_text_binding_must_be_the_text_before_it(tmp_path: Path, prose: str, passes: bool) -> None:
    assert (_experiment_page(tmp_path, prose) == []) is passes


@pytest.mark.parametrize(
    ("binding", "why"),
    [
        ("demo-slow runs[0].test_error", "no file 'demo-slow' under docs/results/ or docs/"),
        ("demo-quick runs[0].tst_error", "no key 'tst_error' in runs[0] (keys: label, seed, test_error"),
        ("demo-quick runs[label=D].test_error", "[label=D] matches none of the 5 items of runs"),
        ("demo-quick runs[label=A].test_error *100", "binding gives 2 values; add mean/median/"),
        ("demo-quick runs[label=C].test_error *100", "runs[label=C].test_error is null"),
        ("demo-quick runs[9].seed", "[9] is out of range: runs has 5 items"),
        ("demo-quick landscape", "landscape is an object; select one of its keys (curvature, measuring_seconds)"),
        ("demo-quick claims[0].verdict *100", "it cannot be scaled"),
        ("demo-quick runs.test_error mean", "not a number or text"),
        ("demo-quick", "is not SOURCE SELECTOR"),
        ("demo-quick runs..seed", "cannot read selector"),
        ("../README.md x", "must be a path under docs/results/ or docs/"),
    ],
)
def test_a_binding_that_cannot_be_evaluated_fails_with_its_reason(tmp_path: Path, binding: str, why: str) -> None:
    [problem] = _experiment_page(tmp_path, f"A ends at 17.14%<!-- = {binding} -->.")
    assert (problem.line, problem.text) == (3, "17.14%")
    assert why in problem.why and "\n" not in problem.why


def test_nan_in_the_data_fails(tmp_path: Path) -> None:
    site = _site(tmp_path, {"docs/experiments/demo.md": "# Demo\n\nA: 17.14%<!-- = demo-quick x *100 -->." + MARKER})
    (site / "docs/results/demo-quick/results.json").write_text('{"x": NaN}')
    [problem] = check(site, NO_PAPER)
    assert "is nan" in problem.why


def test_a_binding_needs_a_number_right_before_it(tmp_path: Path) -> None:
    problems = _experiment_page(tmp_path, "A ends at 17.14% test error<!-- = demo-quick runs[0].test_error *100 -->.")
    assert sorted((p.text, p.why[:40]) for p in problems) == [
        ("17.14%", "not bound: add <!-- = SOURCE SELECTOR [A"),
        ("17.14% test error", "binding 'demo-quick runs[0].test_error *"),
    ]
    assert any(p.why.endswith("gives 17.2, but no number stands right before it") for p in problems)


def test_an_unbound_result_in_a_run_speaking_block_fails(tmp_path: Path) -> None:
    prose = "A ends at 17.14% after 2,146 s, 1.09x the time of B, 1.41 points behind; 1,500 iterations."
    problems = _experiment_page(tmp_path, prose)
    assert [p.text for p in problems] == ["17.14%", "2,146 s", "1.09x", "1.41 points"]
    assert problems[0].why.startswith("not bound: add <!-- = SOURCE SELECTOR") and "demo-quick" in problems[0].why


def test_a_paper_number_needs_no_binding(tmp_path: Path) -> None:
    prose = "[R1] has 8.75, 7.51 and 6.43% after 64k iterations (6.4%), 1.24 points apart; not 6.44% or 1.3 points."
    problems = _experiment_page(tmp_path, prose, PAPER)
    assert [p.text for p in problems] == ["6.44%", "1.3 points"]


def test_each_number_of_a_list_needs_its_binding(tmp_path: Path) -> None:
    a, b = "demo-quick runs[label=A].test_error mean *100", "demo-quick runs[label=B].test_error mean *100"
    problems = _experiment_page(tmp_path, f"Test errors 17.14<!-- = {a} -->, 15.73, 17.14 and 15.73%<!-- = {b} -->.")
    assert [p.text for p in problems] == [
        "15.73 (percent, from the end of its list)",
        "17.14 (percent, from the end of its list)",
    ]


def test_readme_speaks_of_runs_by_links_in_the_paragraph_or_its_section(tmp_path: Path) -> None:
    readme = (
        "# demo\n\n## Experiments\n\n| command | page |\n|---|---|\n| demo | [docs](docs/experiments/demo.md) |\n\n"
        "A ends at 17.14%.\n\n"
        "## Digits\n\nThe digits example reaches 99.44% (no link in this section, no experiment run spoken of).\n\n"
        "## Results\n\nSee [the data](docs/results/demo-quick/summary.md): B ends at 15.73%.\n"
    )
    problems = _problems(tmp_path, {"README.md": readme, "docs/experiments/demo.md": "# Demo" + MARKER})
    assert [(p.file, p.line, p.text) for p in problems] == [("README.md", 9, "17.14%"), ("README.md", 17, "15.73%")]


def test_a_binding_is_checked_on_any_page_even_without_a_unit(tmp_path: Path) -> None:
    readme = "# demo\n\nThe surface's curvature is 0.53<!-- = demo-quick landscape.curvature -->; 99.44% on digits.\n"
    [problem] = _problems(tmp_path, {"README.md": readme})
    assert (problem.file, problem.line, problem.text) == ("README.md", 3, "0.53")


def test_a_binding_that_starts_a_line_binds_the_end_of_the_line_above(tmp_path: Path) -> None:
    prose = "A ends at 17.14%\n<!-- = demo-quick runs[label=A].test_error mean *100 -->\nand B at 15.73%\n"
    problems = _experiment_page(tmp_path, prose + "<!-- = demo-quick runs[label=A].test_error mean *100 -->.")
    assert [(p.line, p.text) for p in problems] == [(5, "15.73%")]


def test_code_blocks_shares_and_config_numbers_are_not_results(tmp_path: Path) -> None:
    prose = (
        "Batch 128, LR 0.1 divided by 10 at 50% and 75% of the run, 1,500 iterations, 20% of each class held out,\n"
        "JPEG quality 75, ResNet-56, top-5, 1e-4, 3x3 convolutions, `--epochs 30 in 14 s`.\n\n"
        "```text\ntest accuracy 99.44% in 14 s<!-- = no-such-folder x -->\n```"
    )
    assert _experiment_page(tmp_path, prose) == []
