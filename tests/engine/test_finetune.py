import json
from pathlib import Path

import pytest
import torch
import torchvision
import yaml

from resnetlab.engine.checkpoint import load_checkpoint
from resnetlab.engine.config import load_config
from resnetlab.engine.finetune import BACKBONE_LR_SCALE, finetune_overrides
from resnetlab.engine.train import resume, train
from resnetlab.errors import UserInputError
from resnetlab.models import create_model
from resnetlab.models.pretrained import IMAGENET_MEAN, IMAGENET_STD, PretrainedWeights, load_pretrained
from tests.data.fakes import write_photos


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
    photos = write_photos(tmp_path / "photos", classes=3, per_class=4)
    overrides = [
        f"model.init={tmp_path / 'start.pth'}",
        "data.dataset=folder",
        f"data.path={photos}",
        "data.image_size=32",
        "schedule.length=2",
        f"data.cache_dir={tmp_path / 'cache'}",
    ]
    run = train(load_config(None, overrides), out=tmp_path / "run", show_progress=False).run_dir
    (run / "test_metrics.json").unlink()  # as if stopped before the end: resume continues (here: just finishes)
    (tmp_path / "start.pth").unlink()
    assert resume(run, show_progress=False).iterations == 2
