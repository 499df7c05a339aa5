from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from resnetlab.config import TrainConfig
from resnetlab.errors import UserInputError
from resnetlab.inference.evaluate_run import evaluate_checkpoint
from resnetlab.inference.predict import expand_image_paths, predict
from resnetlab.inference.trained import decode_image, load_trained
from resnetlab.models import create_model
from resnetlab.runs.checkpoint import save_checkpoint
from resnetlab.train.loop import train


def _checkpoint(tmp_path: Path, model_name: str, weights_of: str) -> Path:
    path = tmp_path / "other.pt"
    options = {"num_classes": 10, "in_chans": 1}
    state = {
        "model_name": model_name,
        "model_options": options,
        "model": create_model(weights_of, **options).state_dict(),
        "classes": [str(i) for i in range(10)],
        "preprocess": {"normalize": "channel", "mean": [0.5], "std": [0.25], "input_size": [1, 8, 8]},
    }
    save_checkpoint(state, path)
    return path


def test_a_checkpoint_of_another_architecture_is_refused(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path, "cifar_resnet20", weights_of="cifar_resnet32")
    with pytest.raises(UserInputError, match="does not fit cifar_resnet20: its weights differ"):
        load_trained(path, torch.device("cpu"))


def test_a_checkpoint_without_a_model_record_is_refused(tmp_path: Path) -> None:
    save_checkpoint({"model": {}}, tmp_path / "bare.pt")
    with pytest.raises(UserInputError, match="lacks model_name, model_options, classes, preprocess"):
        load_trained(tmp_path / "bare.pt", torch.device("cpu"))


def test_eval_on_data_with_other_classes_is_refused(tiny_config: TrainConfig, tmp_path: Path) -> None:
    run = train(tiny_config, out=tmp_path / "run", show_progress=False).run_dir
    for name in ("cat", "dog"):
        (tmp_path / "pets" / name).mkdir(parents=True)
        for index in range(3):
            Image.fromarray(np.full((8, 8), 40 * index, np.uint8)).save(tmp_path / "pets" / name / f"{index}.png")
    with pytest.raises(UserInputError, match=r"the data's classes \(cat, dog, \.\.\.\) are not the checkpoint's"):
        evaluate_checkpoint(run, data_path=str(tmp_path / "pets"))


def test_images_of_any_size_and_mode_become_the_training_input(tmp_path: Path) -> None:
    Image.new("RGBA", (40, 20), (200, 100, 50, 255)).save(tmp_path / "wide.png")
    gray = decode_image(tmp_path / "wide.png", channels=1, height=8, width=8)
    color = decode_image(tmp_path / "wide.png", channels=3, height=8, width=8)
    assert (gray.shape, color.shape, gray.dtype) == ((1, 8, 8), (3, 8, 8), torch.uint8)
    assert color[:, 4, 4].tolist() == [200, 100, 50]


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


def test_a_state_dict_saved_as_pt_opens_as_pretrained_weights(tmp_path: Path) -> None:
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "resnet18.pt")
    trained = load_trained(tmp_path / "resnet18.pt", torch.device("cpu"))
    assert trained.record.model_name == "resnet18" and len(trained.classes) == 1000
    assert trained.record.preprocess.input_size == (3, 224, 224) and trained.record.preprocess.pixel_mean is None


def test_prediction_decodes_an_image_as_the_in_memory_folder_trained_on_it(tmp_path: Path) -> None:
    """One decoder: a square network's input is the folder's training decode of the same file, pixel for pixel."""
    from PIL import Image

    from resnetlab.data.folder import decode_square
    from resnetlab.data.views import SquareView
    from resnetlab.inference.trained import decode_image

    path = tmp_path / "wide.jpg"
    pixels = np.random.default_rng(0).integers(0, 256, size=(45, 70, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=90)
    assert torch.equal(decode_image(path, 3, 32, 32), SquareView(32)(str(path)))
    grey = decode_image(path, 1, 8, 8)
    assert grey.shape == (1, 8, 8) and torch.equal(
        grey[0], torch.from_numpy(np.array(decode_square(path, 8, grey=True)))
    )
