from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn

from resnetlab.config import TrainConfig
from resnetlab.inference.evaluate_run import evaluate_checkpoint
from resnetlab.runs.checkpoint import load_checkpoint
from resnetlab.train.ema import WeightAverage
from resnetlab.train.loop import TrainingInterruptedError, resume, train
from tests.helpers.interrupt import ctrl_c_at_step


def test_the_average_follows_the_exponential_formula() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    average = WeightAverage(model, decay=0.9)
    start = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    average.update(model)  # the first update copies
    with torch.no_grad():
        model[0].weight.add_(1.0)
    average.update(model)
    expected = 0.9 * (start + 1.0) + 0.1 * (start + 2.0)
    assert torch.allclose(average.module[0].weight, expected)
    assert isinstance(average.module, nn.Sequential) and not average.module.training


def _with_ema(config: TrainConfig) -> TrainConfig:
    return dataclasses.replace(config, optim=dataclasses.replace(config.optim, ema_decay=0.9))


def test_a_run_with_ema_evaluates_and_exports_the_average(tiny_config: TrainConfig, tmp_path: Path) -> None:
    result = train(_with_ema(tiny_config), out=tmp_path / "run", show_progress=False)
    checkpoint = load_checkpoint(result.run_dir / "last.pt")
    assert {"trained_model", "average"} <= set(checkpoint)
    assert set(checkpoint["average"]) == {"n_averaged"}  # the averaged weights are stored once, as "model"
    assert checkpoint["average"]["n_averaged"].item() == checkpoint["progress"]["iteration"]
    trained, averaged = checkpoint["trained_model"]["fc.weight"], checkpoint["model"]["fc.weight"]
    assert not torch.equal(trained, averaged)
    again, _ = evaluate_checkpoint(result.run_dir)
    assert again.top1 == pytest.approx(result.test.top1)


def test_a_run_with_ema_resumes_to_the_same_average(tiny_config: TrainConfig, tmp_path: Path) -> None:
    config = _with_ema(tiny_config)
    config = dataclasses.replace(config, runtime=dataclasses.replace(config.runtime, checkpoint_every=7))
    full = train(config, out=tmp_path / "full", show_progress=False)
    with ctrl_c_at_step(10), pytest.raises(TrainingInterruptedError):
        train(config, out=tmp_path / "cut", show_progress=False)
    resumed = resume(tmp_path / "cut", show_progress=False)
    a, b = (load_checkpoint(r.run_dir / "last.pt") for r in (full, resumed))
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert all(torch.equal(a["trained_model"][k], b["trained_model"][k]) for k in a["trained_model"])
    assert torch.equal(a["average"]["n_averaged"], b["average"]["n_averaged"])
