"""The default training path per CPU class: chosen by a measurement, never emulated bf16, never slower than the
plain fp32 NCHW loop where a committed run measured it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from resnetlab.config import load_recipe
from resnetlab.runtime import device as runtime_device
from resnetlab.runtime import paths
from resnetlab.runtime.paths import (
    INFERENCE_PATHS,
    TRAINING_PATHS,
    cpu_class,
    inference_path,
    resolve_channels_last,
    training_path,
)
from resnetlab.train.build import resolved_config

ROOT = Path(__file__).parents[2]
FLAGS = {
    "amx-bf16": {"avx2": True, "avx512_f": True, "avx512_bf16": True, "amx_bf16": True},
    "avx512-bf16": {"avx2": True, "avx512_f": True, "avx512_bf16": True, "amx_bf16": False},
    "avx512": {"avx2": True, "avx512_f": True, "avx512_bf16": False, "amx_bf16": False},
    "avx2": {"avx2": True, "avx512_f": False, "avx512_bf16": False, "amx_bf16": False},
    "other": {},
}


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_a_cpu_is_classed_by_its_flags(name: str) -> None:
    assert cpu_class(FLAGS[name]) == name


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_no_class_defaults_to_bf16_it_would_emulate(name: str) -> None:
    assert (TRAINING_PATHS[name].precision == "bf16") == runtime_device.native_cpu_bf16(FLAGS[name])


def _committed_rows() -> list[tuple[str, Path]]:
    return [(name, ROOT / p.evidence) for name, p in TRAINING_PATHS.items() if p.evidence.startswith("docs/")]


@pytest.mark.parametrize(("name", "file"), _committed_rows())
def test_a_committed_measurement_backs_its_classes_path(name: str, file: Path) -> None:
    """The file was measured on a CPU of that class, and in every case it measured the class's path is the fastest
    eager variant, faster than the plain fp32 NCHW reference."""
    payload = json.loads(file.read_text())
    assert payload["machine"]["cpu_class"] == name and payload["command"][2] == "benchmarks.train_step"
    path = TRAINING_PATHS[name]
    chosen = ("bf16" if path.precision == "bf16" else "") + ("+channels_last" if path.channels_last else "")
    chosen = chosen.lstrip("+") or "fused_sgd"
    for case in {row["case"] for row in payload["results"]}:
        medians = {row["variant"]: row["median"] for row in payload["results"] if row["case"] == case}
        eager = {variant: median for variant, median in medians.items() if "compile" not in variant}
        assert min(eager, key=eager.__getitem__) in (chosen, f"{chosen}+unfused_sgd"), (case, eager)
        assert medians[chosen] < medians["reference"]


def _committed_inference_rows() -> list[tuple[str, Path]]:
    return [(name, ROOT / p.evidence) for name, p in INFERENCE_PATHS.items() if p.evidence.startswith("docs/")]


@pytest.mark.parametrize(("name", "file"), _committed_inference_rows())
def test_a_committed_measurement_backs_its_classes_inference_engine(name: str, file: Path) -> None:
    """The file was measured on a CPU of that class; for ResNet-50 at batch 32 and at batch 1, the class's engine in
    `precision: auto` (bf16 where native) ran faster than every float PyTorch variant measured beside it."""
    payload = json.loads(file.read_text())
    assert cpu_class(payload["machine"]) == name and payload["command"][2] == "benchmarks.inference"
    openvino = "openvino" if runtime_device.native_cpu_bf16(payload["machine"]) else "openvino-f32"
    for case in ("resnet50-b32", "resnet50-b1"):
        medians = {row["variant"]: row["median"] for row in payload["results"] if row["case"] == case}
        fastest_pytorch = min(m for v, m in medians.items() if v == "reference" or v.startswith("fold_bn"))
        if INFERENCE_PATHS[name].engine == "openvino":
            assert medians[openvino] < fastest_pytorch, (case, medians)
        else:
            assert medians.get(openvino, float("inf")) >= fastest_pytorch, (case, medians)


def test_the_inference_engine_follows_the_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "this_cpu_class", lambda: "avx2")
    assert inference_path(torch.device("cpu")).engine == "pytorch"
    monkeypatch.setattr(paths, "this_cpu_class", lambda: "amx-bf16")
    assert inference_path(torch.device("cpu")).engine == "openvino"
    assert inference_path(torch.device("cuda")).engine == "pytorch"  # OpenVINO's engine here is a CPU one


def test_auto_follows_the_class_and_a_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr(paths, "this_cpu_class", lambda: "avx2")
    assert resolve_channels_last("auto", cpu) is False and resolve_channels_last(True, cpu) is True
    monkeypatch.setattr(paths, "this_cpu_class", lambda: "avx512")
    assert resolve_channels_last("auto", cpu) is True and resolve_channels_last(False, cpu) is False
    assert training_path(torch.device("cuda")).channels_last  # cuDNN's native layout


@pytest.mark.parametrize("name", ["avx512", "avx2"])
def test_the_fast_recipe_trains_in_fp32_where_bf16_would_be_emulated(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """`resnetlab train cifar10/resnet20_fast` on a CPU without native bf16, its flags faked: fp32, the class's
    memory format, and no emulated-bf16 warning."""
    monkeypatch.setattr(runtime_device, "_cpu_capability", lambda: FLAGS[name])
    monkeypatch.setattr(paths, "this_cpu_class", lambda: name)
    config = resolved_config(load_recipe("cifar10/resnet20_fast"))
    assert config.runtime.precision == "fp32"
    assert config.runtime.channels_last is TRAINING_PATHS[name].channels_last
