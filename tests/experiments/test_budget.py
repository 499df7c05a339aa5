from pathlib import Path

import pytest

from resnetlab.engine.config import load_config
from resnetlab.engine.schedule import learning_rate
from resnetlab.errors import UserInputError
from resnetlab.experiments.budget import QUICK_WARMUP_ITERATIONS, recipe


def _cifar_like_folder(root: Path) -> Path:
    for split in ("train", "test"):
        (root / split / "cat").mkdir(parents=True)
    return root


def test_the_quick_budget_ramps_the_lr_up_over_its_first_iterations(tmp_path: Path) -> None:
    data = _cifar_like_folder(tmp_path / "cifar")
    config = load_config(None, recipe("quick", str(data)))
    rates = [learning_rate(config.schedule, config.optim.lr, i, 1) for i in range(QUICK_WARMUP_ITERATIONS + 1)]
    assert rates[0] == pytest.approx(config.optim.lr / QUICK_WARMUP_ITERATIONS)
    assert rates == sorted(rates)
    assert rates[-1] == config.optim.lr == 0.1
    # The paper's recipe starts at its LR: [R1] Sec. 4.2 warms up only ResNet-110 (and only at 0.01).
    paper = load_config(None, recipe("paper", str(data)))
    assert learning_rate(paper.schedule, paper.optim.lr, 0, 1) == 0.1


def test_the_quick_and_paper_budgets_need_cifar(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="--data"):
        recipe("quick", None)
    with pytest.raises(UserInputError, match="does not exist"):
        recipe("paper", str(tmp_path / "missing"))
