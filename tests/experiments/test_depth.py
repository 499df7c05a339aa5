"""The depth experiment ([R1] Table 6): its smoke run, the warm-up of 110 layers, its summary at the standard budget
beside the selection set, its figure."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from resnetlab.experiments import depth, resummarize
from resnetlab.experiments.verdict import Spread
from tests.helpers.figures import assert_house_style, kept

pytestmark = pytest.mark.usefixtures("private_cache")


def test_depth_smoke_sets_each_depth_beside_the_paper(depth_smoke: Path) -> None:
    summary = (depth_smoke / "summary.md").read_text()  # run("depth", budget="smoke"), shared: tests/conftest.py
    # 1-channel digits: 288 fewer parameters than RGB; no selection set below the standard budget
    assert "| ResNet-20 | this run | 0 | " in summary and "| 269,434 |" in summary and "| 8.75% |" in summary
    assert "| ResNet-32 | this run | 0 | " in summary and "| 463,866 |" in summary and "| 7.51% |" in summary
    assert "selection" not in summary
    assert "- Test error falls as depth grows (to 110 layers): **" in summary
    assert "20 against 32:" in summary  # the endpoints decide; with only two depths, 32 is the deepest


def test_the_quick_budget_gives_110_layers_the_papers_warm_up(tmp_path: Path) -> None:
    from resnetlab.experiments import depth, identity_mappings, responses
    from resnetlab.experiments.budget import recipe
    from resnetlab.experiments.runner import PlannedRun, run_config

    for experiment in (depth, responses, identity_mappings):
        for planned in experiment.plan("quick") + experiment.plan("paper"):
            assert planned.warm_up == (planned.depth >= 110), (experiment.__name__, planned.label)
    shared = recipe("smoke", None)
    for warm_up in (False, True):
        schedule = run_config(shared, PlannedRun("ResNet-110", "cifar_resnet110", "ResNet", 110, warm_up), 0).schedule
        assert (schedule.warmup_lr, schedule.warmup_until_error) == ((0.01, 0.8) if warm_up else (None, None))


def _rows(labels: dict[str, list[float]], seeds: tuple[int, ...], precision: str | None) -> list[dict[str, object]]:
    return [
        {
            "label": label,
            "model": f"cifar_resnet{label.removeprefix('ResNet-')}",
            "group": "ResNet",
            "depth": int(label.removeprefix("ResNet-")),
            "seed": seed,
            "final_train_error": error + 0.01,
            "test_error": error,
            "test_top5": 0.99,
            "test_images": 10_000,
            "final_train_images": 50_048,
            "diverged": None,
            "run_dir": f"{label}-seed{seed}",
            **({"precision": precision} if precision else {}),
        }
        for label, errors in labels.items()
        for seed, error in zip(seeds, errors, strict=True)
    ]


def _results(folder: Path, name: str, runs: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True)
    document = {"experiment": name, "budget": "standard", "data": None, "seeds": 2, "command": "c", "runs": runs}
    (folder / "results.json").write_text(json.dumps(document))


def test_depth_at_the_standard_budget_decides_on_the_confirmation_set_beside_the_selection_set(tmp_path: Path) -> None:
    """The runs that chose the budget (degradation-standard's seeds 0-1) stand beside the held-out seeds, each row with
    its set, seeds and precision; the claim is the confirmation set's alone."""
    selection = _rows({"ResNet-20": [0.1711, 0.1717], "ResNet-56": [0.1604, 0.1542]}, (0, 1), None)
    _results(tmp_path / "degradation-standard", "degradation", selection)
    for row in selection:
        run = tmp_path / "degradation-standard" / str(row["run_dir"])
        run.mkdir()
        (run / "config.yaml").write_text("runtime:\n  precision: bf16\n")
    held_out = {"ResNet-20": [0.170, 0.172], "ResNet-56": [0.168, 0.171], "ResNet-110": [0.1695, 0.1705]}
    _results(tmp_path / "depth-standard", "depth", _rows(held_out, (2, 3), "fp32"))
    summary = resummarize(tmp_path / "depth-standard").read_text()
    assert "| ResNet-20 | selection (chose the budget) | 0, 1 | bf16 |" in summary
    assert "| ResNet-110 | confirmation (held out) | 2, 3 | fp32 |" in summary
    assert "- precision: mixed, bf16 and fp32" not in summary  # the confirmation runs are all fp32
    claim = "- Test error falls as depth grows (to 110 layers) on the held-out confirmation set"
    assert f"{claim} (the selection set above chose the budget): **within noise**" in summary
    assert "Beside it, not a claim: the selection set (bf16, seeds 0, 1)" in summary
    results = json.loads((tmp_path / "depth-standard" / "results.json").read_text())
    assert len(results["claims"]) == 1 and results["selection"]["source"] == "degradation-standard"
    assert [c["name"] for c in results["claims"][0]["comparisons"]] == ["20 against 56", "20 against 110"]
    # Summarised again, the selection comes from results.json itself (the folder beside it may be gone).
    (tmp_path / "degradation-standard" / "results.json").unlink()
    for _ in range(2):  # and stays recorded there, however often
        assert resummarize(tmp_path / "depth-standard").read_text() == summary
        assert (
            json.loads((tmp_path / "depth-standard" / "results.json").read_text())["selection"] == results["selection"]
        )


def test_the_depth_figure_is_drawn_in_the_site_style(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = kept(monkeypatch, depth)
    error = {d: Spread((0.1 - d / 2000, 0.11 - d / 2000)) for d in (20, 32, 44, 56, 110)}
    depth._figure(list(error), error, tmp_path / "depth.png")
    (figure,) = drawn
    assert_house_style(figure)
    assert figure.legends[0].get_texts()[0].get_text() == "this run (median, seed range)"
    plt.close(figure)
