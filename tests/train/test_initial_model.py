"""A run's initial weights can be rebuilt from its config (the landscape's line from initialisation to the trained
weights, the gradients experiment's initial network)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from safetensors.torch import load_file

from resnetlab.config import TrainConfig
from resnetlab.train.loop import train
from resnetlab.train.prepare import initial_model, prepare


def test_the_rebuilt_initial_model_is_the_one_a_run_started_from(tiny_config: TrainConfig, tmp_path: Path) -> None:
    # One step at a negligible learning rate, no momentum, no weight decay: the saved weights are the initial ones.
    config = dataclasses.replace(
        tiny_config,
        schedule=dataclasses.replace(tiny_config.schedule, unit="iteration", length=1),
        optim=dataclasses.replace(tiny_config.optim, lr=1e-12, momentum=0.0, weight_decay=0.0),
    )
    train(config, out=tmp_path / "run", show_progress=False)
    saved = load_file(tmp_path / "run" / "model.safetensors")
    rebuilt = initial_model(config).state_dict()
    parameters = [name for name, _ in initial_model(config).named_parameters()]
    assert parameters and all(torch.allclose(rebuilt[n], saved[n], atol=1e-9) for n in parameters)
    assert all(torch.equal(rebuilt[n], prepare(config).model.state_dict()[n].cpu()) for n in parameters)
    other_seed = dataclasses.replace(config, runtime=dataclasses.replace(config.runtime, seed=1))
    assert not torch.allclose(initial_model(other_seed).state_dict()["conv1.weight"], saved["conv1.weight"])
