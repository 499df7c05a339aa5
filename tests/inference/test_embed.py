from pathlib import Path

import numpy as np
import pytest
import torch

from resnetlab.errors import UserInputError
from resnetlab.inference.embed import embed, save_features
from resnetlab.inference.trained import Trained, decode_image, input_normalization
from tests.data.fakes import write_photos


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


def test_an_unreadable_image_goes_to_skip_and_the_rows_are_the_readable_images(
    trained: Trained, tmp_path: Path
) -> None:
    photos = sorted(write_photos(tmp_path / "photos", classes=1, per_class=2).rglob("*.jpg"))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    skipped: list[Path] = []
    features = embed(trained, [photos[0], broken, photos[1]], skip=lambda path, why: skipped.append(path))
    assert skipped == [broken]
    assert np.array_equal(features, embed(trained, photos))  # the same rows as without the broken file
    with pytest.raises(UserInputError, match="cannot read image"):
        embed(trained, [photos[0], broken])


def test_features_are_not_saved_into_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist; create it or choose another --out"):
        save_features(np.ones((1, 4), dtype=np.float32), [Path("a.jpg")], tmp_path / "missing" / "feats.npy")
    assert not (tmp_path / "missing").exists()
