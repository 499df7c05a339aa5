"""The bad-input battery: hostile or broken inputs across the command line and the API.

Each case ends in one of two ways: a one-line error with a non-zero exit (what is wrong, how to fix it), or a run that
goes on after a counted, logged skip. Never a traceback, a hang, or a lost file. docs/reliability.md lists the cases.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnetlab.cli import main
from resnetlab.data.folder import SkippedFilesWarning
from resnetlab.runs.checkpoint import load_checkpoint, save_checkpoint

Maker = Callable[[Path], Path]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse's own usage errors
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line_error(capsys: pytest.CaptureFixture[str], message: str, *argv: str) -> None:
    code, _, err = _run(capsys, *argv)
    assert code != 0, f"{argv} succeeded"
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The main job for one epoch: a trained digits model (1 channel, 8x8) to feed bad inputs to."""
    root = tmp_path_factory.mktemp("battery")
    assert main(["train", "--epochs", "1", "--out", str(root / "run"), "--no-progress", *_cache(root)]) == 0
    return root / "run"


def _cache(root: Path) -> list[str]:
    return ["--set", f"data.cache_dir={root / 'cache'}"]


# --- image files, each handed to `predict` ---------------------------------------------------------------------------


def _jpeg(path: Path, mode: str = "RGB", size: tuple[int, int] = (16, 16)) -> Path:
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).convert(
        mode
    ).save(path)
    return path


def truncated_jpeg(tmp: Path) -> Path:
    path = _jpeg(tmp / "cut.jpg", size=(64, 64))
    path.write_bytes(path.read_bytes()[:200])
    return path


def empty_file(tmp: Path) -> Path:
    (tmp / "empty.jpg").write_bytes(b"")
    return tmp / "empty.jpg"


def text_named_jpg(tmp: Path) -> Path:
    (tmp / "notes.jpg").write_text("this is not an image\n")
    return tmp / "notes.jpg"


