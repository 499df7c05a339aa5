import dataclasses
import json
import signal
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision
import yaml

from resnetlab.config import TrainConfig, config_to_dict, load_config, load_recipe, with_overrides
from resnetlab.data import load_splits
from resnetlab.errors import UserInputError
from resnetlab.models import create_model
from resnetlab.models.pretrained import IMAGENET_MEAN, IMAGENET_STD, PretrainedWeights, load_pretrained
from resnetlab.runs.checkpoint import load_checkpoint
from resnetlab.train.build import build_model
from resnetlab.train.finetune import RECIPE, finetune_config
from resnetlab.train.loop import TrainingInterruptedError, resume, train
from tests.data.fakes import write_photos
from tests.helpers.interrupt import signal_at_step


def _flat(config: TrainConfig) -> dict[str, Any]:
    return {
        f"{section}.{key}": value for section, fields in config_to_dict(config).items() for key, value in fields.items()
    }


# The fine-tune recipe's resolved config for three kinds of weights, pinned as the values that differ from the
# defaults: a run's config.yaml is its record, so a refactor of how the recipe is built must not change it.
PINNED_FINETUNE: dict[str, tuple[PretrainedWeights, Path, str | None, str, dict[str, Any]]] = {
    "torchvision": (
        PretrainedWeights({}, "torchvision:resnet50", "resnet50", None, IMAGENET_MEAN, IMAGENET_STD, 224, 256),
        Path("photos"),
        None,
        "torchvision:resnet50",
        {
            "model.name": "resnet50",
            "model.init": "torchvision:resnet50",
            "data.dataset": "folder",
            "data.path": "photos",
            "data.augment": "imagenet",
            "data.batch_size": 32,
            "data.eval_batch_size": 64,
            "data.storage": "stream",
            "data.scale_range": [256, 320],
            "data.color_jitter": 0.2,
            "data.lighting": 0.0,
            "data.mean": [0.485, 0.456, 0.406],
            "data.std": [0.229, 0.224, 0.225],
            "optim.lr": 0.01,
            "optim.nesterov": True,
            "optim.backbone_lr_scale": 0.1,
            "schedule.length": 10,
        },
    ),
    "named-model-other-size": (
        PretrainedWeights({}, "weights.safetensors", None, None, IMAGENET_MEAN, IMAGENET_STD, 160, 176),
        Path("/data/photos"),
        "resnet18",
        "weights.safetensors",
        {
            "model.name": "resnet18",
            "model.init": "weights.safetensors",
            "data.dataset": "folder",
            "data.path": "/data/photos",
            "data.augment": "imagenet",
            "data.batch_size": 32,
            "data.eval_batch_size": 64,
            "data.storage": "stream",
            "data.crop_size": 160,
            "data.scale_range": [176, 220],
            "data.eval_resize": 176,
            "data.color_jitter": 0.2,
            "data.lighting": 0.0,
            "data.mean": [0.485, 0.456, 0.406],
            "data.std": [0.229, 0.224, 0.225],
            "optim.lr": 0.01,
            "optim.nesterov": True,
            "optim.backbone_lr_scale": 0.1,
            "schedule.length": 10,
        },
    ),
    "small-images-with-options": (
        PretrainedWeights(
            {},
            "runs/r20/last.pt",
            "cifar_resnet20",
            ["a", "b"],
            (0.5, 0.4, 0.3),
            (0.2, 0.25, 0.3),
            32,
            None,
            {"shortcut": "B", "zero_init_residual": True},
        ),
        Path("/data/photos"),
        None,
        "runs/r20/last.pt",
        {
            "model.options": {"shortcut": "B", "zero_init_residual": True},
            "model.init": "runs/r20/last.pt",
            "data.dataset": "folder",
            "data.path": "/data/photos",
            "data.image_size": 32,
            "data.augment": "cifar",
            "data.batch_size": 32,
            "data.eval_batch_size": 64,
            "data.storage": "memory",
            "data.mean": [0.5, 0.4, 0.3],
            "data.std": [0.2, 0.25, 0.3],
            "optim.lr": 0.01,
            "optim.nesterov": True,
            "optim.backbone_lr_scale": 0.1,
            "schedule.length": 10,
        },
    ),
}


@pytest.mark.parametrize("case", sorted(PINNED_FINETUNE))
def test_the_fine_tune_config_is_the_pinned_one(case: str) -> None:
    weights, data, model, source, differences = PINNED_FINETUNE[case]
    resolved = _flat(finetune_config(weights, data, model, source))
    expected = {**_flat(TrainConfig()), **differences}
    assert resolved == expected
    assert json.dumps(resolved) == json.dumps(expected)  # the types too: 10 is not 10.0 in a saved config.yaml


def test_imagenet_weights_bring_their_own_size_and_normalisation(tmp_path: Path) -> None:
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    weights = load_pretrained(str(tmp_path / "r18.pth"))
    config = finetune_config(weights, tmp_path, None, str(tmp_path / "r18.pth"))
    assert config.model.name == "resnet18" and config.model.init == str(tmp_path / "r18.pth")
    assert config.data.mean == list(IMAGENET_MEAN) and config.data.std == list(IMAGENET_STD)
    assert (config.data.crop_size, config.data.eval_resize, config.data.augment) == (224, 256, "imagenet")
    assert config.optim == load_recipe(RECIPE).optim  # the head's LR, the backbone's 0.1x, as the recipe says


