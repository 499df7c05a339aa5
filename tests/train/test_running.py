"""The training loop's running sums and random-generator state, as checkpoints carry them."""

from __future__ import annotations

import pytest
import torch

from resnetlab.train.running import RunningSums, restore_rng, rng_state


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
    again.load(sums.state())
    assert again.read() == sums.read() == (1.5, 0.25, 4)
    sums.reset()
    assert sums.read() == (0.0, 0.0, 0)


def test_the_generator_state_restores_the_same_draws() -> None:
    torch.manual_seed(3)
    saved = rng_state()
    expected = torch.rand(4)
    torch.manual_seed(99)
    restore_rng(saved)
    assert torch.equal(torch.rand(4), expected)