def decompression_bomb(tmp: Path) -> Path:
    """A PNG whose header claims 20000 x 20000 pixels (400 MP): refused before a byte of it is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
    (tmp / "bomb.png").write_bytes(data)
    return tmp / "bomb.png"


def damaged_png(tmp: Path) -> Path:
    path = tmp / "damaged.png"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(path)
    data = bytearray(path.read_bytes())
    data[40:60] = b"\xff" * 20  # inside the compressed pixel data
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (truncated_jpeg, "cannot read image"),
        (empty_file, "cannot read image"),
        (text_named_jpg, "cannot read image"),
        (decompression_bomb, "cannot read image"),
        (damaged_png, "cannot read image"),
    ],
)
def test_unreadable_images_are_one_line(
    make: Maker, message: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make(tmp_path)
    _one_line_error(capsys, f"{message} {path}", "predict", str(run_dir), str(path))


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: _jpeg(tmp / "tiny.png", size=(1, 1)),  # 1x1: enlarged to the model's input
        lambda tmp: _jpeg(tmp / "cmyk.jpg", mode="CMYK"),
        lambda tmp: _jpeg(tmp / "palette.png", mode="P"),
        lambda tmp: _jpeg(tmp / "alpha.png", mode="RGBA"),
        lambda tmp: _jpeg(tmp / "wide16.png", mode="I;16"),  # 16-bit grey
        lambda tmp: _jpeg(tmp / "strip.png", size=(400, 3)),  # an extreme aspect ratio
    ],
    ids=["1x1", "cmyk", "palette", "rgba", "16-bit", "400x3"],
)
def test_odd_but_valid_images_are_converted_and_classified(
    make: Maker, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make(tmp_path)
    code, out, err = _run(capsys, "predict", str(run_dir), str(path))
    assert code == 0 and err == "" and out.startswith(f"{path}: ")


def test_a_non_utf8_file_name_is_read_and_printed_as_its_bytes(run_dir: Path, tmp_path: Path) -> None:
    name = (b"caf\xe9.png").decode(sys.getfilesystemencoding(), "surrogateescape")  # Latin-1 bytes, not UTF-8
    _jpeg(tmp_path / name)
    result = subprocess.run(
        [sys.executable, "-m", "resnetlab", "predict", str(run_dir), str(tmp_path)],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    assert result.stdout.startswith(bytes(tmp_path) + b"/caf\xe9.png: ")


# --- image trees for training ----------------------------------------------------------------------------------------


def _tree(root: Path, per_class: int = 12) -> Path:
    for label, name in enumerate(("a", "b")):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (8, 8), (40 + 150 * label, 80, 90)).save(root / name / f"{i}.png")
    return root


def test_bad_files_in_a_training_tree_are_counted_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(tmp_path / "tree")
    for make in (truncated_jpeg, empty_file, text_named_jpg, decompression_bomb):
        make(tree / "a")
    (tree / "b" / "loop").symlink_to(tree)  # a link back up the tree: not followed
    argv = ["train", "--data", str(tree), "--epochs", "1", "--out", str(tmp_path / "run"), *_cache(tmp_path)]
    with pytest.warns(SkippedFilesWarning) as caught:  # printed as one `resnetlab: warning:` line by the CLI
        code, out, err = _run(capsys, *argv)
    assert code == 0 and "test accuracy" in out and err == ""
    assert len(caught) == 1 and "skipped 4 file(s)" in str(caught[0].message)


@pytest.mark.parametrize(
    ("arrange", "message"),
    [
        (lambda root: (_tree(root), (root / "c").mkdir()), "class folder"),  # an empty class folder
        (lambda root: (root / "only").mkdir(parents=True) or _jpeg(root / "only" / "x.png"), "only one class folder"),
        (lambda root: root.mkdir(), "has no class folders"),
    ],
    ids=["empty-class-folder", "one-class", "no-class-folders"],
)
def test_broken_trees_are_one_line(
    arrange: Callable[[Path], object], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arrange(tmp_path / "tree")
    _one_line_error(capsys, message, "train", "--data", str(tmp_path / "tree"), "--out", str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()  # nothing written for a run that could not start


def test_a_symlink_loop_given_to_predict_does_not_hang(run_dir: Path, tmp_path: Path) -> None:
    _jpeg(tmp_path / "photo.png")
    (tmp_path / "again").symlink_to(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "resnetlab", "predict", str(run_dir), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.count("\n") == 1, result.stderr


# --- configs ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("optim:\n  lr: fast\n", "optim.lr must be a number, got 'fast'"),
        ("optim:\n  learning_rate: 0.1\n", "unknown config key optim.learning_rate"),
        ("- just\n- a list\n", "must hold a mapping of sections"),
        ("model: [unclosed\n", "is not valid YAML at line"),
        ("data:\n  batch_size: 0\n", "data.batch_size must be >= 1, got 0"),
        ("model:\n  freeze_stages: -1\n", "model.freeze_stages must be >= 0"),
        ("data:\n  mean: [0.5, 0.5, 0.5]\n", "data.mean and data.std must be set together"),
    ],
    ids=["wrong-type", "unknown-key", "not-a-mapping", "bad-yaml", "zero-batch", "negative-freeze", "mean-alone"],
)
def test_broken_configs_are_one_line(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "recipe.yaml").write_text(text)
    _one_line_error(capsys, message, "train", str(tmp_path / "recipe.yaml"))


# --- checkpoints and runs --------------------------------------------------------------------------------------------


def test_a_truncated_checkpoint_is_one_line(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = tmp_path / "cut.pt"
    cut.write_bytes((run_dir / "last.pt").read_bytes()[:5000])
    _one_line_error(capsys, "is damaged", "eval", str(cut))


def test_a_checkpoint_of_another_architecture_is_one_line(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = load_checkpoint(run_dir / "last.pt")
    other = {**state, "model_name": "cifar_resnet32"}  # ResNet-20's weights under ResNet-32's name
    save_checkpoint(other, tmp_path / "swapped.pt")
    _one_line_error(capsys, "does not fit cifar_resnet32: its weights differ", "eval", str(tmp_path / "swapped.pt"))


def test_predict_with_a_file_that_is_not_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "weights.pt").write_text("hello")
    _one_line_error(capsys, "is damaged or not a PyTorch file", "predict", str(tmp_path / "weights.pt"), "x.png")


def test_an_existing_run_directory_is_never_overwritten(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (run_dir / "last.pt").read_bytes()
    _one_line_error(capsys, "already exists", "train", "--epochs", "1", "--out", str(run_dir))
    assert (run_dir / "last.pt").read_bytes() == before


def test_a_finished_run_is_not_resumed(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_error(capsys, "has finished; evaluate it with", "train", "--resume", str(run_dir))


# --- training numbers ------------------------------------------------------------------------------------------------


def test_a_diverging_run_stops_with_a_message_not_nan_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """NaN reaches the inputs of every layer: the loss is checked and the run stops keeping its last good state."""
    _one_line_error(
        capsys,
        "training loss became NaN or infinite",
        "train",
        "--epochs",
        "1",
        "--lr",
        "1e12",
        "--out",
        str(tmp_path / "run"),
        *_cache(tmp_path),
    )


def test_num_classes_zero_against_the_data_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--set", "model.options.num_classes=0", "--out", str(tmp_path / "run")]
    _one_line_error(capsys, "model.options.num_classes=0 but the data has 10; drop the option", *argv)


def test_a_batch_larger_than_the_dataset_trains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--epochs", "1", "--batch-size", "100000", "--out", str(tmp_path / "run"), *_cache(tmp_path)]
    code, out, err = _run(capsys, *argv)
    assert code == 0 and "after 1 iterations" in out, err


def test_a_pattern_that_matches_nothing(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_error(capsys, "is not an image file, a folder or a pattern", "predict", str(run_dir), f"{tmp_path}/*.jpg")
