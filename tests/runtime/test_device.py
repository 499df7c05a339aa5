from __future__ import annotations

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
