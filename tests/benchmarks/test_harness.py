"""The shared benchmark table: what its fraction-of-peak column says where bf16 is native and where it is not."""

from __future__ import annotations

from benchmarks.harness import Result, markdown, report
from resnetlab.runtime.device import native_cpu_bf16

PEAKS = {"fp32": 100e9, "bf16": 1e9}  # an emulated bf16 matmul: a hundred times slower than fp32


def _results() -> list[Result]:
    return [
        Result("net", "reference", [1.0], items=128, flops=50e9, dtype="fp32", setup_seconds=0.0),  # 50% of fp32's
        Result("net", "bf16", [0.5], items=128, flops=50e9, dtype="bf16", setup_seconds=0.0),  # 10000% of an emulated
    ]


def test_the_fraction_of_peak_is_given_for_every_dtype_where_bf16_is_native() -> None:
    table = report(_results(), PEAKS, "reference", bf16_native=True)
    assert "| 50% fp32 |" in table
    assert "| 10000% bf16 |" in table


def test_bf16_rows_get_no_fraction_of_an_emulated_peak() -> None:
    table = report(_results(), PEAKS, "reference", bf16_native=False)
    assert "| 50% fp32 |" in table  # fp32 is unaffected
    assert "% bf16" not in table
    assert "| - (bf16 emulated) |" in table


def test_a_saved_run_is_read_as_emulated_from_the_machine_it_records() -> None:
    assert native_cpu_bf16({"avx512_bf16": True, "amx_bf16": False})
    assert native_cpu_bf16({"avx512_bf16": False, "amx_bf16": True})
    assert not native_cpu_bf16({"avx512_bf16": False, "amx_bf16": False})
    payload = {
        "command": ["python", "-m", "benchmarks.train_step"],
        "machine": {"cpu": "x", "threads": 2, "torch": "t", "python": "p", "avx512_bf16": False, "amx_bf16": False},
        "peaks_flops": PEAKS,
        "when": "2026-12-01T05:00:00+0000",
        "results": [{**vars(r), "median": r.median} for r in _results()],
    }
    page = markdown(payload)
    assert "1 bf16 (emulated: this CPU has no native bf16)." in page
    assert "- (bf16 emulated)" in page
