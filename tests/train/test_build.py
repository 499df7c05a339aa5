"""What a run is built from: the resolved config and the network sized from the data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from resnetlab.config import TrainConfig
from resnetlab.errors import UserInputError
from resnetlab.train.build import build_model, resolved_config
from resnetlab.train.loop import train
from tests.data.fakes import make_imageset


def test_the_resolved_config_has_absolute_paths_and_a_concrete_precision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = TrainConfig()
    config = dataclasses.replace(
        config,
        data=dataclasses.replace(config.data, path="photos", cache_dir="cache"),
        model=dataclasses.replace(config.model, init="weights.pt"),
        runtime=dataclasses.replace(config.runtime, out_dir="runs", precision="auto", device="cpu"),
    )
    resolved = resolved_config(config)
    assert resolved.data.path == str(tmp_path / "photos") and resolved.data.cache_dir == str(tmp_path / "cache")
    assert resolved.model.init == str(tmp_path / "weights.pt") and resolved.runtime.out_dir == str(tmp_path / "runs")
    assert resolved.runtime.precision in ("fp32", "bf16")
    named = dataclasses.replace(config, model=dataclasses.replace(config.model, init="torchvision:resnet18"))
    assert resolved_config(named).model.init == "torchvision:resnet18"  # a name, not a path


def test_the_network_is_sized_from_the_data() -> None:
    data = make_imageset(8, channels=1, classes=3)
    config = TrainConfig()
    model = build_model(config, data)
    assert model.fc.out_features == 3 and model.conv1.in_channels == 1  # type: ignore[union-attr]
    wrong = dataclasses.replace(config, model=dataclasses.replace(config.model, options={"num_classes": 10}))
    with pytest.raises(UserInputError, match=r"model\.options\.num_classes=10 but the data has 3; drop the option"):
        build_model(wrong, data)


def test_model_options_that_contradict_the_data_are_refused(tiny_config: TrainConfig, tmp_path: Path) -> None:
    config = dataclasses.replace(tiny_config, model=dataclasses.replace(tiny_config.model, options={"num_classes": 7}))
    with pytest.raises(UserInputError, match=r"model\.options\.num_classes=7 but the data has 10"):
        train(config, out=tmp_path / "run", show_progress=False)
