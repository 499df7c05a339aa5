from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from resnetlab.errors import UserInputError
from resnetlab.inference.trained import Trained, decode_image, input_normalization, load_trained, trained_config
from resnetlab.models import create_model
from resnetlab.runs.checkpoint import save_checkpoint


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


def test_images_of_any_size_and_mode_become_the_training_input(tmp_path: Path) -> None:
    Image.new("RGBA", (40, 20), (200, 100, 50, 255)).save(tmp_path / "wide.png")
    gray = decode_image(tmp_path / "wide.png", channels=1, height=8, width=8)
    color = decode_image(tmp_path / "wide.png", channels=3, height=8, width=8)
    assert (gray.shape, color.shape, gray.dtype) == ((1, 8, 8), (3, 8, 8), torch.uint8)
    assert color[:, 4, 4].tolist() == [200, 100, 50]


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


def test_a_rectangular_input_is_the_centre_of_the_image_resized_to_cover_it(tmp_path: Path) -> None:
    bands = np.zeros((20, 60, 3), np.uint8)  # red, green and blue thirds, left to right
    for third in range(3):
        bands[:, 20 * third : 20 * (third + 1), third] = 255
    Image.fromarray(bands).save(tmp_path / "bands.png")
    # 60 x 20 covers 20 x 10 at half size (30 x 10); its centre 20 columns are the last 5 red ones, the 10 green
    # ones and the first 5 blue ones.
    pixels = decode_image(tmp_path / "bands.png", channels=3, height=10, width=20)
    assert pixels.shape == (3, 10, 20) and pixels.dtype == torch.uint8
    assert pixels[:, 5, 0].tolist() == [255, 0, 0]
    assert pixels[:, 5, 10].tolist() == [0, 255, 0]
    assert pixels[:, 5, 19].tolist() == [0, 0, 255]


def test_an_unreadable_image_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(UserInputError, match=r"cannot read image .*broken\.png"):
        decode_image(tmp_path / "broken.png", channels=3, height=8, width=8)


def test_pixels_are_normalised_with_the_records_mean_and_std(trained: Trained) -> None:
    pixels = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 1, 1, 3).expand(2, 3, 32, 3)
    pixels = torch.nn.functional.pad(pixels, (0, 29)).contiguous()  # 32 x 32 images, values in the first columns
    normalised = input_normalization(trained, torch.device("cpu"))(pixels)
    # The record's channel normalisation: (x / 255 - 0.5) / 0.25 for every channel.
    assert torch.allclose(normalised[:, :, :, :3], torch.tensor([-2.0, -1.2, 2.0]).expand(2, 3, 32, 3))
    assert torch.allclose(normalised[:, :, :, 3:], torch.tensor(-2.0))


def test_only_a_runs_model_carries_a_training_config(trained: Trained) -> None:
    with pytest.raises(UserInputError, match=r"model\.pt holds no training config; it cannot be evaluated on its data"):
        trained_config(trained)
    config = {"model": {"name": "cifar_resnet20"}}
    assert trained_config(Trained(trained.model, trained.record, Path("run"), config)) is config
