"""One resolver decides which weights a source names: a run folder, a checkpoint, a state dict, a hub name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import torchvision

from resnetlab.errors import UserInputError
from resnetlab.runs.checkpoint import export_weights, read_model
from resnetlab.runs.weights import load_weights, resolve_weights, run_weights_file

FIXTURE = Path(__file__).parents[1] / "fixtures" / "checkpoint-v2-run"


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "run"))


def test_a_run_folder_means_its_last_checkpoint(run: Path) -> None:
    found = resolve_weights(run)
    assert found.source == str(run / "last.pt") and found.saved is not None and found.saved.config is not None
    assert found.pretrained is None


def test_a_run_folder_without_checkpoints_means_its_model_safetensors(run: Path) -> None:
    saved = read_model(run / "last.pt")
    export_weights(saved.weights, run / "model.safetensors", saved.record)
    (run / "last.pt").unlink()
    assert run_weights_file(run) == run / "model.safetensors"
    found = resolve_weights(run)
    assert found.saved is None and found.pretrained is not None
    assert found.pretrained.model_name == saved.record.model_name
    assert all(torch.equal(found.pretrained.state_dict[k], saved.weights[k]) for k in saved.weights)


def test_both_files_of_a_run_folder_start_fine_tuning_from_the_same_weights(run: Path) -> None:
    saved = read_model(run / "last.pt")
    export_weights(saved.weights, run / "model.safetensors", saved.record)
    from_checkpoint = load_weights(str(run))
    from_safetensors = load_weights(str(run / "model.safetensors"))
    assert from_checkpoint.model_name == from_safetensors.model_name
    assert from_checkpoint.classes == from_safetensors.classes
    assert all(torch.equal(from_checkpoint.state_dict[k], from_safetensors.state_dict[k]) for k in saved.weights)


def test_a_state_dict_saved_as_pt_is_read_as_pretrained_weights(tmp_path: Path) -> None:
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "resnet18.pt")
    found = resolve_weights(tmp_path / "resnet18.pt")
    assert found.saved is None and found.pretrained is not None and found.pretrained.model_name == "resnet18"


def test_a_folder_that_is_no_run_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"is a folder but not a run's: it holds neither last\.pt nor model"):
        resolve_weights(tmp_path)


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"is not a weights file, a run directory, or torchvision:NAME"):
        resolve_weights(tmp_path / "missing.pth")


@pytest.mark.parametrize("name", ["last.pt.prev", "model.ckpt"])
def test_a_checkpoint_under_another_name_is_still_a_checkpoint(run: Path, name: str) -> None:
    """`last.pt.prev` (the checkpoint before the latest, kept to fall back on) and a renamed copy."""
    shutil.copyfile(run / "last.pt", run / name)
    found = resolve_weights(run / name)
    assert found.saved is not None and found.saved.record.model_name == "cifar_resnet20"
