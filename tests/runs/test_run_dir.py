from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from resnetlab.config import TrainConfig
from resnetlab.errors import UserInputError
from resnetlab.runs.run_dir import MetricsLog, existing_run_dir, new_run_dir, read_metrics
from resnetlab.train.loop import TrainingInterruptedError, resume, train
from tests.helpers.interrupt import ctrl_c_at_step


def test_an_existing_run_directory_is_never_overwritten(tiny_config: TrainConfig, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UserInputError, match="already exists; continue it with --resume"):
        train(tiny_config, out=out, show_progress=False)
    train(tiny_config, out=out, force=True, show_progress=False)
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("run.replaced-")]
    assert len(kept) == 1 and (kept[0] / "notes.txt").read_text() == "mine"


def test_resume_counts_wall_time_from_where_the_run_stopped(tiny_config: TrainConfig, tmp_path: Path) -> None:
    with ctrl_c_at_step(30), pytest.raises(TrainingInterruptedError):  # in epoch 2: the last checkpoint is epoch 1's
        train(tiny_config, out=tmp_path / "run", show_progress=False)
    time.sleep(0.5)  # time between the stop and the resume is not training time
    resume(tmp_path / "run", show_progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    walls = [r["wall_seconds"] for r in records]
    assert walls == sorted(walls)
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]
    assert not torch.are_deterministic_algorithms_enabled()  # the run's deterministic mode ended with it


def test_a_disk_too_full_for_the_checkpoints_is_refused_before_anything_is_written(
    tiny_config: TrainConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import resnetlab.runs.run_dir as run_dir_module

    def nearly_full(path: Path) -> shutil._ntuple_diskusage:
        return shutil._ntuple_diskusage(total=10**9, used=10**9 - 2**20, free=2**20)

    monkeypatch.setattr(run_dir_module.shutil, "disk_usage", nearly_full)
    with pytest.raises(UserInputError, match=r"not enough free space in .*: 1 MiB free, the run's checkpoints need"):
        train(tiny_config, out=tmp_path / "new" / "run", show_progress=False)
    assert not (tmp_path / "new").exists()


def test_without_an_out_each_run_gets_a_fresh_folder_named_for_it(tmp_path: Path) -> None:
    first = new_run_dir(None, tmp_path / "runs", "cifar_resnet20-digits", force=False)
    second = new_run_dir(None, tmp_path / "runs", "cifar_resnet20-digits", force=False)
    assert first.is_dir() and second.is_dir() and first != second
    assert first.parent == second.parent == tmp_path / "runs"
    assert all(p.name.split("-", 2)[2].startswith("cifar_resnet20-digits") for p in (first, second))
    assert not list(first.iterdir())  # the write probe is gone


def test_an_empty_out_folder_is_used_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    assert new_run_dir(tmp_path / "run", tmp_path, "unused", force=False) == tmp_path / "run"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_only_a_folder_with_a_config_and_a_last_checkpoint_is_resumable(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("{}\n")
    with pytest.raises(UserInputError, match=r"is not a resumable run directory \(needs config\.yaml and last\.pt\)"):
        existing_run_dir(tmp_path)
    (tmp_path / "last.pt").write_bytes(b"")
    assert existing_run_dir(tmp_path) == tmp_path
    assert existing_run_dir(tmp_path / "last.pt") == tmp_path  # a file of the run names its folder


def test_a_resumed_log_drops_what_followed_the_checkpoint_and_keeps_counting_time(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    lines = [
        {"kind": "iteration", "iteration": 5, "wall_seconds": 10.0},
        {"kind": "epoch", "iteration": 8, "wall_seconds": 16.0},
        {"kind": "iteration", "iteration": 10, "wall_seconds": 20.0},  # after the checkpoint at 8: logged again
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"kind": "iterat')  # a write cut short
    log = MetricsLog(path, resume_after_iteration=8)
    log.write({"kind": "iteration", "iteration": 10})
    log.close()
    records = read_metrics(tmp_path)
    assert [(r["kind"], r["iteration"]) for r in records] == [("iteration", 5), ("epoch", 8), ("iteration", 10)]
    assert 16.0 <= records[-1]["wall_seconds"] < 16.0 + 60  # from the kept lines' time on, not from zero


def test_the_metrics_of_a_run_are_read_past_a_line_cut_short(tmp_path: Path) -> None:
    assert read_metrics(tmp_path) == []  # no log yet
    log = MetricsLog(tmp_path / "metrics.jsonl")
    log.write({"kind": "iteration", "iteration": 1, "train_loss": 2.0})
    log.close()
    with open(tmp_path / "metrics.jsonl", "a") as stream:
        stream.write('{"kind": "iteration", "itera')
    (record,) = read_metrics(tmp_path)
    assert record["train_loss"] == 2.0 and record["wall_seconds"] >= 0 and record["time"] <= time.time()
