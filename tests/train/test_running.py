"""The training loop's state, live and as checkpoints carry it: the position, the running sums, the generators."""

from __future__ import annotations

import pytest
import torch

from resnetlab.errors import UserInputError
from resnetlab.train.running import Position, RunningSums, restore_rng, rng_to_dict


def test_sums_give_the_mean_loss_and_error_over_every_sample() -> None:
    sums = RunningSums(torch.device("cpu"))
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    sums.add(torch.tensor(0.5), logits[:2], torch.tensor([0, 0]))  # one of two wrong
    sums.add(torch.tensor(2.0), logits[2:], torch.tensor([1]))  # wrong
    loss, error, count = sums.read()
    assert count == 3 and loss == pytest.approx((0.5 * 2 + 2.0) / 3) and error == pytest.approx(2 / 3)


def test_sums_survive_a_checkpoint_and_reset() -> None:
    sums = RunningSums(torch.device("cpu"))
    sums.add(torch.tensor(1.5), torch.tensor([[0.0, 1.0]] * 4), torch.tensor([1, 1, 0, 1]))
    again = RunningSums(torch.device("cpu"))
    again.load(sums.to_dict())
    assert again.read() == sums.read() == (1.5, 0.25, 4)
    sums.reset()
    assert sums.read() == (0.0, 0.0, 0)


def test_the_generator_state_restores_the_same_draws() -> None:
    torch.manual_seed(3)
    saved = rng_to_dict()
    expected = torch.rand(4)
    torch.manual_seed(99)
    restore_rng(saved)
    assert torch.equal(torch.rand(4), expected)


def test_a_position_comes_back_from_its_stored_form_as_it_was() -> None:
    cpu = torch.device("cpu")
    position = Position.start(cpu, warming_up=True)
    for _ in range(3):
        position.add(torch.tensor(0.7), torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
    position.next_epoch()
    position.best_top1 = 0.42
    stored = position.to_dict()
    again = Position.from_dict(stored, cpu, "last.pt")
    assert (again.epoch, again.batch, again.iteration, again.warming_up, again.best_top1) == (1, 0, 3, True, 0.42)
    assert again.window.read() == position.window.read() == pytest.approx((0.7, 0.5, 6))
    assert again.to_dict()["progress"] == stored["progress"]


def test_a_version_1_position_without_sums_starts_them_afresh() -> None:
    progress = {"epoch": 2, "batch": 5, "iteration": 17, "warming_up": False, "best_top1": 0.5}
    position = Position.from_dict({"progress": progress, "rng": {}}, torch.device("cpu"), "old.pt")
    assert position.iteration == 17 and position.epoch_sums.read() == (0.0, 0.0, 0)


def test_a_malformed_position_is_one_clear_error() -> None:
    with pytest.raises(UserInputError, match=r"last\.pt holds a malformed training state \(KeyError: 'iteration'\)"):
        Position.from_dict({"progress": {"epoch": 1, "batch": 0, "warming_up": False}}, torch.device("cpu"), "last.pt")
