"""`resnetlab info`: this machine's CPU class and the default path with the measurement behind it."""

from __future__ import annotations

import pytest
import torch

from resnetlab.cli import main
from resnetlab.runtime import paths


@pytest.fixture(autouse=True)
def _on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CPU's path, also on a machine with a GPU (which `info` would report instead)."""
    monkeypatch.setattr("resnetlab.cli.info.resolve_device", lambda _name: torch.device("cpu"))


def test_info_names_the_cpu_class_its_path_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    family = paths.this_cpu_class()
    path = paths.TRAINING_PATHS[family]
    assert f"cpu class: {family}: {paths.CLASS_NAMES[family]}" in out
    layout = "channels_last" if path.channels_last else "NCHW"
    assert f"{path.precision}, {layout}, eager; chosen by {path.evidence}" in out


def test_info_on_a_cpu_that_emulates_bf16_says_fp32_and_why(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from resnetlab.runtime import device as runtime_device

    flags = {"avx2": True, "num_physical_cores": 2}
    monkeypatch.setattr(runtime_device, "_cpu_capability", lambda: flags)
    monkeypatch.setattr(paths, "this_cpu_class", lambda: "avx2")
    monkeypatch.setattr("torch._C._cpu._get_cpu_capability", lambda: flags)
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "bf16 on this CPU: emulated (about 12x slower than fp32)" in out
    assert "fp32, NCHW, eager; chosen by an AVX2-only measurement" in out and "flags: avx2\n" in out
