"""A run folder written by resnetlab before the typed checkpoint records (tests/fixtures/README.md): it still evaluates,
predicts, exports and resumes; a checkpoint of a newer version is refused in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from resnetlab.cli import main
from resnetlab.errors import UserInputError
from resnetlab.inference.evaluate_run import evaluate_checkpoint
from resnetlab.inference.export import export_model, read_metadata
from resnetlab.inference.predict import predict
from resnetlab.inference.trained import load_trained
from resnetlab.runs.checkpoint import (
    TrainingCheckpoint,
    UnreadableVersionError,
    load_checkpoint,
    read_model,
    read_training_checkpoint,
)
from resnetlab.runs.weights import load_weights
from resnetlab.train.loop import resume
from resnetlab.train.running import Position

FIXTURE = Path(__file__).parents[1] / "fixtures" / "checkpoint-v2-run"


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A copy of the fixture: what the tests write (a resumed run, an export) never lands in the fixture."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "run"))


def _rewrite_version(source: Path, target: Path, version: object) -> Path:
    """`source`'s file with another version in its header, as a newer resnetlab might write it."""
    wrapped = torch.load(source, weights_only=True)
    wrapped["version"] = version
    torch.save(wrapped, target)
    return target


def test_the_fixture_reads_as_typed_records(run: Path) -> None:
    checkpoint = read_training_checkpoint(run / "last.pt")
    record = checkpoint.model.record
    assert (record.model_name, record.classes) == ("cifar_resnet20", tuple(str(i) for i in range(10)))
    assert record.model_options == {"num_classes": 10, "in_chans": 1}
    assert record.preprocess.input_size == (1, 8, 8) and record.preprocess.resize is None
    assert record.preprocess.normalize == "channel" and len(record.preprocess.mean) == 1
    loop = Position.from_dict(checkpoint.loop, torch.device("cpu"), checkpoint.source)  # the loop's own state type
    assert (loop.epoch, loop.batch, loop.iteration, loop.warming_up) == (0, 2, 2, False)
    assert loop.epoch_sums.count == 64 and loop.window.count == 0
    # Written back, the records give the layout the file had: older resnetlab reads what this one writes.
    stored = load_checkpoint(run / "last.pt")
    again = checkpoint.to_dict()
    assert set(again) == set(stored) - {"format", "version"}
    assert again["progress"] == stored["progress"] and again["preprocess"] == stored["preprocess"]
    assert all(torch.equal(again["model"][k], v) for k, v in stored["model"].items())
    assert TrainingCheckpoint.from_dict(again, "again").loop["progress"] == loop.to_dict()["progress"]


def test_the_fixture_evaluates_predicts_and_exports(run: Path, tmp_path: Path) -> None:
    result, classes = evaluate_checkpoint(run)  # `resnetlab eval`
    assert classes == [str(i) for i in range(10)] and result.count > 0

    trained = load_trained(run, torch.device("cpu"))  # `resnetlab predict`, `export`, `embed`, `explain`
    Image.new("L", (8, 8), 128).save(tmp_path / "grey.png")
    rows = predict(trained, [tmp_path / "grey.png"], topk=3)
    assert len(rows[0]["top"]) == 3 and {t["class"] for t in rows[0]["top"]} <= set(classes)

    exported = export_model(trained, tmp_path / "model.ts", format="torchscript", images=[tmp_path / "grey.png"])
    assert exported.max_difference < 1e-4
    metadata = read_metadata(exported.path)
    assert metadata["input_size"] == [1, 8, 8] and metadata["classes"] == classes


def test_the_fixture_resumes_to_a_finished_run(run: Path) -> None:
    result = resume(run, show_progress=False)
    assert result.iterations == 4 and result.run_dir == run
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records if r["kind"] == "iteration"] == [2, 4]  # iteration 2 logged once
    assert records[-1]["kind"] == "final"
    assert {"test_metrics.json", "model.safetensors", "best.pt"} <= {p.name for p in run.iterdir()}
    assert read_training_checkpoint(run / "last.pt").loop["progress"]["iteration"] == 4


def test_an_unfinished_run_is_weights_to_start_from(run: Path) -> None:
    weights = load_weights(str(run))  # model.init (fine-tuning) from a run that has not finished
    assert weights.model_name == "cifar_resnet20" and weights.classes == [str(i) for i in range(10)]
    assert (weights.input_size, weights.resize) == (8, None) and weights.model_options == {}
    assert torch.equal(weights.state_dict["fc.weight"], read_model(run / "last.pt").weights["fc.weight"])


def test_a_version_1_file_still_loads(run: Path, tmp_path: Path) -> None:
    """Version 1: the mapping beside the header, no digest; its oldest files lack `resize` and the running sums."""
    stored = {k: v for k, v in load_checkpoint(run / "last.pt").items() if k not in ("format", "version")}
    del stored["preprocess"]["resize"], stored["progress"]["window"], stored["progress"]["epoch_sums"]
    torch.save({"format": "resnetlab-checkpoint", "version": 1, **stored}, tmp_path / "v1.pt")
    checkpoint = read_training_checkpoint(tmp_path / "v1.pt")
    loop = Position.from_dict(checkpoint.loop, torch.device("cpu"), checkpoint.source)
    assert checkpoint.model.record.preprocess.resize is None and loop.iteration == 2
    assert loop.epoch_sums.count == 0


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (3, r"v3\.pt has version 3, written by a newer resnetlab \(this one reads versions up to 2\); upgrade"),
        ("2", r"v3\.pt has an unknown version \('2'\); this resnetlab reads versions 1 to 2"),
        (0, r"v3\.pt has an unknown version \(0\); this resnetlab reads versions 1 to 2"),
    ],
)
def test_a_newer_or_unknown_version_is_refused(tmp_path: Path, version: object, message: str) -> None:
    path = _rewrite_version(FIXTURE / "last.pt", tmp_path / "v3.pt", version)
    for read in (load_checkpoint, read_model, read_training_checkpoint):
        with pytest.raises(UnreadableVersionError, match=message) as refused:
            read(path)
        assert isinstance(refused.value, UserInputError) and "\n" not in str(refused.value)


def test_resume_refuses_a_newer_checkpoint_rather_than_its_previous_one(run: Path) -> None:
    shutil.copy(run / "last.pt", run / "last.pt.prev")  # a readable fallback must not hide the newer file
    _rewrite_version(FIXTURE / "last.pt", run / "last.pt", 3)
    with pytest.raises(UnreadableVersionError, match="written by a newer resnetlab"):
        resume(run, show_progress=False)


@pytest.mark.parametrize("command", [["eval"], ["predict", "--topk", "1"], ["export"], ["train", "--resume"]])
def test_the_command_line_refuses_a_newer_checkpoint_in_one_line(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    _rewrite_version(FIXTURE / "last.pt", run / "last.pt", 3)
    Image.new("L", (8, 8), 128).save(tmp_path / "grey.png")
    images = [str(tmp_path / "grey.png")] if command[0] == "predict" else []
    argv = [*command, str(run), *images] + (["--no-progress"] if command[0] == "train" else [])
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{run / 'last.pt'} has version 3, written by a newer resnetlab" in err and "upgrade" in err


def test_resnetlab_eval_on_a_newer_checkpoint_is_one_line_without_a_traceback(run: Path) -> None:
    _rewrite_version(FIXTURE / "last.pt", run / "last.pt", 3)
    result = subprocess.run([sys.executable, "-m", "resnetlab", "eval", str(run)], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "written by a newer resnetlab (this one reads versions up to 2); upgrade resnetlab" in result.stderr
