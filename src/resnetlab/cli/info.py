"""`resnetlab info`: this machine as resnetlab sees it: the CPU and its class, the library versions, and the path a
training step and inference take here by default, with the measurement that chose each."""

from __future__ import annotations

import argparse
import platform

import torch

from resnetlab.cli.arguments import Commands
from resnetlab.runtime import paths
from resnetlab.runtime.device import EMULATED_BF16_SLOWDOWN, fast_bf16, resolve_device, resolve_precision


def add_commands(commands: Commands) -> None:
    info = commands.add_parser("info", help="this machine: CPU class, versions, and the default training path and why")
    info.set_defaults(run=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    print("\n".join(info_lines()))
    return 0


def info_lines() -> list[str]:
    """What `resnetlab info` prints, a line each."""
    from resnetlab.inference import openvino_int8  # the int8 engine: OpenVINO where the extra is installed

    device = resolve_device("auto")
    capability = torch._C._cpu._get_cpu_capability()
    cpu_class = paths.this_cpu_class()
    path = paths.training_path(device)
    flags = [name for name in ("avx2", "avx512_f", "avx512_bf16", "amx_bf16") if capability.get(name)]
    emulated = f"emulated (about {EMULATED_BF16_SLOWDOWN}x slower than fp32)"
    bf16 = "native" if fast_bf16(torch.device("cpu")) else emulated
    layout = "channels_last" if path.channels_last else "NCHW"
    precision = resolve_precision(device, "auto")  # a GPU without bf16 computes in fp32
    return [
        f"cpu: {_cpu_model()} ({capability.get('num_physical_cores')} cores, {torch.get_num_threads()} threads)",
        f"cpu class: {cpu_class}: {paths.CLASS_NAMES[cpu_class]}; flags: {', '.join(flags) or 'none of AVX2/AVX-512'}",
        f"bf16 on this CPU: {bf16}",
        f"device: {device}" + (f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else ""),
        f"versions: resnetlab {_version()}, torch {torch.__version__}, Python {platform.python_version()}",
        f"training path (precision auto, channels_last auto): {precision}, {layout}, eager; chosen by {path.evidence}",
        "torch.compile: off unless asked (--compile, runtime.compile=true); it pays off on long runs only",
        _inference_line(device, precision),
        "int8 engine: "
        + ("OpenVINO" if openvino_int8.available() else "PyTorch (install the int8 extra for OpenVINO)"),
    ]


def _inference_line(device: torch.device, precision: str) -> str:
    """The engine `resnetlab predict` uses by default here, in what precision, and why."""
    from resnetlab.inference.optimize import choose_engine

    measured = paths.inference_path(device)
    engine = choose_engine("auto", device)
    if engine == "openvino":
        how = "OpenVINO"
    else:
        how = "PyTorch, channels_last, BatchNorm folded (optimize_for_inference)"
        if measured.engine == "openvino":
            how += "; OpenVINO measured faster here: install the int8 extra for it"
    return f"inference path (resnetlab predict, --engine auto): {precision}, {how}; chosen by {measured.evidence}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("resnetlab")
    except PackageNotFoundError:
        return "unknown"
