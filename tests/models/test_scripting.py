"""Every registered network compiles (TorchScript, torch.export, fx, Dynamo) and computes what eager PyTorch does.

Cost: scripting and exporting the 1001- and 1202-layer CIFAR nets at full depth takes about half a minute each here.
A stage's units after its first are built from identical arguments (same widths, stride 1, no stem activation),
so a "shallow twin" with at most two units per stage holds every distinct unit of its network; compilers see the same
module types, flags and Python paths. `test_a_shallow_twin_holds_every_unit_of_its_network` checks that claim for
every model. The smallest registered model of each family runs at full depth, the others as their twins, and models
whose twins are the same network (cifar_resnet32 ... cifar_resnet1202) share one run.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Iterator

import pytest
import torch
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from resnetlab import create_model, list_models
from resnetlab.models import ResidualUnit, ResNet, ResNetSpec, model_entry
from tests.helpers.batchnorm import randomise_batchnorm

ORDERS = ["original", "bn_after_add", "relu_before_add", "relu_preact", "full_preact"]
# The [R2] Table 1 and 2 variants of resnetlab.experiments.identity_mappings.VARIANTS, as create_model options
# (its "original" row is the registered networks themselves).
R2_VARIANTS: list[dict[str, object]] = (
    [
        {"shortcut_mapping": "scaling", "shortcut_scale": 0.5, "residual_scale": 0.5},
        {"shortcut_mapping": "exclusive_gating", "gate_bias": -6.0},
        {"shortcut_mapping": "shortcut_gating", "gate_bias": -6.0},
        {"shortcut_mapping": "conv1x1"},
        {"shortcut_mapping": "dropout", "shortcut_dropout": 0.5},  # eval mode: the expected scale, deterministic
    ]
    + [{"unit_order": order} for order in ORDERS[1:]]
)
# Basic units under every variant and [R1] Sec. 3.3's shortcut options (cifar_resnet20 has option A); bottleneck
# units under every ordering and the options their registered B leaves out. The mappings are the same code for both.
UNIT_OPTIONS: list[tuple[str, dict[str, object]]] = (
    [("cifar_resnet20", options) for options in R2_VARIANTS]
    + [("cifar_resnet20", {"shortcut": option}) for option in "BC"]
    + [("cifar_resnet164", {"unit_order": order}) for order in ORDERS[1:]]
    + [("cifar_resnet164", {"shortcut": option}) for option in "AC"]
)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """On a busy machine OpenMP threads spin-wait for each other: a 2-image forward took 0.5 s here, not 10 ms."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _family(name: str) -> str:
    return re.sub(r"\d.*", "", name)  # "cifar_preact_resnet164" -> "cifar_preact_resnet"


def _smallest_of_each_family() -> set[str]:
    first: dict[str, str] = {}
    for name in list_models():  # sorted by family, then by depth
        first.setdefault(_family(name), name)
    return set(first.values())


def _twin_spec(name: str, **options: object) -> ResNetSpec:
    spec = model_entry(name).spec.with_options(**options)
    return dataclasses.replace(spec, depths=tuple(min(depth, 2) for depth in spec.depths))


def _shallow_twin(name: str, **options: object) -> ResNet:
    return ResNet(_twin_spec(name, **options))


def _model(name: str, *, twin: bool = False, **options: object) -> ResNet:
    """In eval mode, with BN that is not the identity but small enough that 50 units in a row stay finite."""
    model = _shallow_twin(name, **options) if twin else create_model(name, **options)
    assert isinstance(model, ResNet)
    randomise_batchnorm(model, mean=(-0.2, 0.2), var=(0.5, 1.5), scale=(0.2, 0.6), shift=(-0.2, 0.2))
    return model.eval()


def _images(model: ResNet) -> torch.Tensor:
    # CIFAR nets at their 32x32; ImageNet nets at 64x64, whose last stage still sees a 2x2 map (stride 32).
    size = 32 if model.spec.stem == "cifar" else 64
    return torch.randn(2, model.spec.in_chans, size, size)


def _assert_compiles_to_eager(model: ResNet) -> None:
    """torch.jit.script and torch.export.export give the eager outputs (eval mode)."""
    images = _images(model)
    with torch.no_grad():
        expected = model(images)
        assert torch.isfinite(expected).all()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script is deprecated but still shipped
            scripted = torch.jit.script(model)
        with torch.jit.optimized_execution(False):  # one run: skip the profiling executor's warm-up runs
            torch.testing.assert_close(scripted(images), expected, rtol=1e-5, atol=1e-5)
        exported = torch.export.export(model, (images,)).module()
        torch.testing.assert_close(exported(images), expected, rtol=1e-5, atol=1e-5)


