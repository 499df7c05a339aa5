import dataclasses
from pathlib import Path

import pytest
import yaml

from resnetlab.config import load_recipe
from resnetlab.errors import UserInputError
from resnetlab.experiments import BUDGETS, depth
from resnetlab.experiments.budget import QUICK_WARMUP_ITERATIONS, RECIPES, Budget, iterations, recipe, warm_up
from resnetlab.experiments.runner import PlannedRun, run_experiment
from resnetlab.experiments.summary import Context
from resnetlab.train.schedule import learning_rate
from tests.data.fakes import make_tree


def _cifar_like_folder(root: Path) -> Path:
    for split in ("train", "test"):
        (root / split / "cat").mkdir(parents=True)
    return root


def test_the_quick_budget_ramps_the_lr_up_over_its_first_iterations(tmp_path: Path) -> None:
    data = _cifar_like_folder(tmp_path / "cifar")
    config = recipe("quick", str(data))
    rates = [learning_rate(config.schedule, config.optim.lr, i, 1) for i in range(QUICK_WARMUP_ITERATIONS + 1)]
    assert rates[0] == pytest.approx(config.optim.lr / QUICK_WARMUP_ITERATIONS)
    assert rates == sorted(rates)
    assert rates[-1] == config.optim.lr == 0.1
    # The paper's recipe starts at its LR: [R1] Sec. 4.2 warms up only ResNet-110 (and only at 0.01).
    paper = recipe("paper", str(data))
    assert learning_rate(paper.schedule, paper.optim.lr, 0, 1) == 0.1


def test_the_quick_and_paper_budgets_need_cifar(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="--data"):
        recipe("quick", None)
    with pytest.raises(UserInputError, match="does not exist"):
        recipe("paper", str(tmp_path / "missing"))


@pytest.mark.parametrize("budget", BUDGETS)
def test_a_budget_is_its_shipped_recipe_with_its_own_length_and_data(budget: Budget, tmp_path: Path) -> None:
    data = None if budget == "smoke" else _cifar_like_folder(tmp_path / "cifar")
    config = recipe(budget, None if data is None else str(data))
    start = load_recipe(RECIPES[budget])
    assert config.model == start.model and config.optim == start.optim
    assert config.schedule.length == iterations(budget)
    steps = [m * iterations(budget) // start.schedule.length for m in start.schedule.milestones]
    assert config.schedule.milestones == steps  # the LR steps at the recipe's fractions of the run
    if data is None:
        assert (config.data.dataset, config.data.path) == ("digits", None)
    else:
        assert config.data == dataclasses.replace(start.data, path=str(data.resolve()), dataset="folder")


def test_a_length_moves_the_lr_steps_with_it(tmp_path: Path) -> None:
    data = str(_cifar_like_folder(tmp_path / "cifar"))
    assert recipe("quick", data, length=3000).schedule.milestones == [1500, 2250]
    assert recipe("paper", data).schedule.milestones == [32000, 48000]  # [R1] Sec. 4.2, as the recipe says
    assert recipe("standard", data, length=391).schedule.length == 391


def test_the_standard_budget_is_one_cycle_to_zero_with_nesterov(tmp_path: Path) -> None:
    config = recipe("standard", str(_cifar_like_folder(tmp_path / "cifar")))
    length = iterations("standard")
    assert config.schedule.length == length == 8 * 391 and config.schedule.unit == "iteration"
    assert config.optim.nesterov and config.optim.weight_decay == 0.0005 and config.data.normalize == "pixel_mean"
    rates = [learning_rate(config.schedule, config.optim.lr, i, 391) for i in range(length)]
    peak = rates.index(max(rates))
    assert rates[0] == pytest.approx(0.2 / 25) and max(rates) == pytest.approx(0.2, rel=1e-3)
    assert peak == pytest.approx(0.3 * length, abs=2) and rates[-1] < 1e-3
    assert rates[: peak + 1] == sorted(rates[: peak + 1]) and rates[peak:] == sorted(rates[peak:], reverse=True)


def test_the_standard_budget_trains_and_summarises_an_experiment_on_cifar_like_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wiring at a smoke size: the standard recipe, [R1]'s warm-up for 110 layers, the depth summary's claims."""
    monkeypatch.setenv("RESNETLAB_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "cifar"
    for split, count in (("train", 12), ("test", 6)):
        make_tree(data / split, {"cat": count, "dog": count}, size=(32, 32))
    planned = [PlannedRun(f"ResNet-{d}", f"cifar_resnet{d}", "ResNet", d, warm_up(d)) for d in (20, 110)]
    out = tmp_path / "depth-standard"
    finished = run_experiment("depth", planned, budget="standard", data=str(data), out=out, seeds=1, length=4)
    configs = [yaml.safe_load((run.run_dir / "config.yaml").read_text()) for run in finished]
    assert [c["schedule"]["kind"] for c in configs] == ["onecycle", "onecycle"]
    assert [c["schedule"]["warmup_lr"] for c in configs] == [None, 0.01]  # [R1] Sec. 4.2: only 110 layers and up
    last = [r for r in finished[0].records if r.get("kind") == "iteration"][-1]
    assert last["lr"] == pytest.approx(0.2 * (1 - (3 / 4 - 0.3) / 0.7))  # one-cycle's descent at its 4th step of 4
    context = Context("depth", depth.TITLE, "standard", str(data), 1, "resnetlab experiment depth", out)
    summary = depth.summarize(context, finished)
    assert "budget: **standard**, 3,128 iterations per run" in summary
    assert "| ResNet-110 |" in summary and "best of 5; mean 6.61 ± 0.16" in summary
    assert [c["verdict"] for c in context.claims] in (["shown"], ["not shown"], ["within noise"])
