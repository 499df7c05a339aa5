"""What a run keeps: the training state a checkpoint saves and restores, and what the run writer puts in the folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from resnetlab.config import TrainConfig
from resnetlab.errors import UserInputError
from resnetlab.inference.evaluate import EvalResult
from resnetlab.models.record import ModelRecord, Preprocess
from resnetlab.runs.checkpoint import read_training_checkpoint
from resnetlab.runs.run_dir import read_metrics
from resnetlab.train.ema import WeightAverage
from resnetlab.train.running import Position
from resnetlab.train.step import TrainStep
from resnetlab.train.writer import RunWriter, TrainingState, prefixed

CPU = torch.device("cpu")
RECORD = ModelRecord(
    model_name="tiny",
    model_options={},
    classes=("a", "b", "c"),
    preprocess=Preprocess("channel", mean=(0.5,), std=(0.25,), input_size=(1, 2, 2)),
)
RESULT = EvalResult(
    loss=0.5, top1=0.75, top5=1.0, count=4, per_class=[1.0, 0.5, 1.0], confusion=[[1, 0, 0], [0, 1, 1], [0, 0, 1]]
)


def _state(*, ema: bool) -> TrainingState:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.BatchNorm1d(3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    return TrainingState(
        model, optimizer, TrainStep(model, optimizer, device=CPU), WeightAverage(model, 0.5) if ema else None
    )


def _trained(state: TrainingState, steps: int = 3) -> Position:
    """A few steps, the average updated after each: trained weights, average and momentum all differ from the start."""
    position = Position.start(CPU, warming_up=False)
    for _ in range(steps):
        state.step(torch.randn(8, 1, 2, 2), torch.randint(0, 3, (8,)))
        if state.average is not None:
            state.average.update(state.model)
        position.iteration += 1
    return position


def _equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_with_an_average_the_checkpoint_holds_it_as_the_model_and_a_restore_puts_both_back(tmp_path: Path) -> None:
    state = _state(ema=True)
    position = _trained(state)
    RunWriter(tmp_path, TrainConfig(), RECORD, state, is_main=True, resumed_at=None).save("last.pt", position)
    checkpoint = read_training_checkpoint(tmp_path / "last.pt")
    assert state.evaluated is state.average.module  # type: ignore[union-attr]
    assert _equal(checkpoint.model.weights, state.average.module.state_dict())  # type: ignore[union-attr]
    assert checkpoint.trained_weights is not None and _equal(checkpoint.trained_weights, state.model.state_dict())
    assert not torch.equal(checkpoint.model.weights["1.weight"], checkpoint.trained_weights["1.weight"])
    assert checkpoint.model.record == RECORD and checkpoint.loop["progress"]["iteration"] == 3

    fresh = _state(ema=True)
    fresh.restore(checkpoint)
    assert _equal(fresh.model.state_dict(), state.model.state_dict())
    assert _equal(fresh.evaluated.state_dict(), state.evaluated.state_dict())
    assert fresh.average is not None and fresh.average.state_dict()["n_averaged"].item() == 3
    momentum = [fresh.optimizer.state[p]["momentum_buffer"] for p in fresh.model.parameters()]
    assert all(
        torch.equal(m, state.optimizer.state[p]["momentum_buffer"])
        for m, p in zip(momentum, state.model.parameters(), strict=True)
    )


def test_without_an_average_the_model_is_the_trained_one_and_an_average_cannot_be_continued_from_it() -> None:
    state = _state(ema=False)
    checkpoint = state.checkpoint(RECORD, {}, _trained(state))
    assert state.evaluated is state.model and _equal(checkpoint.model.weights, state.model.state_dict())
    assert checkpoint.trained_weights is None and checkpoint.average is None
    with pytest.raises(UserInputError, match=r"holds no weight average to continue \(optim\.ema_decay\)"):
        _state(ema=True).restore(checkpoint)


def test_the_finished_run_has_its_final_record_weights_and_test_metrics(tmp_path: Path) -> None:
    state = _state(ema=True)
    position = _trained(state)
    writer = RunWriter(tmp_path, TrainConfig(), RECORD, state, is_main=True, resumed_at=None)
    writer.log({"kind": "iteration", "iteration": 3, "train_loss": 1.0, "train_error": 0.5, "lr": 0.5})
    writer.finish(RESULT, position.iteration, 12.5, list(RECORD.classes))
    records = read_metrics(tmp_path)
    assert [r["kind"] for r in records] == ["iteration", "final"]
    final = records[-1]
    assert (final["iteration"], final["seconds"]) == (3, 12.5)
    assert {k: final[k] for k in ("test_loss", "test_top1", "test_top5", "test_count")} == {
        "test_loss": 0.5,
        "test_top1": 0.75,
        "test_top5": 1.0,
        "test_count": 4,
    }
    assert _equal(load_file(str(tmp_path / "model.safetensors")), state.evaluated.state_dict())  # the average
    metrics = json.loads((tmp_path / "test_metrics.json").read_text())
    assert metrics["top1"] == 0.75 and metrics["classes"] == ["a", "b", "c"]
    assert metrics["per_class"] == RESULT.per_class and metrics["confusion"] == RESULT.confusion
    assert (tmp_path / "error.png").exists()


def test_a_process_other_than_rank_0_writes_nothing(tmp_path: Path) -> None:
    state = _state(ema=False)
    position = _trained(state)
    writer = RunWriter(tmp_path, TrainConfig(), RECORD, state, is_main=False, resumed_at=None)
    writer.log({"kind": "iteration", "iteration": 3})
    writer.save("last.pt", position)
    writer.finish(RESULT, 3, 1.0, list(RECORD.classes))
    assert list(tmp_path.iterdir()) == []


def test_an_evaluation_becomes_metrics_fields_under_its_prefix() -> None:
    assert prefixed("val", RESULT) == {"val_loss": 0.5, "val_top1": 0.75, "val_top5": 1.0, "val_count": 4}
