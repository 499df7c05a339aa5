"""The page "ResNet in PyTorch, from scratch" (docs/theory/from-scratch.md) runs as it stands, and its claims hold.

The page's code is its fenced blocks titled `resnet_from_scratch.py` (concatenated in order, they are one module) and
`compare.py` (run with that module importable, as a reader who saved both files would run it). The hand-written
ResNet-20 must be resnetlab's `cifar_resnet20`: the same parameters, and with resnetlab's weights (BN statistics and
affine parameters moved away from their initial 0 and 1, so that a BN in the wrong place shows) the same outputs, in
eval and in train mode. Every parameter count the page writes is counted here, and the exercises' "what to look for"
is checked against resnetlab.
"""

from __future__ import annotations

import ast
import re
import sys
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnetlab import create_model
from tests.helpers.batchnorm import randomise_batchnorm

PAGE = Path(__file__).resolve().parents[2] / "docs" / "theory" / "from-scratch.md"
MODULE = "resnet_from_scratch"
FENCE = re.compile(r'^```python title="(?P<title>[^"]+)"\n(?P<code>.*?)^```$', re.M | re.S)
THOUSANDS = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\w,])")


def titled_blocks(markdown: str) -> dict[str, str]:
    """The code of each title, its blocks joined in the order the page shows them."""
    blocks: dict[str, list[str]] = {}
    for match in FENCE.finditer(markdown):
        blocks.setdefault(match["title"], []).append(match["code"])
    return {title: "\n\n".join(codes) for title, codes in blocks.items()}


def count(modules: nn.Module | Iterable[nn.Module]) -> int:
    modules = [modules] if isinstance(modules, nn.Module) else list(modules)
    return sum(p.numel() for module in modules for p in module.parameters())