def _every_model() -> list[object]:
    """One case per distinct network run: (the name to build, whether as a twin), named after every model it covers."""
    full = _smallest_of_each_family()
    runs: dict[ResNetSpec, tuple[str, bool, list[str]]] = {}
    for name in list_models():
        twin = name not in full
        spec = _twin_spec(name) if twin else model_entry(name).spec
        runs.setdefault(spec, (name, twin, []))[2].append(f"{name}-twin" if twin else name)
    return [pytest.param(name, twin, id="+".join(covered)) for name, twin, covered in runs.values()]


@pytest.mark.parametrize(("name", "twin"), _every_model())
def test_every_model_scripts_and_exports_with_the_eager_outputs(name: str, twin: bool) -> None:
    _assert_compiles_to_eager(_model(name, twin=twin))


@pytest.mark.parametrize(
    ("name", "options"),
    [pytest.param(n, o, id=f"{n}-" + ",".join(f"{k}={v}" for k, v in o.items())) for n, o in UNIT_OPTIONS],
)
def test_every_unit_option_scripts_and_exports(name: str, options: dict[str, object]) -> None:
    _assert_compiles_to_eager(_model(name, twin=True, **options))


def _structure(module: nn.Module) -> tuple[object, ...]:
    """What a compiler sees of a module: its class, its plain attributes (flags, sizes) and its children's."""
    plain = (bool, int, float, str, tuple, type(None))
    attributes = sorted((k, v) for k, v in vars(module).items() if not k.startswith("_") and isinstance(v, plain))
    children = tuple((n, _structure(c)) for n, c in module.named_children())
    return (type(module).__name__, tuple(attributes), children)


@pytest.mark.parametrize("name", list_models())
def test_a_shallow_twin_holds_every_unit_of_its_network(name: str) -> None:
    with torch.device("meta"):  # no memory, no initialisation cost: the 1202-layer net builds in a second
        full, twin = create_model(name), _shallow_twin(name)
    assert isinstance(full, ResNet)
    assert {_structure(unit) for unit in full.units()} == {_structure(unit) for unit in twin.units()}


def test_sync_batchnorm_conversion_reaches_forward() -> None:
    """convert_sync_batchnorm swaps child modules: forward must run the new ones (no stale references).

    On CPU without a process group SyncBatchNorm falls back to batch_norm, so the outputs stay the same.
    """
    model = _model("cifar_resnet164", unit_order="full_preact")
    images = _images(model)
    with torch.no_grad():
        expected = model(images)
    model = nn.SyncBatchNorm.convert_sync_batchnorm(model).eval()
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert norms and all(type(m) is nn.SyncBatchNorm for m in norms)
    ran: list[nn.Module] = []
    handles = [m.register_forward_hook(lambda m, _i, _o: ran.append(m)) for m in model.modules()]
    with torch.no_grad():
        torch.testing.assert_close(model(images), expected, rtol=1e-5, atol=1e-5)
    for handle in handles:
        handle.remove()
    ran_norms = [m for m in ran if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert all(type(m) is nn.SyncBatchNorm for m in ran_norms)
    assert {id(m) for m in ran_norms} == {id(m) for m in norms}  # every converted BN runs, once each
    assert len(ran_norms) == len(norms)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("name", ["cifar_resnet20", "preact_resnet50"])
def test_fx_symbolic_trace_matches_eager(name: str, order: str) -> None:
    model = _model(name, twin=True, unit_order=order, shortcut_mapping="shortcut_gating")
    images = _images(model)
    traced = torch.fx.symbolic_trace(model)
    with torch.no_grad():
        torch.testing.assert_close(traced(images), model(images), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["cifar_preact_resnet110", "resnet50"])
def test_torchvision_feature_extractor_matches_forward_intermediates(name: str) -> None:
    model = _model(name, twin=True)
    images = _images(model)
    extractor = create_feature_extractor(model, return_nodes={n: n for n in model.stage_names})
    with torch.no_grad():
        features = extractor(images)
        expected = model.forward_intermediates(images, out_indices=range(1, len(model.stage_names) + 1))
    assert list(features) == model.stage_names
    for got, want in zip(features.values(), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_dynamo_captures_the_whole_network_without_graph_breaks() -> None:
    """fullgraph=True fails on any graph break in the network's Python. The "eager" backend skips Inductor's code
    generation (about 20 s here for cifar_resnet20), which does not depend on how the model is written."""
    model = _model("cifar_resnet20", unit_order="bn_after_add", shortcut_mapping="scaling")
    images = _images(model)
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    with torch.no_grad():
        torch.testing.assert_close(compiled(images), model(images), rtol=1e-5, atol=1e-5)


def test_unit_layers_keep_torchvisions_names_and_order() -> None:
    """Named attributes in torchvision's order, so state dicts keep their keys (and their order) for checkpoints."""
    unit = create_model("cifar_resnet164", shortcut_mapping="shortcut_gating").layer1[0]
    assert isinstance(unit, ResidualUnit)
    names = ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "downsample", "gate"]
    assert [n for n, _ in unit.named_children()] == names
