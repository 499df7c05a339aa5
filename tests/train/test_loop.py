from __future__ import annotations

import dataclasses
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from resnetlab.config import TrainConfig, load_config
from resnetlab.errors import UserInputError
from resnetlab.inference.evaluate_run import evaluate_checkpoint
from resnetlab.runs.checkpoint import load_checkpoint
from resnetlab.train.loop import TrainingDivergedError, TrainingInterruptedError, resume, train
from tests.helpers.interrupt import ctrl_c_at_step


def test_a_run_writes_its_record_and_learns(tiny_config: TrainConfig, tmp_path: Path) -> None:
    result = train(tiny_config, out=tmp_path / "run", show_progress=False)
    run = result.run_dir
    expected = {"config.yaml", "environment.json", "metrics.jsonl", "last.pt", "best.pt", "model.safetensors"}
    assert expected | {"test_metrics.json", "error.png", "loss_lr.png"} <= {p.name for p in run.iterdir()}
    saved = load_config(run / "config.yaml")
    assert saved.runtime.precision in ("fp32", "bf16")  # "auto" is recorded as what it chose
    assert saved.runtime.channels_last in (True, False)  # and so is the memory format's
    chosen = dataclasses.replace(saved.runtime, precision="auto", channels_last="auto")
    assert dataclasses.replace(saved, runtime=chosen) == tiny_config
    assert result.test.top1 > 0.5  # 10 classes: chance is 0.1
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]
    assert all(0 <= r["data_wait_share"] <= 1 for r in records if r["kind"] == "epoch")
    weights = load_file(str(run / "model.safetensors"))
    assert torch.equal(weights["fc.weight"], load_checkpoint(run / "last.pt")["model"]["fc.weight"])
    assert not list(run.glob(".*partial"))