def outputs_with_their_weights(mine: nn.Module, theirs: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Both nets' eval-mode outputs on one random batch, `theirs`' weights (BN moved off the identity) in `mine`."""
    randomise_batchnorm(theirs)
    mine.load_state_dict(theirs.state_dict())  # strict
    mine.eval()
    theirs.eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        return mine(x), theirs(x)


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def blocks(page: str) -> dict[str, str]:
    found = titled_blocks(page)
    for title in (f"{MODULE}.py", "compare.py"):
        if title not in found:
            pytest.fail(
                f'{PAGE} has no ```python title="{title}"``` block (found titles: {sorted(found)}): '
                "the page's code would go untested"
            )
    return found


@pytest.fixture(scope="module")
def scratch(blocks: dict[str, str]) -> types.ModuleType:
    """The page's `resnet_from_scratch.py`, executed into a fresh module."""
    module = types.ModuleType(MODULE)
    module.__file__ = f"{PAGE}#{MODULE}.py"
    exec(compile(blocks[f"{MODULE}.py"], module.__file__, "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def resnet50() -> nn.Module:
    return create_model("resnet50")


def test_the_block_finder_reads_titled_blocks_in_order_and_skips_others() -> None:
    markdown = (
        '```python title="a.py"\nx = 1\n```\n\ntext\n\n```python\ny = 2\n```\n\n```python title="a.py"\nz = 3\n```\n'
    )
    assert titled_blocks(markdown) == {"a.py": "x = 1\n\n\nz = 3\n"}
    assert titled_blocks("# a page without code\n") == {}


def test_the_model_code_imports_torch_only(blocks: dict[str, str]) -> None:
    tree = ast.parse(blocks[f"{MODULE}.py"])
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported, "the model code imports nothing?"
    assert all(name == "torch" or name.startswith("torch.") for name in imported), imported


def test_resnet20_has_the_parameters_of_cifar_resnet20_and_of_the_pages_table(
    scratch: types.ModuleType, page: str
) -> None:
    mine, theirs = scratch.resnet20(), create_model("cifar_resnet20")
    assert count(mine) == count(theirs)

    parts: dict[str, tuple[list[nn.Module], nn.Module]] = {
        "stem": ([mine.conv1, mine.bn1], mine.bn1),
        "layer1": ([mine.layer1], mine.layer1),
        "layer2": ([mine.layer2], mine.layer2),
        "layer3": ([mine.layer3], mine.layer3),
        "head": ([mine.fc], mine.fc),
    }
    shapes: dict[str, str] = {}
    for name, (_, output) in parts.items():
        output.register_forward_hook(
            lambda _m, _i, out, name=name: shapes.__setitem__(name, "x".join(map(str, out.shape[1:])))
        )
    mine(torch.randn(2, 3, 32, 32))

    counts = {name: count(modules) for name, (modules, _) in parts.items()}
    assert sum(counts.values()) == count(mine)  # the parts cover the whole net
    for name in parts:
        row = f"| {name} | {shapes[name]} | {counts[name]:,} |"
        assert row in page, f"the page's table lacks {row!r}"
    assert f"| total | | {count(mine):,} |" in page
    assert f"{count(mine):,} parameters" in page  # the summary's bullet

    # Every count written with thousands separators is one of those checked here, or one the exercises' tests check.
    checked = {f"{n:,}" for n in (*counts.values(), count(mine))}
    assert set(THOUSANDS.findall(page)) <= checked, set(THOUSANDS.findall(page)) - checked


def test_with_resnetlabs_weights_it_computes_what_cifar_resnet20_computes(scratch: types.ModuleType) -> None:
    mine, theirs = scratch.resnet20(), create_model("cifar_resnet20")
    randomise_batchnorm(theirs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    mine.load_state_dict(theirs.state_dict())  # strict
    x = torch.randn(4, 3, 32, 32)

    mine.eval()
    theirs.eval()
    with torch.no_grad():
        out = theirs(x)
        torch.testing.assert_close(mine(x), out)
    assert out.std() > 0.1  # not a comparison of two constants

    # Train mode: BN normalises with the batch's statistics and updates its running ones, the same in both.
    mine.train()
    theirs.train()
    with torch.no_grad():
        torch.testing.assert_close(mine(x), theirs(x))
    for (key, a), b in zip(mine.state_dict().items(), theirs.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=key)


def test_the_compare_block_runs_as_the_page_shows_it(
    scratch: types.ModuleType,
    blocks: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, MODULE, scratch)
    exec(compile(blocks["compare.py"], f"{PAGE}#compare.py", "exec"), {"__name__": "__main__"})
    assert "same parameters, same outputs" in capsys.readouterr().out


@pytest.mark.parametrize(("stage", "in_ch", "width", "stride"), [("layer1", 64, 64, 1), ("layer2", 256, 128, 2)])
def test_the_bottleneck_is_the_first_unit_of_a_resnet50_stage(
    scratch: types.ModuleType, resnet50: nn.Module, stage: str, in_ch: int, width: int, stride: int
) -> None:
    theirs = getattr(resnet50, stage)[0]
    mine = scratch.Bottleneck(in_ch, width, stride)
    assert mine.expansion == 4
    assert [mine.conv1.kernel_size, mine.conv2.kernel_size, mine.conv3.kernel_size] == [(1, 1), (3, 3), (1, 1)]
    assert mine.conv3.out_channels == 4 * width
    assert count(mine) == count(theirs)

    # Names differ where the projection lives (`shortcut` here, torchvision's `downsample` there); the order does not.
    randomise_batchnorm(theirs)
    pairs = list(zip(mine.state_dict(), theirs.state_dict().values(), strict=True))
    mine.load_state_dict(dict(pairs))
    mine.eval()
    theirs.eval()
    x = torch.randn(2, in_ch, 16, 16)
    with torch.no_grad():
        out = mine(x)
        torch.testing.assert_close(out, theirs(x))
    assert out.shape == (2, 4 * width, 16 // stride, 16 // stride)


def test_exercise_resnet56_is_n_9(scratch: types.ModuleType) -> None:
    assert count(scratch.CifarResNet(n=9)) == count(create_model("cifar_resnet56"))


def test_exercise_option_b_adds_two_projections_and_matches_resnetlabs(scratch: types.ModuleType) -> None:
    mine = scratch.resnet20()
    option_a = count(mine)
    changed = 0
    for block in mine.modules():
        if isinstance(block, scratch.BasicBlock) and isinstance(block.shortcut, scratch.ZeroPad):
            in_ch, out_ch, stride = block.conv1.in_channels, block.conv1.out_channels, block.conv1.stride
            block.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )
            changed += 1
    assert changed == 2
    assert count(mine) > option_a
    assert count(mine) == count(create_model("cifar_resnet20", shortcut="B"))


def test_exercise_the_plain_net_is_cifar_plain20(scratch: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def plain_forward(self: Any, x: torch.Tensor) -> torch.Tensor:  # a BasicBlock of the page's module
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)))

    monkeypatch.setattr(scratch.BasicBlock, "forward", plain_forward)
    mine, theirs = scratch.resnet20(), create_model("cifar_plain20")
    assert count(mine) == count(theirs) == count(create_model("cifar_resnet20"))
    torch.testing.assert_close(*outputs_with_their_weights(mine, theirs))


def test_where_the_zeros_go_changes_the_outputs_not_the_count(scratch: types.ModuleType) -> None:
    """The page: a net padded on both sides has the same parameters, but the same weights give other outputs."""
    mine, both = scratch.resnet20(), create_model("cifar_resnet20", pad_channels="both")
    assert count(mine) == count(both)
    assert not torch.allclose(*outputs_with_their_weights(mine, both), atol=1e-3)
