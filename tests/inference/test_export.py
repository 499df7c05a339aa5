from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
import torchvision

from resnetlab.errors import UserInputError
from resnetlab.inference.export import export_model, read_metadata
from resnetlab.inference.trained import Trained, open_pretrained
from resnetlab.models import create_model
from resnetlab.models.record import ModelRecord, Preprocess
from tests.data.fakes import write_photos


@pytest.fixture(scope="module")
def resnet50(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """A torchvision ResNet-50 state dict on disk, opened as a user's pretrained weights (random, nothing downloads)."""
    path = tmp_path_factory.mktemp("weights") / "resnet50.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet50().state_dict(), path)
    return open_pretrained(str(path), torch.device("cpu"))


@pytest.fixture(scope="module")
def cifar_resnet20() -> Trained:
    torch.manual_seed(0)
    model = create_model("cifar_resnet20").eval()
    record = ModelRecord(
        model_name="cifar_resnet20",
        model_options={"num_classes": 10},
        classes=tuple(f"class {i}" for i in range(10)),
        preprocess=Preprocess("channel", mean=(0.49, 0.48, 0.45), std=(0.25, 0.24, 0.26), input_size=(3, 32, 32)),
    )
    return Trained(model, record, Path("cifar_resnet20.pt"))


def _random_batch(size: int, trained: Trained) -> torch.Tensor:
    _, height, width = trained.record.preprocess.input_size
    return torch.randn(size, 3, height, width, generator=torch.Generator().manual_seed(size))


@pytest.mark.parametrize("name", ["resnet50", "cifar_resnet20"])
def test_onnx_export_runs_in_onnx_runtime_at_any_batch_size(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    trained: Trained = request.getfixturevalue(name)
    photos = sorted(write_photos(tmp_path / "photos", classes=1, per_class=3).rglob("*.jpg"))
    result = export_model(trained, tmp_path / "model.onnx", format="onnx", images=photos)
    assert result.max_difference < 1e-4 and result.batch_sizes == (3, 1) and result.inputs == "3 images"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "photos"]  # self-contained, no side files

    graph = onnx.load(str(result.path))
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # a named, free batch axis
    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    batch = _random_batch(5, trained)  # a batch size the export never saw
    (logits,) = session.run(None, {"images": batch.numpy()})
    with torch.no_grad():
        expected = trained.model(batch).numpy()
    assert logits.shape == expected.shape and np.abs(logits - expected).max() < 1e-4

    metadata = read_metadata(result.path)
    assert metadata["classes"] == trained.classes and metadata["mean"] == list(trained.record.preprocess.mean)
    assert metadata["input_size"] == list(trained.record.preprocess.input_size)


@pytest.mark.parametrize("name", ["resnet50", "cifar_resnet20"])
def test_torchscript_export_loads_and_agrees_at_any_batch_size(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    trained: Trained = request.getfixturevalue(name)
    result = export_model(trained, tmp_path / "model.ts", format="torchscript")
    assert result.max_difference < 1e-4 and result.inputs == "random inputs"
    loaded = torch.jit.load(str(result.path))
    batch = _random_batch(5, trained)
    with torch.no_grad():
        assert (loaded(batch) - trained.model(batch)).abs().max().item() < 1e-4
    assert read_metadata(result.path)["model_name"] == name


def test_a_fixed_batch_export_has_a_fixed_batch_axis(cifar_resnet20: Trained, tmp_path: Path) -> None:
    result = export_model(cifar_resnet20, tmp_path / "fixed.onnx", format="onnx", dynamic_batch=False)
    dim = onnx.load(str(result.path)).graph.input[0].type.tensor_type.shape.dim[0]
    assert result.batch_sizes == (1,) and dim.dim_value == 1 and not dim.dim_param


def test_exporting_onto_a_directory_or_into_a_missing_one_is_refused(cifar_resnet20: Trained, tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="is a directory; give the file to write"):
        export_model(cifar_resnet20, tmp_path, format="onnx")
    with pytest.raises(UserInputError, match=r"the folder .*nowhere does not exist; create it or choose another --out"):
        export_model(cifar_resnet20, tmp_path / "nowhere" / "model.ts", format="torchscript")
    assert list(tmp_path.iterdir()) == []


def test_an_opset_the_exporter_cannot_target_is_one_line(cifar_resnet20: Trained, tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"ONNX export cannot target opset 1 \(the exporter produced 18\)"):
        export_model(cifar_resnet20, tmp_path / "model.onnx", format="onnx", opset=1)
    assert list(tmp_path.iterdir()) == []