def test_resume_mid_epoch_ends_with_identical_weights(tiny_config: TrainConfig, tmp_path: Path) -> None:
    config = dataclasses.replace(tiny_config, runtime=dataclasses.replace(tiny_config.runtime, checkpoint_every=7))
    full = train(config, out=tmp_path / "full", show_progress=False)

    # Interrupt a second run right after its mid-epoch checkpoint at iteration 7, then resume it.
    with (
        ctrl_c_at_step(10),  # after iteration 9: the last checkpoint is from iteration 7
        pytest.raises(
            TrainingInterruptedError, match="continue from the last checkpoint with `resnetlab train --resume"
        ),
    ):
        train(config, out=tmp_path / "cut", show_progress=False)
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["progress"]["iteration"] == 7
    resumed = resume(tmp_path / "cut", show_progress=False)

    full_weights = load_checkpoint(full.run_dir / "last.pt")["model"]
    resumed_weights = load_checkpoint(resumed.run_dir / "last.pt")["model"]
    assert all(torch.equal(full_weights[k], resumed_weights[k]) for k in full_weights)
    assert resumed.test.top1 == full.test.top1
    with pytest.raises(UserInputError, match="cut has finished; evaluate it with `resnetlab eval"):
        resume(tmp_path / "cut", show_progress=False)

    # Nothing logged twice or lost, and the log windows cut by the interruption report what the full run reports.
    def logged(run: str) -> list[tuple[object, ...]]:
        records = [json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        return [(r["kind"], r["iteration"], r.get("train_loss"), r.get("train_error")) for r in records]

    assert logged("cut") == logged("full")


def test_divergence_stops_with_a_message_and_keeps_the_last_checkpoint(
    tiny_config: TrainConfig, tmp_path: Path
) -> None:
    config = dataclasses.replace(tiny_config, optim=dataclasses.replace(tiny_config.optim, lr=1e12))
    with pytest.raises(
        TrainingDivergedError, match="became NaN or infinite by iteration 5; no checkpoint had been written yet"
    ):
        train(config, out=tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run" / "last.pt").exists()


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    """The acceptance case as a user meets it: `kill -9` on `resnetlab train`, then `resnetlab train --resume`."""
    args = [
        "--epochs", "3", "--deterministic", "--no-progress",
        "--set", "runtime.checkpoint_every=4", "--set", "runtime.log_every=2",
        "--set", f"data.cache_dir={tmp_path / 'cache'}",
    ]  # fmt: skip

    def cli(*argv: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "resnetlab", *argv], text=True, stdout=subprocess.PIPE)

    full = cli("train", *args, "--out", str(tmp_path / "full"))
    victim = cli("train", *args, "--out", str(tmp_path / "cut"))
    checkpoint = tmp_path / "cut" / "last.pt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(random.Random(0).uniform(0.0, 0.5))
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert full.wait() == 0
    killed_at = load_checkpoint(checkpoint)["progress"]["iteration"]
    assert 0 < killed_at < load_checkpoint(tmp_path / "full" / "last.pt")["progress"]["iteration"]

    resumed = cli("train", "--resume", str(tmp_path / "cut"), "--no-progress")
    assert resumed.wait() == 0
    expected = load_checkpoint(tmp_path / "full" / "last.pt")["model"]
    got = load_checkpoint(tmp_path / "cut" / "last.pt")["model"]
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_checkpoints_never_sit_between_an_epochs_last_batch_and_its_record(
    tiny_config: TrainConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint taken at an epoch's last batch, before its epoch record, would log that epoch twice on resume."""
    import resnetlab.train.writer as writer_module

    saved: list[dict[str, int]] = []
    original = writer_module.save_checkpoint

    def record(state: dict[str, object], path: Path) -> None:
        saved.append(state["progress"])  # type: ignore[arg-type]
        original(state, path)

    monkeypatch.setattr(writer_module, "save_checkpoint", record)
    per_epoch = 23  # 1437 digits in batches of 64
    config = dataclasses.replace(tiny_config, runtime=dataclasses.replace(tiny_config.runtime, checkpoint_every=23))
    train(config, out=tmp_path / "run", show_progress=False)
    assert saved and all(progress["batch"] < per_epoch for progress in saved)


def _jpeg_tree(root: Path) -> Path:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", 10), ("val", 3)):
        for label in range(2):
            for i in range(count):
                width, height = (int(v) for v in rng.integers(24, 40, 2))
                base = np.array([30 + 160 * label, 100, 190 - 160 * label])
                pixels = (rng.integers(0, 30, (height, width, 3)) + base).clip(0, 255).astype(np.uint8)
                path = root / split / f"class{label}" / f"{i}.jpg"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels).save(path)
    return root


def test_a_streamed_folder_trains_with_imagenet_augmentation_and_ten_crop_testing(
    tiny_config: TrainConfig, tmp_path: Path
) -> None:
    from resnetlab.inference.predict import predict
    from resnetlab.inference.trained import load_trained

    overrides = {
        "dataset": "folder",
        "path": str(_jpeg_tree(tmp_path / "tree")),
        "augment": "imagenet",
        "crop_size": 16,
        "scale_range": [18, 28],
        "eval_resize": 18,
        "eval_view": "ten_crop",
        "batch_size": 8,
        "workers": 1,
    }
    config = dataclasses.replace(tiny_config, data=dataclasses.replace(tiny_config.data, **overrides))
    result = train(config, out=tmp_path / "run", show_progress=False)
    assert result.test.count == 6 and result.iterations == 6  # 20 images in batches of 8, two epochs
    again, classes = evaluate_checkpoint(result.run_dir)
    assert classes == ["class0", "class1"] and again.top1 == pytest.approx(result.test.top1)
    trained = load_trained(result.run_dir, torch.device("cpu"))
    assert trained.checkpoint["preprocess"]["resize"] == 18
    rows = predict(trained, [tmp_path / "tree" / "val" / "class1" / "0.jpg"], topk=2)
    assert {entry["class"] for entry in rows[0]["top"]} == {"class0", "class1"}
