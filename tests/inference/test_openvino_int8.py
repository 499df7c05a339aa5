from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from resnetlab.errors import UserInputError
from resnetlab.inference import openvino_int8
from resnetlab.inference.quantize import quantize_int8
from tests.helpers.batchnorm import trained_like as _trained_like


@pytest.mark.skipif(not openvino_int8.available(), reason="the int8 extra is not installed")
def test_the_default_engine_is_openvino_where_installed_and_takes_any_batch_and_layout() -> None:
    model = _trained_like("cifar_resnet20")
    quantized = quantize_int8(model, [torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))])
    assert quantized.engine == "openvino"
    images = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    one_by_one = torch.cat([quantized(image[None]) for image in images])
    together = quantized(images.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(one_by_one, together, atol=1e-4)  # batch size and memory layout change nothing
    first = quantized(images)
    kept = first.clone()
    quantized(-images)
    assert torch.equal(first, kept)  # the next call does not overwrite the logits returned before
    with pytest.raises(UserInputError, match=r"shape \[3, 32, 32\] \(as calibrated\), not \[3, 48, 48\]"):
        quantized(torch.randn(1, 3, 48, 48))


@pytest.mark.parametrize("missing", openvino_int8.PACKAGES)
def test_the_engine_is_available_only_with_both_packages(missing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else find_spec(name, *a))
    assert not openvino_int8.available()


def test_telemetry_is_opted_out_with_the_tool_beside_the_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opt_in_out = tmp_path / "opt_in_out"
    opt_in_out.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "asked"}\n')
    opt_in_out.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    openvino_int8.telemetry_off.__wrapped__()  # not the once-per-process cached call
    assert (tmp_path / "asked").read_text().split() == ["--opt_out"]
    opt_in_out.unlink()
    openvino_int8.telemetry_off.__wrapped__()  # no tool there: nothing to run, no error


class _Runtime:
    """A stand-in for OpenVINO's compiled model: one infer request, whose output buffer each call overwrites; the
    "logits" are the first two values of each image."""

    def __init__(self) -> None:
        self.inputs: list[np.ndarray] = []
        self.buffer = np.zeros((0, 2), np.float32)

    def create_infer_request(self) -> _Runtime:
        return self

    def infer(self, inputs: dict[int, np.ndarray]) -> list[np.ndarray]:
        self.inputs.append(inputs[0])
        logits = inputs[0].reshape(len(inputs[0]), -1)[:, :2]
        if self.buffer.shape != logits.shape:
            self.buffer = np.empty_like(logits)
        self.buffer[...] = logits
        return [self.buffer]


def test_the_runtime_gets_fp32_nchw_arrays_and_the_logits_are_a_copy() -> None:
    runtime = _Runtime()
    model = openvino_int8.OpenVINOModel(runtime, (3, 4, 4))
    images = torch.randn(2, 3, 4, 4).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    first = model(images)
    (given,) = runtime.inputs
    assert given.dtype == np.float32 and given.flags["C_CONTIGUOUS"] and given.shape == (2, 3, 4, 4)
    assert torch.equal(first, images.float().reshape(2, -1)[:, :2])
    kept = first.clone()
    model(-images)
    assert torch.equal(first, kept)
    with pytest.raises(UserInputError, match=r"shape \[3, 4, 4\] \(as calibrated\), not \[1, 4, 4\]"):
        model(torch.randn(2, 1, 4, 4))
