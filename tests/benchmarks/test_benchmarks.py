"""The benchmarks run at tiny sizes, once, to prove they work; nothing here asserts a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resnetlab.analysis import complexity
from resnetlab.models import create_model

ROOT = Path(__file__).resolve().parents[2]


def _run_module(args: list[str], cache: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """`python -m ARGS` from the repository root, with its own tensor cache (nothing shared with other tests)."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "RESNETLAB_CACHE": str(cache)},
    )


@pytest.mark.parametrize(
    ("module", "extra"),
    [
        ("benchmarks.inference", ["--no-memory"]),  # the memory subprocess: its own test below
        ("benchmarks.train_step", ["--no-memory"]),
        ("benchmarks.epoch", []),
        ("benchmarks.accuracy_guard", []),
    ],
)
def test_a_benchmark_runs_at_tiny_size_and_reports_every_variant(module: str, extra: list[str], tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    completed = _run_module([module, "--tiny", "--out", str(out), *extra], tmp_path / "cache")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "reference" in completed.stdout and "results: " in completed.stdout
    payload = json.loads(out.read_text())
    assert payload["machine"]["torch"] and payload["command"][2] == module


def test_the_peers_run_beside_resnetlab_in_the_same_table(tmp_path: Path) -> None:
    """`--peers`: ONNX Runtime and OpenVINO (the bench extra, which make test installs) on the same case."""
    out = tmp_path / "results.json"
    completed = _run_module(["benchmarks.inference", "--tiny", "--peers", "--no-memory", "--out", str(out)], tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "peers left out" not in completed.stdout
    rows = {row["variant"] for row in json.loads(out.read_text())["results"]}
    assert {
        "reference",
        "int8",
        "int8-pytorch",
        "ort-fp32",
        "ort-int8",
        "openvino",
        "openvino-f32",
        "openvino-int8",
    } <= rows


def test_a_variants_memory_is_measured_in_a_fresh_process(tmp_path: Path) -> None:
    """What each benchmark row's peak RSS comes from: the variant set up and run alone in a new interpreter. (The
    smoke run above skips it: one subprocess per variant, each compiling its graph again, doubled its time.)"""
    args = ["benchmarks.inference", "--tiny", "--memory-of", "cifar_resnet20-b16:fold_bn"]
    completed = _run_module(args, tmp_path / "cache", timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1])["peak_rss_mb"] > 0


def _fake_run(run_dir: Path, accuracies: list[float], seconds: float = 60.0) -> Path:
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(
        "model: {name: cifar_resnet20}\nschedule: {kind: cosine, unit: epoch, length: 4}\n"
        "runtime: {precision: bf16, channels_last: true}\n"
    )
    records = [{"kind": "iteration", "iteration": 1, "epoch": 0}]
    for epoch, top1 in enumerate(accuracies, start=1):
        records.append({"kind": "epoch", "epoch": epoch, "seconds": seconds * epoch, "test_top1": top1})
    records.append(records[-1])  # an epoch record repeated by a resume counts once
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return run_dir


def test_time_to_accuracy_reports_when_each_threshold_was_first_reached(tmp_path: Path) -> None:
    run_dir = _fake_run(tmp_path / "run", [0.80, 0.905, 0.89, 0.91])
    args = ["benchmarks.time_to_accuracy", str(run_dir), "--thresholds", "90", "91.25", "--every", "2"]
    completed = _run_module(args, tmp_path / "cache")
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "4 epochs done" in out and "final test accuracy 91.00%, best 91.00%" in out
    assert "| 90.00% | 2 | 3.0 |" in out  # epochs 1 and 2 took 60 s and 120 s
    assert "| 91.25% | not reached (best 91.00%, 0.25 points short) | |" in out
    assert "| 2 | 3.0 | 90.50% |" in out and "| 4 | 10.0 | 91.00% |" in out and "| 3 |" not in out


def test_time_to_accuracy_counts_the_training_arithmetic_and_writes_its_figures(tmp_path: Path) -> None:
    run_dir = _fake_run(tmp_path / "run", [0.80, 0.905])
    (run_dir / "config.yaml").write_text(
        "model: {name: cifar_resnet20}\ndata: {batch_size: 64}\nschedule: {kind: onecycle, unit: epoch, length: 2}\n"
        "runtime: {precision: fp32, channels_last: false, compile: true}\n"
    )
    records = [
        {"kind": "epoch", "epoch": e, "iteration": 782 * e, "seconds": 30.0, "test_top1": t}
        for e, t in [(1, 0.8), (2, 0.905)]
    ]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (run_dir / "environment.json").write_text(json.dumps({"cpu_class": "avx2", "torch_threads": 2}))
    out = tmp_path / "results.json"
    args = ["benchmarks.time_to_accuracy", str(run_dir), "--thresholds", "90", "95", "--out", str(out)]
    completed = _run_module(args, tmp_path / "cache")
    assert completed.returncode == 0, completed.stderr
    written = json.loads(out.read_text())
    (record,) = written["runs"]
    assert written["thresholds"] == [90, 95]
    macs = complexity(create_model("cifar_resnet20"), (3, 32, 32)).macs
    expected = 6 * macs * 64 * 782 * 2 / 1e15  # forward and backward, every image of two epochs
    assert record["thresholds"]["90"] == {"epoch": 2, "minutes": 1.0, "pflop": pytest.approx(expected)}
    assert record["thresholds"]["95"] is None and record["cpu_class"] == "avx2" and record["compile"] is True
    assert f"| 90.00% | 2 | 1.0 | {expected:.3f} |" in completed.stdout


def test_time_to_accuracy_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    completed = _run_module(["benchmarks.time_to_accuracy", str(tmp_path)], tmp_path / "cache")
    assert completed.returncode == 2
    assert "is not a run directory (no metrics.jsonl or config.yaml)" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_int8_accuracy_scores_a_run_in_each_precision_on_the_same_test_images(tmp_path: Path) -> None:
    trained = subprocess.run(
        [sys.executable, "-m", "resnetlab", "train", "--epochs", "1", "--out", str(tmp_path / "run")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "RESNETLAB_CACHE": str(tmp_path / "cache")},
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    out = tmp_path / "accuracy.json"
    completed = _run_module(["benchmarks.int8_accuracy", str(tmp_path / "run"), "--out", str(out)], tmp_path / "cache")
    assert completed.returncode == 0, completed.stderr[-2000:]
    (row,) = json.loads(out.read_text())["runs"]
    reported = json.loads((tmp_path / "run" / "test_metrics.json").read_text())
    assert row["count"] == reported["count"]  # the run's own test split, in every precision
    assert abs(row["top1"]["fp32"] - reported["top1"]) <= 2 / row["count"]  # as training measured it (bf16 there)
    assert abs(row["top1"]["int8"] - row["top1"]["fp32"]) <= 0.05
    change = f"{100 * (row['top1']['int8'] - row['top1']['fp32']):+.2f} points |"
    assert f"| {tmp_path.name}/run | {row['model']} | 1 epoch |" in completed.stdout and change in completed.stdout


def test_int8_accuracy_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    completed = _run_module(["benchmarks.int8_accuracy", str(tmp_path)], tmp_path / "cache")
    assert completed.returncode == 2
    assert "is not a run directory (no config.yaml)" in completed.stderr and "Traceback" not in completed.stderr
