"""Measuring variants side by side: warm-up, alternating rounds, medians, the machine's matmul peak, peak memory.

Every benchmark compares resnetlab's fast path with the reference a user writes without resnetlab, in one process
run, on the same inputs. Rounds alternate between the variants (in a rotating order), so a slow minute on a shared
machine slows all of them alike and the ratios stay meaningful even when the absolute times do not.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from resnetlab.runtime.device import fast_bf16, native_cpu_bf16
from resnetlab.runtime.paths import CLASS_NAMES, cpu_class

# Idle time before each variant's turn in a round. A runtime's worker threads keep spinning for a while after its
# call returns (ONNX Runtime's and OpenVINO's thread pools, OpenMP's), and on two cores a spinning pool takes a core
# from the variant timed next, which then looks slower than it is. After the pause one untimed call wakes the
# variant's own threads (waking PyTorch's OpenMP threads from sleep costs milliseconds per call, more than a small
# net's whole batch-1 forward), then the timed call runs: each variant is timed as a busy server runs it, with no
# other runtime's threads competing.
SETTLE_SECONDS = 0.05

EMULATED_BF16 = " (emulated: this CPU has no native bf16)"  # after the bf16 peak, printed and on the docs page


@dataclass
class Variant:
    """One way to run a case: `setup()` builds it (untimed) and returns the callable one measurement times."""

    name: str
    setup: Callable[[], Callable[[], Any]]
    flops: Callable[[], float] = lambda: 0.0  # arithmetic of one call, for the fraction of peak (counted lazily:
    # the memory subprocess must not count it, since counting runs a forward pass of its own)
    dtype: str = "fp32"  # which peak it is compared with
    notes: str = ""


@dataclass
class Result:
    case: str
    variant: str
    seconds: list[float]
    items: int  # images per call
    flops: float
    dtype: str
    setup_seconds: float
    notes: str = ""
    peak_rss_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    case: str,
    variants: list[Variant],
    *,
    items: int,
    warmup: int,
    rounds: int,
    device: torch.device,
) -> list[Result]:
    """Set every variant up, warm each up, then time `rounds` alternating rounds of one call per variant."""
    ready: list[tuple[Variant, Callable[[], Any], float]] = []
    for variant in variants:
        start = time.perf_counter()
        run = variant.setup()
        for _ in range(warmup):  # compile, oneDNN's kernel choices, allocator warm-up: not what is measured
            run()
        sync(device)
        ready.append((variant, run, time.perf_counter() - start))
    times: dict[str, list[float]] = {variant.name: [] for variant in variants}
    for round_index in range(rounds):
        shift = round_index % len(ready)
        for variant, run, _ in ready[shift:] + ready[:shift]:
            sync(device)
            time.sleep(SETTLE_SECONDS)
            run()
            sync(device)
            start = time.perf_counter()
            run()
            sync(device)
            times[variant.name].append(time.perf_counter() - start)
    return [Result(case, v.name, times[v.name], items, v.flops(), v.dtype, setup, v.notes) for v, _, setup in ready]


def matmul_peak(
    dtype: torch.dtype, device: torch.device, repeats: int = 8, sizes: tuple[int, ...] = (1024, 2048, 4096)
) -> float:
    """FLOP/s of large square matmuls in `dtype`, the best of `sizes`: the practical peak that convolutions are
    measured against (one size alone can miss the fastest kernel)."""
    best = 0.0
    for size in sizes:
        a = torch.randn(size, size, device=device).to(dtype)
        b = torch.randn(size, size, device=device).to(dtype)
        for _ in range(3):
            a @ b
        samples = []
        for _ in range(repeats):
            sync(device)
            start = time.perf_counter()
            a @ b
            sync(device)
            samples.append(time.perf_counter() - start)
        best = max(best, 2 * size**3 / statistics.median(samples))
    return best


def machine() -> dict[str, Any]:
    """The machine a run measured: the CPU (its model as /proc/cpuinfo names it, and the flags that decide which
    kernels run: AVX2, AVX-512, native bf16), its class (runtime/paths.py), threads and library versions."""
    capability = torch._C._cpu._get_cpu_capability()
    return {
        "cpu": capability.get("cpu_name") or platform.processor(),
        "model_name": _cpu_model_name(),
        "cpu_class": cpu_class(capability),
        "cores": capability.get("num_physical_cores"),
        "threads": torch.get_num_threads(),
        "avx2": capability.get("avx2"),
        "avx512f": capability.get("avx512_f"),
        "amx_bf16": capability.get("amx_bf16"),
        "avx512_bf16": capability.get("avx512_bf16"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def _cpu_model_name() -> str | None:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), None)
    except OSError:
        return None


def peak_rss_in_subprocess(module: str, args: list[str]) -> float:
    """Peak resident memory (MB) of `python -m module args` run alone: a fresh process per variant, so one
    variant's allocations cannot hide in another's high-water mark."""
    command = [sys.executable, "-m", module, *args]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {completed.stderr.strip().splitlines()[-1:]}")
    return float(json.loads(completed.stdout.strip().splitlines()[-1])["peak_rss_mb"])


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0  # kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def memory_of(setup: Callable[[], Callable[[], Any]], calls: int = 3) -> dict[str, float]:
    """The subprocess side of peak_rss_in_subprocess: the most memory running one variant adds to the process.

    The high-water mark is reset first (Linux: 5 to /proc/self/clear_refs), so torch's own import, the same for every
    variant and higher than what a small model needs, does not hide the variant's peak; the resident size before
    the variant was built is subtracted."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    baseline = _status_mb("VmRSS")
    run = setup()
    for _ in range(calls):
        run()
    return {"peak_rss_mb": _status_mb("VmHWM") - baseline}


