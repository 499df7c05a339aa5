from __future__ import annotations

from pathlib import Path

import pytest
import torch

from resnetlab.engine.checkpoint import load_checkpoint, save_checkpoint
from resnetlab.errors import UserInputError


def test_round_trip_and_no_partial_file_left(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint({"model": {"w": torch.ones(3)}, "progress": {"epoch": 2}}, path)
    state = load_checkpoint(path)
    assert torch.equal(state["model"]["w"], torch.ones(3)) and state["progress"] == {"epoch": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


class Payload:
    """Anything that is not a tensor or a plain value: unpickling it could run arbitrary code."""


def test_a_checkpoint_carrying_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": "resnetlab-checkpoint", "payload": Payload()}, path)
    with pytest.raises(UserInputError, match=r"refusing to load .*evil\.pt: it holds more than tensors .*Payload"):
        load_checkpoint(path)


def test_truncated_foreign_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint({"model": {"w": torch.ones(1000)}}, path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(UserInputError, match="is damaged or not a PyTorch file"):
        load_checkpoint(path)
    (tmp_path / "config.yaml").write_text("model: {name: cifar_resnet20}\n")
    with pytest.raises(UserInputError, match=r"config\.yaml is damaged or not a PyTorch file"):
        load_checkpoint(tmp_path / "config.yaml")
    torch.save({"w": torch.ones(1)}, tmp_path / "plain.pt")
    with pytest.raises(UserInputError, match="is not a resnetlab checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")
    with pytest.raises(UserInputError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
