import dataclasses
import json
import signal
from pathlib import Path

import pytest
import torch
import torchvision
import yaml

from resnetlab.config import load_config
from resnetlab.data import load_splits
from resnetlab.errors import UserInputError
from resnetlab.models import create_model
from resnetlab.models.pretrained import IMAGENET_MEAN, IMAGENET_STD, PretrainedWeights, load_pretrained
from resnetlab.runs.checkpoint import load_checkpoint
from resnetlab.train.build import build_model
from resnetlab.train.finetune import BACKBONE_LR_SCALE, finetune_overrides
from resnetlab.train.loop import TrainingInterruptedError, resume, train
from tests.data.fakes import write_photos
from tests.helpers.interrupt import signal_at_step


def _values(overrides: list[str]) -> dict[str, object]:
    return {key: json.loads(value) for key, _, value in (o.partition("=") for o in overrides)}


def test_imagenet_weights_bring_their_own_size_and_normalisation(tmp_path: Path) -> None:
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    weights = load_pretrained(str(tmp_path / "r18.pth"))
    values = _values(finetune_overrides(weights, tmp_path, None, str(tmp_path / "r18.pth")))
    assert values["model.name"] == "resnet18" and values["model.init"] == str(tmp_path / "r18.pth")
    assert values["data.mean"] == list(IMAGENET_MEAN) and values["data.std"] == list(IMAGENET_STD)
    assert (values["data.crop_size"], values["data.eval_resize"], values["data.augment"]) == (224, 256, "imagenet")
    assert values["optim.backbone_lr_scale"] == BACKBONE_LR_SCALE
    load_config(None, finetune_overrides(weights, tmp_path, None, "r18.pth"))  # a valid config as it stands


def test_small_fixed_size_weights_are_fine_tuned_at_their_size() -> None:
    weights = PretrainedWeights({}, "run/last.pt", "cifar_resnet20", ["a"], (0.5,) * 3, (0.2,) * 3, 32, None)
    values = _values(finetune_overrides(weights, Path("photos"), None, "run/last.pt"))
    assert (values["data.image_size"], values["data.storage"], values["data.augment"]) == (32, "memory", "cifar")


def test_weights_of_unknown_architecture_need_a_model_name() -> None:
    weights = PretrainedWeights({}, "odd.pth", None, None, IMAGENET_MEAN, IMAGENET_STD, 224, 256)
    with pytest.raises(UserInputError, match=r"cannot tell which network odd\.pth is; name it with --model"):
        finetune_overrides(weights, Path("photos"), None, "odd.pth")


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
    config = load_config(None, finetune_overrides(weights, photos, None, str(tmp_path / "r18.pth")) + small)
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
