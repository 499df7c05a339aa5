from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from resnetlab.config import TrainConfig
from resnetlab.errors import UserInputError
from resnetlab.inference.evaluate_run import evaluate_checkpoint, open_trained, sample_images
from resnetlab.inference.trained import Trained
from resnetlab.train.loop import train


def test_eval_on_data_with_other_classes_is_refused(tiny_config: TrainConfig, tmp_path: Path) -> None:
    run = train(tiny_config, out=tmp_path / "run", show_progress=False).run_dir
    for name in ("cat", "dog"):
        (tmp_path / "pets" / name).mkdir(parents=True)
        for index in range(3):
            Image.fromarray(np.full((8, 8), 40 * index, np.uint8)).save(tmp_path / "pets" / name / f"{index}.png")
    with pytest.raises(UserInputError, match=r"the data's classes \(cat, dog, \.\.\.\) are not the checkpoint's"):
        evaluate_checkpoint(run, data_path=str(tmp_path / "pets"))


def test_eval_reproduces_the_reported_accuracy(tiny_config: TrainConfig, tmp_path: Path) -> None:
    result = train(tiny_config, out=tmp_path / "run", show_progress=False)
    again, classes = evaluate_checkpoint(result.run_dir)
    assert classes == [str(i) for i in range(10)]
    assert again.top1 == pytest.approx(result.test.top1)
    assert again.count == result.test.count


def test_a_model_without_a_training_config_needs_data_to_be_evaluated_on(trained: Trained) -> None:
    with pytest.raises(UserInputError, match="holds no training config; it cannot be evaluated on its data"):
        open_trained(trained)


def test_sampled_images_are_a_seeded_draw_per_purpose_in_the_models_view(
    tiny_config: TrainConfig, tmp_path: Path
) -> None:
    run = train(tiny_config, out=tmp_path / "run", show_progress=False).run_dir
    opened = open_trained(run, torch.device("cpu"))
    images, labels = sample_images(opened, "train", 40, "calibration")
    assert images.shape == (40, *opened.splits.train.image_shape) and images.dtype == torch.float32
    assert labels.shape == (40,) and labels.min() >= 0 and labels.max() < len(opened.trained.classes)
    assert len(set(labels.tolist())) > 1  # a random sample, not the first images of one class
    again, again_labels = sample_images(open_trained(run, torch.device("cpu")), "train", 40, "calibration")
    assert torch.equal(images, again) and torch.equal(labels, again_labels)
    other, _ = sample_images(opened, "train", 40, "another purpose")
    assert not torch.equal(images, other)
