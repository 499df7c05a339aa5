import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from resnetlab.errors import UserInputError
from resnetlab.inference.embed import embed, save_features
from resnetlab.inference.explain import explain
from resnetlab.inference.trained import Trained, decode_image, input_normalization
from resnetlab.models import create_model
from resnetlab.models.record import ModelRecord, Preprocess
from tests.data.fakes import write_photos


@pytest.fixture
def trained() -> Trained:
    torch.manual_seed(0)
    record = ModelRecord(
        model_name="cifar_resnet20",
        model_options={"num_classes": 3},
        classes=("cat", "dog", "horse"),
        preprocess=Preprocess("channel", mean=(0.5,) * 3, std=(0.25,) * 3, input_size=(3, 32, 32)),
    )
    return Trained(create_model("cifar_resnet20", num_classes=3).eval(), record, Path("model.pt"))


@pytest.mark.parametrize("resize", [None, 40])
def test_explain_writes_a_png_of_the_images_size_with_a_heatmap_that_varies(
    trained: Trained, tmp_path: Path, resize: int | None
) -> None:
    preprocess = dataclasses.replace(trained.record.preprocess, resize=resize)  # cover-and-crop, shorter side first
    trained = dataclasses.replace(trained, record=dataclasses.replace(trained.record, preprocess=preprocess))
    (photo,) = sorted(write_photos(tmp_path / "photos", classes=1, per_class=1).rglob("*.jpg"))
    with Image.open(photo) as image:
        size = image.size
    result = explain(trained, photo, tmp_path / "cam.png")
    with Image.open(result.path) as written:
        assert written.format == "PNG" and written.size == size
    assert result.heatmap.shape == (size[1], size[0]) and result.heatmap.std() > 0.05
    assert result.class_name in trained.classes
    assert explain(trained, photo, tmp_path / "dog.png", "dog").class_name == "dog"


def test_explain_refuses_an_unknown_class_and_a_non_png_output(trained: Trained, tmp_path: Path) -> None:
    (photo,) = sorted(write_photos(tmp_path / "photos", classes=1, per_class=1).rglob("*.jpg"))
    with pytest.raises(UserInputError, match="'zebra' is not one of the model's classes"):
        explain(trained, photo, tmp_path / "cam.png", "zebra")
    with pytest.raises(UserInputError, match=r"must name a \.png file"):
        explain(trained, photo, tmp_path / "cam.jpg")


def test_embed_gives_the_features_the_head_sees_and_a_stages_pooled_map(trained: Trained, tmp_path: Path) -> None:
    photos = sorted(write_photos(tmp_path / "photos", classes=2, per_class=3).rglob("*.jpg"))
    features = embed(trained, photos, batch_size=4)  # two batches
    assert features.shape == (6, 64) and features.dtype == np.float32
    pixels = torch.stack([decode_image(p, 3, 32, 32) for p in photos])
    images = input_normalization(trained, torch.device("cpu"))(pixels)
    with torch.no_grad():
        logits = trained.model(images)
    head = trained.model.fc
    assert np.allclose(head(torch.from_numpy(features)).detach().numpy(), logits.numpy(), atol=1e-4)
    assert embed(trained, photos, stage=1).shape == (6, 16)  # layer1 of a CIFAR ResNet: 16 channels
    with pytest.raises(UserInputError, match=r"--stage must be in 1..3"):
        embed(trained, photos, stage=4)


def test_saved_features_list_their_images_in_row_order(tmp_path: Path) -> None:
    paths = [Path("a.jpg"), Path("b.jpg")]
    listing = save_features(np.ones((2, 4), dtype=np.float32), paths, tmp_path / "feats.npy")
    assert np.load(tmp_path / "feats.npy").shape == (2, 4)
    assert listing.read_text().splitlines() == ["a.jpg", "b.jpg"]
    with pytest.raises(UserInputError, match=r"must name a \.npy file"):
        save_features(np.ones((2, 4)), paths, tmp_path / "feats.csv")
