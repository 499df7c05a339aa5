import dataclasses
from pathlib import Path

import pytest
from PIL import Image

from resnetlab.errors import UserInputError
from resnetlab.inference.explain import explain
from resnetlab.inference.trained import Trained
from tests.data.fakes import write_photos


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
