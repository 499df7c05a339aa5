import urllib.error
from pathlib import Path

import pytest
import timm
import torch
import torchvision
from safetensors.torch import save_file

from resnetlab.errors import UserInputError
from resnetlab.models import create_model
from resnetlab.models.pretrained import IMAGENET_MEAN, IMAGENET_STD, infer_model_name, load_into, load_pretrained
from resnetlab.models.record import ModelRecord, Preprocess


def _max_logit_difference(reference: torch.nn.Module, name: str, source: str) -> float:
    weights = load_pretrained(source)
    assert weights.model_name == name  # read off the tensors' names and shapes
    model = create_model(name).eval()
    assert load_into(model, weights, name)  # 1000 classes both: the head loads too
    images = torch.randn(2, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return (model(images) - reference.eval()(images)).abs().max().item()


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnext50_32x4d"])
def test_a_torchvision_state_dict_on_disk_gives_torchvision_logits(tmp_path: Path, name: str) -> None:
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)()
    torch.save(reference.state_dict(), tmp_path / f"{name}.pth")
    assert _max_logit_difference(reference, name, str(tmp_path / f"{name}.pth")) < 1e-5


def test_a_bare_imagenet_state_dict_carries_imagenet_classes_and_normalisation(tmp_path: Path) -> None:
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    weights = load_pretrained(str(tmp_path / "r18.pth"))
    assert weights.classes is not None and len(weights.classes) == 1000 and weights.classes[0] == "tench"
    assert weights.mean == IMAGENET_MEAN and (weights.input_size, weights.resize) == (224, 256)


def test_a_timm_checkpoint_gives_timm_logits_as_safetensors_and_as_a_wrapped_pth(tmp_path: Path) -> None:
    torch.manual_seed(1)
    reference = timm.create_model("resnet50", pretrained=False)
    state = reference.state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "resnet50.safetensors"))
    # What a DistributedDataParallel training script saves: nested under state_dict, names prefixed by module.
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "ddp.pth")
    assert _max_logit_difference(reference, "resnet50", str(tmp_path / "resnet50.safetensors")) < 1e-5
    assert _max_logit_difference(reference, "resnet50", str(tmp_path / "ddp.pth")) < 1e-5


def test_another_architecture_is_refused_naming_what_differs(tmp_path: Path) -> None:
    torch.save(timm.create_model("resnet50d", pretrained=False).state_dict(), tmp_path / "resnet50d.pth")
    weights = load_pretrained(str(tmp_path / "resnet50d.pth"))
    assert weights.model_name is None  # a deep stem: no registered network has these tensors
    with pytest.raises(UserInputError, match=r"does not fit resnet50: .*conv1\.0\.weight.*another architecture"):
        load_into(create_model("resnet50"), weights, "resnet50")


def test_a_head_of_another_size_is_left_fresh_and_the_backbone_loads(tmp_path: Path) -> None:
    reference = torchvision.models.resnet18()
    torch.save(reference.state_dict(), tmp_path / "r18.pth")
    model = create_model("resnet18", num_classes=5)
    fresh_head = model.fc.weight.detach().clone()
    assert not load_into(model, load_pretrained(str(tmp_path / "r18.pth")), "resnet18")
    assert torch.equal(model.fc.weight, fresh_head)
    assert torch.equal(model.layer4[1].conv2.weight, reference.layer4[1].conv2.weight)


def test_torchvision_weights_come_through_the_weights_api_with_their_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    served = torchvision.models.resnet18().state_dict()
    asked: list[str] = []

    def fake_download(url: str, *args: object, **kwargs: object) -> dict[str, torch.Tensor]:
        asked.append(url)  # torchvision's own URL and hash check; no network in tests
        return served

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", fake_download)
    weights = load_pretrained("torchvision:resnet18.IMAGENET1K_V1")
    assert asked == [torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url]
    assert weights.source == "torchvision:resnet18.IMAGENET1K_V1" and weights.model_name == "resnet18"
    assert weights.classes == torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    assert (weights.input_size, weights.resize) == (224, 256)


