"""`resnetlab train` and `eval` as a user runs them, and the run they leave for `predict`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from resnetlab.cli import main, training
from resnetlab.config import TrainConfig, load_recipe
from tests.helpers.command import resnetlab_here as _run


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`resnetlab train` as a user runs it: the main job, shortened to one epoch."""
    root = tmp_path_factory.mktemp("cli")
    result = _run("train", "--epochs", "1", "--out", str(root / "run"), "--set", f"data.cache_dir={root / 'cache'}")
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout and f"run directory: {root / 'run'}" in result.stdout
    return root / "run"


def test_eval_prints_the_accuracy_train_reported(trained_run: Path) -> None:
    reported = json.loads((trained_run / "test_metrics.json").read_text())["top1"]
    result = _run("eval", str(trained_run), "--per-class")
    assert result.returncode == 0, result.stderr
    assert f"test accuracy {100 * reported:.2f}%" in result.stdout
    assert "  9: " in result.stdout


def test_eval_with_flip_test_time_augmentation(trained_run: Path) -> None:
    result = _run("eval", str(trained_run), "--view", "flip")
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout and "on 359 images" in result.stdout


def test_eval_compiled_agrees_with_eager(trained_run: Path) -> None:
    reported = json.loads((trained_run / "test_metrics.json").read_text())["top1"]
    result = _run("eval", str(trained_run), "--compile")
    assert result.returncode == 0, result.stderr
    compiled = float(result.stdout.split("test accuracy ")[1].split("%")[0])
    assert abs(compiled - 100 * reported) <= 100 * 2 / 359  # bf16 rounding may flip an image or two


def test_eval_in_int8_stays_near_the_reported_accuracy(trained_run: Path) -> None:
    reported = json.loads((trained_run / "test_metrics.json").read_text())["top1"]
    result = _run("eval", str(trained_run), "--precision", "int8")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Warning") == 0  # the quantization flow's deprecation notices stay silent
    quantized = float(result.stdout.split("test accuracy ")[1].split("%")[0])
    assert abs(quantized - 100 * reported) <= 3.0


def test_predict_files_and_folders_with_class_names(trained_run: Path, tmp_path: Path) -> None:
    digits = load_digits()
    for index in range(3):
        pixels = (digits.images[index] * 255 / 16).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(tmp_path / f"digit{digits.target[index]}.png")
    single = _run("predict", str(trained_run), str(tmp_path / "digit0.png"), "--topk", "3")
    assert single.returncode == 0, single.stderr
    assert single.stdout.startswith(f"{tmp_path / 'digit0.png'}: ")
    assert single.stdout.count("%") == 3
    folder = _run("predict", str(trained_run), str(tmp_path), "--json")
    rows = [json.loads(line) for line in folder.stdout.splitlines()]
    assert len(rows) == 3 and all(row["top"][0]["class"] in [str(i) for i in range(10)] for row in rows)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "--model", "cifar_resnet21"],
            "unknown model 'cifar_resnet21'; closest: cifar_resnet32, cifar_resnet20",
        ),
        (["train", "--set", "optim.lr=-1"], "optim.lr must be > 0, got -1"),
        (["train", "--set", "optim.lrr=1"], "unknown config key optim.lrr (did you mean optim.lr?)"),
        (["train", "--set", "schedule.kind=linear"], "schedule.kind must be one of"),
        (["train", "--batch-size", "0"], "data.batch_size must be >= 1, got 0"),  # the config's check, not the flag's
        (["train", "--epochs", "ten"], "--epochs: must be a whole number, got 'ten'"),
        (["train", "--seed", "-1"], "runtime.seed must be >= 0, got -1"),
        (["train", "--data", "/nonexistent/images"], "/nonexistent/images"),
        (["train", "no-such-config.yaml"], "config file no-such-config.yaml does not exist"),
        (["train", "cifar10/resnet21"], "no file and no shipped recipe named 'cifar10/resnet21' (did you mean"),
        (["train", "--resume", "/nonexistent/run"], "is not a resumable run directory"),
        (["train", "--set", "data.augment=imagenet"], "data.augment=imagenet crops from original images"),
        (["train", "--set", "data.scale_range=[100,50]"], "data.scale_range must be [low, high]"),
        (["eval", "/nonexistent/last.pt"], "checkpoint /nonexistent/last.pt does not exist"),
        (["predict", "/nonexistent/last.pt", "x.png"], "checkpoint /nonexistent/last.pt does not exist"),
    ],
)
def test_training_errors_are_one_line(argv: list[str], message: str, tmp_path: Path) -> None:
    result = _run(*argv, cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "runs").exists()  # bad input leaves nothing behind


