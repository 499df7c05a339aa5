"""What a run is built from before its first step. A run's initial weights can be rebuilt from its config (the
landscape's line from initialisation to the trained weights, the gradients experiment's initial network); the run
folder is made on rank 0 alone, and every process gets its path or its error."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from resnetlab.config import TrainConfig
from resnetlab.errors import UserInputError
from resnetlab.runtime.distributed import Distributed, Parallel
from resnetlab.train.loop import train
from resnetlab.train.prepare import initial_model, on_main, prepare


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


class _Process(Parallel):
    """Process `rank` of two, whose broadcasts from rank 0 are recorded and answered with `answer`."""

    def __init__(self, rank: int, answer: object = None) -> None:
        super().__init__(Distributed(rank, 2, rank), torch.device("cpu"))
        self.answer, self.sent = answer, []

    def from_main(self, value: object) -> object:
        self.sent.append(value)
        return value if self.is_main else self.answer


def test_one_process_makes_the_folder_itself(tmp_path: Path) -> None:
    assert on_main(Parallel(None, torch.device("cpu")), lambda: tmp_path / "run") == tmp_path / "run"


def test_rank_0_makes_the_folder_and_shares_its_path(tmp_path: Path) -> None:
    main = _Process(0)
    assert on_main(main, lambda: tmp_path / "run") == tmp_path / "run"
    assert main.sent == [("ok", tmp_path / "run")]


def test_the_other_processes_take_rank_0s_path_without_making_one(tmp_path: Path) -> None:
    def make() -> Path:
        raise AssertionError("only rank 0 makes the run folder")

    other = _Process(1, answer=("ok", tmp_path / "run"))
    assert on_main(other, make) == tmp_path / "run"
    assert other.sent == [("waiting", None)]


def test_rank_0s_error_is_shared_before_it_is_raised_and_every_process_raises_it() -> None:
    def refuse() -> Path:
        raise UserInputError("the run folder exists")

    main = _Process(0)
    with pytest.raises(UserInputError, match="the run folder exists"):
        on_main(main, refuse)
    assert main.sent == [("error", "the run folder exists")]  # the others are not left waiting
    with pytest.raises(UserInputError, match="the run folder exists"):
        on_main(_Process(1, answer=("error", "the run folder exists")), refuse)