def test_torchvision_weights_offline_say_where_to_get_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    with pytest.raises(
        UserInputError, match=r"cannot fetch torchvision:resnet50\.IMAGENET1K_V2 .* pass the file to --init"
    ):
        load_pretrained("torchvision:resnet50")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("torchvision:resnet51", "torchvision has no model 'resnet51'"),
        ("torchvision:resnet50.IMAGENET9K", "has no weights 'IMAGENET9K'; it has IMAGENET1K_V1, IMAGENET1K_V2"),
        ("missing.pth", "is not a weights file, a run directory"),
    ],
)
def test_bad_sources_get_one_clear_line(source: str, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        load_pretrained(source)


def test_a_file_that_is_no_state_dict_is_refused(tmp_path: Path) -> None:
    torch.save({"epoch": 3, "note": "no tensors"}, tmp_path / "odd.pth")
    (tmp_path / "text.pth").write_text("not a pickle")
    with pytest.raises(UserInputError, match="holds no state dict"):
        load_pretrained(str(tmp_path / "odd.pth"))
    with pytest.raises(UserInputError, match="not a PyTorch weights file"):
        load_pretrained(str(tmp_path / "text.pth"))


def test_the_network_is_read_off_the_tensors() -> None:
    assert infer_model_name(torchvision.models.wide_resnet50_2().state_dict()) == "wide_resnet50_2"
    assert infer_model_name(create_model("cifar_resnet20").state_dict()) == "cifar_resnet20"


def test_timm_hub_weights_bring_timms_preprocessing(monkeypatch: pytest.MonkeyPatch) -> None:
    made = timm.create_model("resnet50.a1_in1k", pretrained=False)  # the architecture and config, no download
    asked: list[tuple[str, bool]] = []

    def fake_create(name: str, pretrained: bool = False, **kwargs: object) -> torch.nn.Module:
        asked.append((name, pretrained))
        return made

    monkeypatch.setattr(timm, "create_model", fake_create)
    weights = load_pretrained("timm:resnet50.a1_in1k")
    assert asked == [("resnet50.a1_in1k", True)]
    assert weights.model_name == "resnet50" and weights.classes is not None and len(weights.classes) == 1000
    assert weights.mean == IMAGENET_MEAN and weights.input_size == 224
    assert weights.resize == round(224 / made.pretrained_cfg["crop_pct"])


def test_older_state_dicts_without_bn_step_counters_load(tmp_path: Path) -> None:
    reference = torchvision.models.resnet18()
    state = {k: v for k, v in reference.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old.pth")
    assert _max_logit_difference(reference, "resnet18", str(tmp_path / "old.pth")) < 1e-5


def _run_safetensors(folder: Path) -> Path:
    """A run's model.safetensors, as a finished run leaves it: the weights, the model record as metadata."""
    record = ModelRecord(
        model_name="cifar_resnet20",
        model_options={"num_classes": 2, "in_chans": 3},
        classes=("cat", "dog"),
        preprocess=Preprocess("channel", mean=(0.4,) * 3, std=(0.2,) * 3, input_size=(3, 32, 32)),
    )
    folder.mkdir()
    state = create_model("cifar_resnet20", num_classes=2).state_dict()
    save_file(state, str(folder / "model.safetensors"), metadata=record.to_metadata())
    return folder / "model.safetensors"


def test_a_runs_safetensors_file_brings_its_classes_and_preprocessing(tmp_path: Path) -> None:
    path = _run_safetensors(tmp_path / "run")  # the folder is runs/weights.py's (tests/runs/test_weights.py)
    weights = load_pretrained(str(path))
    assert (weights.model_name, weights.classes, weights.mean) == ("cifar_resnet20", ["cat", "dog"], (0.4,) * 3)
    assert (weights.input_size, weights.resize, weights.model_options) == (32, None, {})


def test_pretrained_weights_give_the_record_a_trained_model_has(tmp_path: Path) -> None:
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    record = load_pretrained(str(tmp_path / "r18.pth")).model_record()
    assert record.model_name == "resnet18" and len(record.classes) == 1000
    assert record.model_options == {"num_classes": 1000, "in_chans": 3}
    assert record.preprocess == Preprocess("channel", IMAGENET_MEAN, IMAGENET_STD, (3, 224, 224), resize=256)
    assert ModelRecord.from_dict(record.to_dict(), "again") == record
    assert ModelRecord.from_metadata(record.to_metadata(), "again") == record


def test_a_resnetlab_checkpoint_or_an_unfinished_run_is_left_to_runs(tmp_path: Path) -> None:
    """Their format (header, version, digest) is read in runs/, which also decides what a run folder means
    (runs/weights.py), not here."""
    torch.save({"format": "resnetlab-checkpoint", "version": 2, "payload": torch.zeros(1)}, tmp_path / "last.pt")
    with pytest.raises(UserInputError, match=r"last\.pt is a resnetlab checkpoint, read through .*resolve_weights"):
        load_pretrained(str(tmp_path / "last.pt"))
    with pytest.raises(UserInputError, match=r"is a folder: a run folder is read through .*resolve_weights"):
        load_pretrained(str(tmp_path))
