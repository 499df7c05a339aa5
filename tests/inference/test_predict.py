from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from resnetlab.config import TrainConfig
from resnetlab.errors import UserInputError
from resnetlab.inference.predict import expand_image_paths, predict
from resnetlab.inference.trained import load_trained
from resnetlab.train.loop import train


def test_paths_from_files_folders_and_patterns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/1.png", "a/b/2.jpg", "3.png"):
        Image.new("L", (8, 8)).save(tmp_path / name)
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    monkeypatch.chdir(tmp_path)
    assert expand_image_paths(["a"]) == [Path("a/1.png"), Path("a/b/2.jpg")]
    assert expand_image_paths(["*.png", "a/1.png"]) == [Path("3.png"), Path("a/1.png")]
    with pytest.raises(UserInputError, match=r"missing\.png is not an image file, a folder or a pattern"):
        expand_image_paths(["missing.png"])


def test_predictions_carry_class_names_and_sum_to_one(tiny_config: TrainConfig, tmp_path: Path) -> None:
    run = train(tiny_config, out=tmp_path / "run", show_progress=False).run_dir
    Image.new("L", (8, 8), 128).save(tmp_path / "x.png")
    rows = predict(load_trained(run, torch.device("cpu")), [tmp_path / "x.png"], topk=10)
    assert [len(row["top"]) for row in rows] == [10]
    assert sorted(t["class"] for t in rows[0]["top"]) == [str(i) for i in range(10)]
    assert sum(t["probability"] for t in rows[0]["top"]) == pytest.approx(1.0, abs=1e-4)