def report(results: list[Result], peaks: dict[str, float], reference: str, *, bf16_native: bool = True) -> str:
    """A markdown table: per case, each variant's median, throughput, ratio to the reference, fraction of peak.
    Where bf16 is emulated its rows get no fraction: oneDNN's emulated convolutions outrun the emulated matmul that
    stands as the peak there (over 500% of it), so the ratio would say nothing about how well the CPU is used."""
    lines = [
        "| case | variant | median ms | images/s | speed-up | % of peak | peak memory MB | setup s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_case: dict[str, list[Result]] = {}
    for result in results:
        by_case.setdefault(result.case, []).append(result)
    for case, rows in by_case.items():
        base = next(r for r in rows if r.variant == reference).median
        for row in rows:
            achieved = row.flops / row.median if row.flops else 0.0
            peak = peaks.get(row.dtype, 0.0)
            share = f"{100 * achieved / peak:.0f}% {row.dtype}" if achieved and peak else "-"
            if row.dtype == "bf16" and not bf16_native:
                share = "- (bf16 emulated)"
            rss = f"{row.peak_rss_mb:.0f}" if row.peak_rss_mb is not None else "-"
            lines.append(
                f"| {case} | {row.variant} | {1000 * row.median:.1f} | {row.items / row.median:.1f} | "
                f"{base / row.median:.2f}x | {share} | {rss} | {row.setup_seconds:.1f} |"
            )
    return "\n".join(lines)


def comparisons(results: list[Result], pairs: Sequence[tuple[str, str]]) -> str:
    """A markdown table of resnetlab's variants against the runtimes' in the same run: for each case and each
    (resnetlab variant, runtime variant) pair measured there, both medians and resnetlab's throughput ratio
    (the runtime's time over resnetlab's: above 1.00x resnetlab is faster) and latency ratio (its inverse)."""
    lines = [
        "| case | resnetlab | runtime | resnetlab ms | runtime ms | throughput | latency |",
        "|---|---|---|---|---|---|---|",
    ]
    by_key = {(r.case, r.variant): r for r in results}
    for case in dict.fromkeys(r.case for r in results):
        for ours, theirs in pairs:
            if (case, ours) in by_key and (case, theirs) in by_key:
                mine, peer = by_key[case, ours].median, by_key[case, theirs].median
                lines.append(
                    f"| {case} | {ours} | {theirs} | {1000 * mine:.1f} | {1000 * peer:.1f} | "
                    f"{peer / mine:.2f}x | {mine / peer:.2f}x |"
                )
    return "\n".join(lines) if len(lines) > 2 else ""


def results_of(payload: dict[str, Any]) -> list[Result]:
    """The results a saved benchmark file holds (what `save` wrote)."""
    fields = {name for name in Result.__dataclass_fields__}
    return [Result(**{k: v for k, v in row.items() if k in fields}) for row in payload["results"]]


def run_header(payload: dict[str, Any]) -> str:
    """When, where and how a saved benchmark run was made, as one sentence."""
    machine = payload["machine"]
    family = machine.get("cpu_class") or cpu_class(machine)  # files written before the class was recorded
    return (
        f"Run of {payload['when'][:16].replace('T', ' ')} on {machine.get('model_name') or machine['cpu']}, CPU class "
        f"{family} ({CLASS_NAMES[family]}), {machine['threads']} threads, torch {machine['torch']}, Python "
        f"{machine['python']}: `{' '.join(payload['command'])}`."
    )


def markdown(payload: dict[str, Any], pairs: Sequence[tuple[str, str]] = ()) -> str:
    """A saved benchmark file as the docs show it: when, where and how it was run, its table, and the comparisons
    of `pairs` (see `comparisons`)."""
    peaks = payload["peaks_flops"]
    results = results_of(payload)
    native = native_cpu_bf16(payload["machine"])
    parts = [
        f"{run_header(payload)} Matmul peak in the same run: {peaks['fp32'] / 1e9:.0f} GFLOP/s fp32, "
        f"{peaks['bf16'] / 1e9:.0f} bf16{'' if native else EMULATED_BF16}.",
        report(results, peaks, "reference", bf16_native=native),
    ]
    if table := comparisons(results, pairs):
        parts.append(table)
    return "\n\n".join(parts)


def save(results: list[Result], peaks: dict[str, float], path: Path, command: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "command": command,
        "machine": machine(),
        "peaks_flops": peaks,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "results": [
            {**{k: v for k, v in vars(r).items() if k != "seconds"}, "median": r.median, "seconds": r.seconds}
            for r in results
        ],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")


def run_benchmark(
    module: str,
    doc: str | None,
    argv: list[str] | None,
    cases: dict[str, Any],
    tiny_cases: dict[str, Any],
    variants: Callable[[Any], list[Variant]],
    *,
    rounds: tuple[int, int],
    warmup: tuple[int, int],
    pairs: Sequence[tuple[str, str]] = (),
    command: Sequence[str] | None = None,
) -> None:
    """The command line shared by the benchmarks: pick cases, measure every variant of each, add each variant's
    memory from a fresh subprocess (`--memory-of case:variant` is that subprocess), print and save the table.
    `rounds` and `warmup` are the defaults (full, tiny); `pairs`: (resnetlab variant, runtime variant) compared
    after each case's table where both were measured; `command`: the arguments to record, where the caller took some
    out of `argv` itself."""
    parser = common_arguments(doc or "")
    parser.add_argument("--case", choices=sorted(cases), action="append", help="default: all")
    parser.add_argument("--memory-of", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    chosen = tiny_cases if args.tiny else {name: cases[name] for name in (args.case or cases)}
    if args.memory_of:
        case_name, variant_name = args.memory_of.split(":")
        variant = next(v for v in variants(chosen[case_name]) if v.name == variant_name)
        print(json.dumps(memory_of(variant.setup)))
        return
    device = torch.device("cpu")
    native = fast_bf16(device)
    # --tiny proves the script runs: small matmuls stand in for the peak, which took 40 s of CPU on 2 cores at 4096.
    sizes = (128, 256) if args.tiny else (1024, 2048, 4096)
    peaks = {
        "fp32": matmul_peak(torch.float32, device, sizes=sizes),
        # Without native bf16 (AVX512-BF16 or AMX) bf16 matmuls are emulated, about a hundred times slower than fp32:
        # the smallest size gives that peak; the largest alone would take half an hour.
        "bf16": matmul_peak(torch.bfloat16, device, sizes=sizes if native else sizes[:1]),
    }
    results: list[Result] = []
    for name, case in chosen.items():
        measured = measure(
            name,
            variants(case),
            items=case.batch,
            warmup=args.warmup or warmup[args.tiny],
            rounds=args.rounds or rounds[args.tiny],
            device=device,
        )
        if not args.no_memory:
            for result in measured:
                selection = ["--tiny"] if args.tiny else ["--case", name]
                result.peak_rss_mb = peak_rss_in_subprocess(
                    module, [*selection, "--memory-of", f"{name}:{result.variant}"]
                )
        results += measured
        print(report(measured, peaks, "reference", bf16_native=native), flush=True)
        if table := comparisons(measured, pairs):
            print(f"\n{table}", flush=True)
    emulated = "" if native else EMULATED_BF16
    print(f"\nmatmul peak: fp32 {peaks['fp32'] / 1e9:.0f} GFLOP/s, bf16 {peaks['bf16'] / 1e9:.0f} GFLOP/s{emulated}")
    short = module.rpartition(".")[2]
    out = args.out or Path("benchmarks/results") / (f"{short}-tiny.json" if args.tiny else f"{short}.json")
    given = command if command is not None else (argv if argv is not None else sys.argv[1:])
    save(results, peaks, out, ["python", "-m", module, *given])
    print(f"results: {out}")


def common_arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes and few rounds: proves the script runs (CI)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per variant")
    parser.add_argument("--warmup", type=int, default=None, help="untimed calls per variant before timing")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    parser.add_argument("--no-memory", action="store_true", help="skip the per-variant peak-memory subprocesses")
    return parser