def test_small_fixed_size_weights_are_fine_tuned_at_their_size() -> None:
    weights = PretrainedWeights({}, "run/last.pt", "cifar_resnet20", ["a"], (0.5,) * 3, (0.2,) * 3, 32, None)
    data = finetune_config(weights, Path("photos"), None, "run/last.pt").data
    assert (data.image_size, data.storage, data.augment) == (32, "memory", "cifar")


def test_weights_of_unknown_architecture_need_a_model_name() -> None:
    weights = PretrainedWeights({}, "odd.pth", None, None, IMAGENET_MEAN, IMAGENET_STD, 224, 256)
    with pytest.raises(UserInputError, match=r"cannot tell which network odd\.pth is; name it with --model"):
        finetune_config(weights, Path("photos"), None, "odd.pth")


def test_a_fine_tuning_run_starts_from_the_file_keeps_frozen_stages_and_records_the_recipe(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = torchvision.models.resnet18().state_dict()
    torch.save(source, tmp_path / "r18.pth")
    photos = write_photos(tmp_path / "photos", classes=3, per_class=5)
    weights = load_pretrained(str(tmp_path / "r18.pth"))
    small = [  # 64-px crops and one epoch keep the test short; the recipe is otherwise the real one
        "data.crop_size=64",
        "data.scale_range=[72, 90]",
        "data.eval_resize=72",
        "data.workers=0",
        "data.batch_size=8",
        "schedule.length=1",
        "model.freeze_stages=4",
        f"data.cache_dir={tmp_path / 'cache'}",
    ]
    config = with_overrides(finetune_config(weights, photos, None, str(tmp_path / "r18.pth")), small)
    result = train(config, out=tmp_path / "run", show_progress=False)

    checkpoint = load_checkpoint(result.run_dir / "last.pt")
    assert checkpoint["classes"] == ["class_0", "class_1", "class_2"]
    assert checkpoint["preprocess"]["mean"] == list(IMAGENET_MEAN)
    trained = checkpoint["model"]
    assert trained["fc.weight"].shape == (3, 512)
    # Every stage frozen: the backbone, BN statistics included, is exactly the file's after training.
    backbone = [key for key in source if not key.startswith("fc.")]
    assert all(torch.equal(trained[key], source[key]) for key in backbone)
    saved = yaml.safe_load((result.run_dir / "config.yaml").read_text())
    assert saved["model"]["init"] == str((tmp_path / "r18.pth").resolve()) and saved["model"]["freeze_stages"] == 4


def test_a_training_run_from_another_architecture_fails_before_writing_anything(tmp_path: Path) -> None:
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    photos = write_photos(tmp_path / "photos", classes=2, per_class=3)
    overrides = [
        "model.name=resnet34",
        f"model.init={tmp_path / 'r18.pth'}",
        "data.dataset=folder",
        f"data.path={photos}",
        "data.image_size=32",
        f"data.cache_dir={tmp_path / 'cache'}",
    ]
    with pytest.raises(UserInputError, match=r"r18.pth does not fit resnet34: .*tensors missing"):
        train(load_config(None, overrides), out=tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run").exists()


def test_a_resumed_run_does_not_read_its_initial_weights_again(tmp_path: Path) -> None:
    torch.save(create_model("cifar_resnet20", num_classes=3).state_dict(), tmp_path / "start.pth")
    photos = write_photos(tmp_path / "photos", classes=3, per_class=8)
    overrides = [
        f"model.init={tmp_path / 'start.pth'}",
        "model.freeze_stages=1",
        "optim.backbone_lr_scale=0.1",
        "data.dataset=folder",
        f"data.path={photos}",
        "data.image_size=32",
        "data.batch_size=4",
        "schedule.length=2",
        "runtime.deterministic=true",
        f"data.cache_dir={tmp_path / 'cache'}",
    ]
    config = load_config(None, overrides)
    uninterrupted = train(config, out=tmp_path / "full", show_progress=False)
    full = load_checkpoint(uninterrupted.run_dir / "last.pt")["model"]
    with signal_at_step(3, signal.SIGTERM), pytest.raises(TrainingInterruptedError):
        train(config, out=tmp_path / "cut", show_progress=False)  # stops mid-epoch, after iteration 3
    (tmp_path / "start.pth").unlink()
    resumed = resume(tmp_path / "cut", show_progress=False)  # frozen stage and LR scales rebuilt from the config
    assert resumed.iterations == uninterrupted.iterations
    got = load_checkpoint(resumed.run_dir / "last.pt")["model"]
    assert all(torch.equal(full[k], got[k]) for k in full)


def test_the_head_is_kept_only_for_the_same_class_names(tmp_path: Path) -> None:
    source = create_model("cifar_resnet20", num_classes=3)
    photos = write_photos(tmp_path / "photos", classes=3, per_class=2)
    config = load_config(None, ["model.init=given", "data.dataset=folder", f"data.path={photos}", "data.image_size=32"])
    train_set = load_splits(dataclasses.replace(config.data, cache_dir=str(tmp_path / "cache"))).train
    for classes, kept in ((["class_0", "class_1", "class_2"], True), (["cat", "dog", "horse"], False)):
        weights = PretrainedWeights(source.state_dict(), "given", None, classes, (0.5,) * 3, (0.2,) * 3, 32, None)
        model = build_model(config, train_set, init_weights=weights)
        assert torch.equal(model.fc.weight, source.fc.weight) == kept
        assert torch.equal(model.layer3[2].conv2.weight, source.layer3[2].conv2.weight)
