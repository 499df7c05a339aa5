"""The fine-tuning workflow as a user runs it: finetune, then predict, embed, export and explain the result."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from resnetlab.inference import openvino_float
from tests.data.fakes import write_photos
from tests.helpers.command import resnetlab, resnetlab_here


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("transfer")
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), root / "resnet18.pth")  # stands in for downloaded weights
    write_photos(root / "photos", classes=3, per_class=5)
    return root


@pytest.fixture(scope="module")
def finetuned(workspace: Path) -> Path:
    result = resnetlab_here(
        "finetune",
        str(workspace / "photos"),
        "--init",
        str(workspace / "resnet18.pth"),
        "--freeze-stages",
        "2",
        "--epochs",
        "1",
        "--out",
        str(workspace / "run"),
        "--no-progress",
        # 64-px crops keep the test short; everything else is the recipe as shipped.
        "--set",
        "data.crop_size=64",
        "--set",
        "data.scale_range=[72, 90]",
        "--set",
        "data.eval_resize=72",
        "--set",
        f"data.cache_dir={workspace / 'cache'}",
    )
    assert result.returncode == 0, result.stderr
    assert f"fine-tuning {workspace / 'resnet18.pth'}" in result.stderr
    assert "test accuracy" in result.stdout
    return workspace / "run"


def test_predict_writes_csv_with_the_top_classes(finetuned: Path, workspace: Path) -> None:
    out = workspace / "predictions.csv"
    result = resnetlab_here(
        "predict", str(finetuned), str(workspace / "photos"), "--topk", "2", "--format", "csv", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"15 predictions: {out}"
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 15 and list(rows[0]) == ["path", "class_1", "probability_1", "class_2", "probability_2"]
    assert all(row["class_1"] in {"class_0", "class_1", "class_2"} for row in rows)
    assert all(float(row["probability_1"]) >= float(row["probability_2"]) for row in rows)


@pytest.mark.skipif(not openvino_float.available(), reason="OpenVINO (the int8 extra) is not installed")
def test_predict_gives_the_same_top_classes_on_either_engine(finetuned: Path, workspace: Path) -> None:
    tops = {}
    for engine in ("pytorch", "openvino"):
        args = ("predict", str(finetuned), str(workspace / "photos"), "--format", "json", "--engine", engine)
        result = resnetlab_here(*args, "--device", "cpu")
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        tops[engine] = [(row["path"], row["top"][0]["class"]) for row in rows]
    agree = sum(a == b for a, b in zip(tops["pytorch"], tops["openvino"], strict=True))
    assert len(tops["pytorch"]) == 15 and agree >= 14  # bf16 rounding may flip a near tie


def _with_unreadable_files(folder: Path) -> Path:
    """Two photos of one class, and three files that are no readable image."""
    write_photos(folder, classes=1, per_class=2)
    good = (folder / "class_0" / "000.jpg").read_bytes()
    (folder / "broken.jpg").write_bytes(good[: len(good) // 2])  # truncated
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.jpg").write_text("not an image\n")
    return folder


def test_predict_names_the_unreadable_files_of_a_folder_and_predicts_the_rest(finetuned: Path, tmp_path: Path) -> None:
    folder = _with_unreadable_files(tmp_path / "mixed")
    result = resnetlab_here("predict", str(finetuned), str(folder))
    assert result.returncode == 1, result.stderr  # the predictions are written, and a script notices the skips
    assert len(result.stdout.splitlines()) == 2  # the two photos
    assert len(result.stderr.strip().splitlines()) == 1 and "skipped 3 unreadable image(s)" in result.stderr
    assert all(name in result.stderr for name in ("broken.jpg", "empty.png", "notes.jpg"))
    nothing = resnetlab_here("predict", str(finetuned), str(folder / "empty.png"), str(folder / "notes.jpg"))
    assert nothing.returncode != 0 and "none of the 2 images could be read: " in nothing.stderr
    assert "Traceback" not in nothing.stderr and nothing.stdout == ""


def test_embed_names_the_unreadable_files_and_embeds_the_rest(finetuned: Path, tmp_path: Path) -> None:
    folder = _with_unreadable_files(tmp_path / "mixed")
    result = resnetlab_here("embed", str(finetuned), str(folder), "--out", str(tmp_path / "feats.npy"))
    assert result.returncode == 1 and result.stdout.startswith("2 x 512 features:"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "skipped 3 unreadable image(s)" in result.stderr
    listed = (tmp_path / "feats.txt").read_text().splitlines()
    assert np.load(tmp_path / "feats.npy").shape == (2, 512) and "Traceback" not in result.stderr
    assert [Path(name).name for name in listed] == ["000.jpg", "001.jpg"]  # the rows' images, the skipped ones left out


def test_eval_on_a_folder_with_unreadable_files_evaluates_the_rest_and_exits_1(finetuned: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    write_photos(folder, classes=3, per_class=2)
    (folder / "class_1" / "broken.jpg").write_bytes(b"\xff\xd8 not a whole jpeg")
    result = resnetlab_here("eval", str(finetuned), "--data", str(folder))
    assert result.returncode == 1 and f"on 6 images of {folder}" in result.stdout, result.stderr
    assert "skipped 1 file(s)" in result.stderr and "broken.jpg" in result.stderr and "Traceback" not in result.stderr


def test_embed_writes_one_row_per_image(finetuned: Path, workspace: Path) -> None:
    result = resnetlab_here("embed", str(finetuned), str(workspace / "photos"), "--out", str(workspace / "feats.npy"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("15 x 512 features:")
    assert np.load(workspace / "feats.npy").shape == (15, 512)


@pytest.mark.parametrize(("format", "suffix"), [("onnx", ".onnx"), ("torchscript", ".ts")])
def test_export_checks_the_file_against_pytorch(finetuned: Path, workspace: Path, format: str, suffix: str) -> None:
    photo = str(next((workspace / "photos" / "class_0").glob("*.jpg")))
    # A child process: a fresh interpreter prints the warnings an import would, which this process printed long ago.
    result = resnetlab("export", str(finetuned), "--format", format, "--images", photo)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no deprecation or exporter noise
    assert f"exported: {finetuned / ('model' + suffix)}" in result.stdout
    difference = float(result.stdout.split("PyTorch ")[1].split(" ")[0])
    assert difference < 1e-4 and "on 1 images, batch 2 and 1" in result.stdout


def test_explain_writes_a_heatmap_png_of_the_images_size(finetuned: Path, workspace: Path) -> None:
    photo = next((workspace / "photos" / "class_1").glob("*.jpg"))
    result = resnetlab_here("explain", str(finetuned), str(photo), "--out", str(workspace / "cam.png"))
    assert result.returncode == 0, result.stderr
    assert "Grad-CAM:" in result.stdout
    with Image.open(photo) as original, Image.open(workspace / "cam.png") as heatmap:
        assert heatmap.size == original.size


def test_pretrained_weights_predict_with_the_classes_they_carry(workspace: Path) -> None:
    photo = str(next((workspace / "photos" / "class_0").glob("*.jpg")))
    result = resnetlab_here("predict", str(workspace / "resnet18.pth"), photo, "--format", "json")
    assert result.returncode == 0, result.stderr
    top = json.loads(result.stdout)["top"][0]["class"]
    assert top in torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]  # the names travel along


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["finetune", "photos", "--init", "nowhere.pth"], "nowhere.pth is not a weights file, a run directory"),
        (["finetune", "photos", "--init", "torchvision:resnet51"], "torchvision has no model 'resnet51'"),
        (["export", "resnet18.pth", "--out", "."], "is a directory; give the file to write"),
        (["predict", "resnet18.pth", "photos", "--json", "--format", "csv"], "--json and --format csv contradict"),
        (["embed", "resnet18.pth", "photos", "--out", "feats.csv"], "--out must name a .npy file"),
    ],
)
def test_transfer_mistakes_are_one_line(argv: list[str], message: str, workspace: Path) -> None:
    argv = [str(workspace / a) if a in ("photos", "resnet18.pth") else a for a in argv]
    result = resnetlab_here(*argv)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_eval_on_another_folder_counts_all_of_it_or_its_own_val_part(finetuned: Path, tmp_path: Path) -> None:
    write_photos(tmp_path / "mine", classes=3, per_class=4)
    result = resnetlab_here("eval", str(finetuned), "--data", str(tmp_path / "mine"))
    assert result.returncode == 0, result.stderr
    assert f"on 12 images of {tmp_path / 'mine'}" in result.stdout  # every image: none held out of data to evaluate
    write_photos(tmp_path / "split" / "train", classes=3, per_class=4)
    write_photos(tmp_path / "split" / "val", classes=3, per_class=2)
    result = resnetlab_here("eval", str(finetuned), "--data", str(tmp_path / "split"))
    assert result.returncode == 0, result.stderr
    assert f"on 6 images of {tmp_path / 'split'}" in result.stdout  # its val/ part
    own = json.loads((finetuned / "test_metrics.json").read_text())["count"]
    result = resnetlab_here("eval", str(finetuned))
    assert result.returncode == 0 and result.stdout.rstrip().endswith(f"on {own} images")  # the run's test split
