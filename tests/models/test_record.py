from __future__ import annotations

import json

import pytest
import torch

from resnetlab.errors import UserInputError
from resnetlab.models.record import ModelRecord, Preprocess


def test_a_malformed_record_is_one_clear_error() -> None:
    with pytest.raises(UserInputError, match="lacks classes, preprocess: it is not a trained model's checkpoint"):
        ModelRecord.from_dict({"model_name": "x", "model_options": {}}, "odd.pt")
    stored = {"model_name": "x", "model_options": {}, "classes": [], "preprocess": {"normalize": "pixel_mean"}}
    with pytest.raises(UserInputError, match=r"odd\.pt holds a malformed model record \(no 'input_size'\)"):
        ModelRecord.from_dict(stored, "odd.pt")
    stored["preprocess"] = {"normalize": "pixel_mean", "mean": [0.5], "std": [1.0], "input_size": [1, 2, 2]}
    with pytest.raises(UserInputError, match="per-pixel mean subtraction needs the pixel mean"):
        ModelRecord.from_dict(stored, "odd.pt")


def _record(**preprocess: object) -> ModelRecord:
    return ModelRecord(
        model_name="cifar_resnet20",
        model_options={"num_classes": 2, "in_chans": 3},
        classes=("cat", "dog"),
        preprocess=Preprocess(
            **{"normalize": "channel", "mean": (0.4,) * 3, "std": (0.2,) * 3, "input_size": (3, 32, 32), **preprocess}
        ),  # type: ignore[arg-type]
    )


def test_a_record_with_a_pixel_mean_is_stored_with_the_mean_beside_it_and_read_back_whole() -> None:
    pixel_mean = torch.rand(3, 32, 32)
    record = _record(normalize="pixel_mean", pixel_mean=pixel_mean, resize=36)
    stored = record.to_dict()
    assert stored["pixel_mean"] is pixel_mean and "pixel_mean" not in stored["preprocess"]
    plain = {k: v for k, v in stored.items() if k != "pixel_mean"}
    assert json.loads(json.dumps(plain)) == plain  # the rest is plain values
    again = ModelRecord.from_dict({**stored, "model": {}, "optimizer": {}}, "last.pt")  # other keys are left
    assert again == record and again.preprocess.resize == 36
    assert again.preprocess.pixel_mean is not None and torch.equal(again.preprocess.pixel_mean, pixel_mean)


def test_the_metadata_is_one_json_string_per_key_without_the_pixel_mean() -> None:
    record = _record(pixel_mean=torch.rand(3, 32, 32))  # stored by runs whatever their normalisation
    metadata = record.to_metadata()
    assert set(metadata) == {"model_name", "model_options", "classes", "preprocess"}
    assert all(isinstance(value, str) for value in metadata.values())
    assert json.loads(metadata["classes"]) == ["cat", "dog"]
    again = ModelRecord.from_metadata(metadata, "model.safetensors")
    assert again == record and again.preprocess.pixel_mean is None


def test_a_version_1_record_without_resize_reads_as_cover_and_crop() -> None:
    stored = _record().to_dict()
    del stored["preprocess"]["resize"]  # version 1 files predate streamed folders
    assert ModelRecord.from_dict(stored, "old.pt").preprocess.resize is None


def test_malformed_metadata_and_an_unknown_normalisation_are_one_clear_error() -> None:
    metadata = _record().to_metadata() | {"classes": "[cat"}
    with pytest.raises(UserInputError, match=r"model\.safetensors holds a malformed model record"):
        ModelRecord.from_metadata(metadata, "model.safetensors")
    stored = _record().to_dict()
    stored["preprocess"]["normalize"] = "zscore"
    with pytest.raises(UserInputError, match=r"malformed model record .*normalize must be channel or pixel_mean"):
        ModelRecord.from_dict(stored, "odd.pt")