def test_an_existing_run_directory_is_refused(trained_run: Path) -> None:
    result = _run("train", "--epochs", "1", "--out", str(trained_run))
    assert result.returncode == 2
    assert f"run directory {trained_run} already exists; continue it with --resume" in result.stderr


def test_predict_refuses_a_file_that_is_not_an_image(trained_run: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("not an image")
    result = _run("predict", str(trained_run), str(tmp_path / "notes.png"))
    assert result.returncode == 2
    assert "cannot read image" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unreadable_files_are_one_warning_line(tmp_path: Path) -> None:
    for label in range(2):
        for i in range(4):
            (tmp_path / "tree" / f"c{label}").mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (8, 8), (40 + 150 * label, 90, 30)).save(tmp_path / "tree" / f"c{label}" / f"{i}.png")
    (tmp_path / "tree" / "c0" / "broken.png").write_text("not an image")
    result = _run("train", "--data", str(tmp_path / "tree"), "--epochs", "1", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warning == [
        f"resnetlab: warning: skipped 1 file(s) under {tmp_path / 'tree'} that are not readable "
        f"images, e.g. {tmp_path / 'tree' / 'c0' / 'broken.png'}"
    ]


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="fp16 evaluation runs where CUDA is present")
def test_eval_in_fp16_without_cuda_is_one_line(trained_run: Path) -> None:
    result = _run("eval", str(trained_run), "--precision", "fp16")
    assert result.returncode == 2
    assert "fp16 needs a CUDA device, not cpu; use --precision bf16 or fp32" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_train_runs_a_shipped_recipe_by_name_with_the_flags_on_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trained: list[TrainConfig] = []

    def record(config: TrainConfig, **_: object) -> object:
        trained.append(config)
        raise KeyboardInterrupt  # stands in for the run: the config is what this test is about

    monkeypatch.setattr(training, "train", record)
    monkeypatch.chdir(tmp_path)  # no file of that name here: the name is the shipped recipe's
    assert main(["train", "cifar10/resnet20_fast", "--epochs", "2", "--set", "optim.lr=0.1"]) == 130
    assert trained == [
        load_recipe("cifar10/resnet20_fast", ["schedule.unit=epoch", "schedule.length=2", "optim.lr=0.1"])
    ]


def test_eval_on_images_unlike_the_training_images_is_one_line(trained_run: Path, tmp_path: Path) -> None:
    for label in range(10):
        (tmp_path / "rgb" / str(label)).mkdir(parents=True)
        Image.new("RGB", (8, 8), (25 * label, 90, 30)).save(tmp_path / "rgb" / str(label) / "0.png")
    result = _run("eval", str(trained_run), "--data", str(tmp_path / "rgb"))
    assert result.returncode == 2
    assert "the data's images have 3 channel(s), the model takes 1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_photos_of_mixed_sizes_point_to_finetune(tmp_path: Path) -> None:
    for label, size in (("cat", (40, 30)), ("dog", (50, 50))):
        (tmp_path / "photos" / label).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", size, (20 * i, 90, 30)).save(tmp_path / "photos" / label / f"{i}.png")
    result = _run("train", "--model", "resnet18", "--data", str(tmp_path / "photos"), "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        "images have mixed sizes" in result.stderr and "use `resnetlab finetune FOLDER --init WEIGHTS`" in result.stderr
    )
    assert len(result.stderr.strip().splitlines()) == 1
