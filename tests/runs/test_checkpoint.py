from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import torch

from resnetlab.errors import UserInputError
from resnetlab.runs.checkpoint import (
    CheckpointFallbackWarning,
    DamagedCheckpointError,
    load_checkpoint,
    load_checkpoint_or_previous,
    previous_path,
    save_checkpoint,
)


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


def _flip_a_payload_byte(path: Path) -> None:
    """Damage that still unpickles: one byte of the tensors changed (the outer file stays a valid PyTorch file)."""
    wrapped = torch.load(path, weights_only=True)
    wrapped["payload"][-200] ^= 0xFF
    torch.save(wrapped, path)


def test_damage_that_still_unpickles_is_caught_by_the_digest(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint({"model": {"w": torch.arange(1000.0)}}, path)
    _flip_a_payload_byte(path)
    with pytest.raises(DamagedCheckpointError, match=r"last\.pt is damaged \(its content does not match its SHA-256\)"):
        load_checkpoint(path)


def test_the_previous_checkpoint_is_kept_and_taken_with_a_warning_when_the_latest_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint({"progress": {"iteration": 10}}, path)
    save_checkpoint({"progress": {"iteration": 20}}, path)
    assert load_checkpoint(previous_path(path))["progress"] == {"iteration": 10}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "last.pt.prev"]
    assert load_checkpoint_or_previous(path)["progress"] == {"iteration": 20}

    _flip_a_payload_byte(path)
    with pytest.warns(
        CheckpointFallbackWarning,
        match=r"does not match its SHA-256\); continuing from the checkpoint before it, .*last\.pt\.prev",
    ):
        assert load_checkpoint_or_previous(path)["progress"] == {"iteration": 10}
    path.write_bytes(path.read_bytes()[:100])  # cut short as well: the same fallback
    with pytest.warns(CheckpointFallbackWarning):
        assert load_checkpoint_or_previous(path)["progress"] == {"iteration": 10}


def test_a_damaged_checkpoint_with_no_previous_one_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint({"progress": {"iteration": 10}}, path)
    _flip_a_payload_byte(path)
    with pytest.raises(DamagedCheckpointError, match="is damaged"):
        load_checkpoint_or_previous(path)


def test_version_1_checkpoints_without_a_digest_still_load(tmp_path: Path) -> None:
    torch.save({"format": "resnetlab-checkpoint", "version": 1, "model": {"w": torch.ones(2)}}, tmp_path / "v1.pt")
    assert torch.equal(load_checkpoint(tmp_path / "v1.pt")["model"]["w"], torch.ones(2))


def test_a_payload_carrying_objects_is_refused_too(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    torch.save({"model": Payload()}, buffer)
    payload = buffer.getvalue()
    wrapped = {
        "format": "resnetlab-checkpoint",
        "version": 2,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8),
    }
    torch.save(wrapped, tmp_path / "evil.pt")
    with pytest.raises(UserInputError, match=r"refusing to load .*evil\.pt: .*a pickled .*Payload"):
        load_checkpoint(tmp_path / "evil.pt")


def test_a_disk_that_fills_up_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    path = tmp_path / "last.pt"
    save_checkpoint({"progress": {"iteration": 10}}, path)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)  # the write "succeeds", flushing it to disk does not
    with pytest.raises(UserInputError, match=r"cannot write checkpoint .*last\.pt: No space left on device; .* still"):
        save_checkpoint({"progress": {"iteration": 20}}, path)
    assert load_checkpoint(path)["progress"] == {"iteration": 10}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no partial file left behind


@pytest.mark.parametrize(
    ("loop", "missing"),
    [
        ({"progress": {"epoch": 0, "batch": 0, "warming_up": False, "best_top1": -1.0}, "rng": {}}, "iteration"),
        (
            {"progress": {"epoch": 0, "batch": 0, "iteration": 0, "warming_up": False, "best_top1": -1.0}, "rng": {}},
            "rng",
        ),
    ],
)
def test_a_malformed_training_state_is_one_line_when_the_file_is_read(
    tmp_path: Path, loop: dict[str, object], missing: str
) -> None:
    from resnetlab.errors import UserInputError
    from resnetlab.runs.checkpoint import read_training_checkpoint

    record = {
        "model_name": "cifar_resnet20",
        "model_options": {},
        "model": {"w": torch.ones(1)},
        "classes": ["a"],
        "preprocess": {"normalize": "channel", "mean": [0.5], "std": [0.25], "input_size": [1, 8, 8]},
    }
    save_checkpoint({**record, **loop, "optimizer": {}}, tmp_path / "last.pt")
    with pytest.raises(UserInputError, match=rf"last\.pt holds a malformed training state \(KeyError: .*{missing}"):
        read_training_checkpoint(tmp_path / "last.pt")
