from __future__ import annotations

import warnings

import pytest
import torch

from resnetlab.runtime.device import deterministic_mode


def test_deterministic_mode_is_undone_when_the_run_ends() -> None:
    assert not torch.are_deterministic_algorithms_enabled()
    with deterministic_mode(True):
        assert torch.are_deterministic_algorithms_enabled()
    assert not torch.are_deterministic_algorithms_enabled()


def test_deterministic_mode_off_changes_nothing() -> None:
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with deterministic_mode(False):
            assert torch.are_deterministic_algorithms_enabled()
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


def test_bf16_asked_for_on_a_cpu_that_emulates_it_says_so_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from resnetlab.runtime import device as runtime_device

    monkeypatch.setattr(runtime_device, "native_cpu_bf16", lambda _capability: False)
    runtime_device._warn_emulated_bf16.cache_clear()
    cpu = torch.device("cpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert runtime_device.check_precision(cpu, "auto") == "fp32"  # auto never falls into emulated bf16
        assert not caught
        for _ in range(3):
            assert runtime_device.check_precision(cpu, "bf16") == "bf16"  # asked for: done, with one warning
    assert [type(w.message) for w in caught] == [runtime_device.EmulatedBf16Warning]
    assert "about 12x slower steps than fp32" in str(caught[0].message)
    runtime_device._warn_emulated_bf16.cache_clear()
    monkeypatch.setattr(runtime_device, "native_cpu_bf16", lambda _capability: True)
    with warnings.catch_warnings(record=True) as native:
        warnings.simplefilter("always")
        runtime_device.check_precision(cpu, "bf16")
    assert not native


def test_no_shipped_recipe_pins_bf16() -> None:
    from importlib import resources

    recipes = resources.files("resnetlab") / "recipes"
    pinned = [p.name for p in recipes.rglob("*.yaml") if "precision: bf16" in p.read_text()]  # type: ignore[attr-defined]
    assert not pinned, f"recipes that pin bf16 (emulated, ~12x slower, on CPUs without native bf16): {pinned}"
