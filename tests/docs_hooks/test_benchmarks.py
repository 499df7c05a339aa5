"""The performance page's tables come from saved benchmark runs, rendered by the benchmark that wrote them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.harness import Result, save
from docs_hooks.benchmarks import expand


def _saved_run(docs_dir: Path) -> Path:
    """A benchmarks.inference run as `save` writes it: one case, the reference, resnetlab's int8 and ORT's."""
    rows = [
        Result("resnet50-b32", "reference", [2.0, 2.2, 2.1], 32, 8.2e9 * 32, "fp32", 1.0),
        Result("resnet50-b32", "int8", [0.40, 0.42, 0.41], 32, 8.2e9 * 32, "int8", 9.0),
        Result("resnet50-b32", "ort-int8", [0.35, 0.36, 0.37], 32, 8.2e9 * 32, "int8", 20.0),
    ]
    path = docs_dir / "benchmarks" / "inference.json"
    save(rows, {"fp32": 1.6e11, "bf16": 3.7e11}, path, ["python", "-m", "benchmarks.inference", "--peers"])
    return path


def test_a_saved_run_becomes_its_table_and_the_comparison_with_the_runtimes(tmp_path: Path) -> None:
    _saved_run(tmp_path)
    page = expand("# Speed\n\n<!-- benchmark: benchmarks/inference.json -->\n", tmp_path)
    assert "`python -m benchmarks.inference --peers`" in page and "160 GFLOP/s fp32, 370 bf16" in page
    assert "| resnet50-b32 | int8 | 410.0 | 78.0 | 5.12x |" in page  # median 0.41 s; 2.1 / 0.41
    # ORT's 0.36 s over resnetlab's 0.41 s: resnetlab's throughput is 0.88x ORT's, its latency 1.14x.
    assert "| resnet50-b32 | int8 | ort-int8 | 410.0 | 360.0 | 0.88x | 1.14x |" in page
    assert "<!-- benchmark:" not in page


def test_a_missing_file_or_one_no_benchmark_wrote_fails_the_build(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run the benchmark with --out"):
        expand("<!-- benchmark: benchmarks/none.json -->", tmp_path)
    path = _saved_run(tmp_path)
    path.write_text(json.dumps({**json.loads(path.read_text()), "command": ["python", "-m", "os"]}))
    with pytest.raises(ValueError, match="not written by a script in benchmarks/"):
        expand("<!-- benchmark: benchmarks/inference.json -->", tmp_path)
