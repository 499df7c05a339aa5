"""The imports of `src/resnetlab` point one way, down its layers, and no module imports itself back through others.

The layers, bottom up (a package may import its own modules and any package of a lower layer, never one beside or
above it): `errors` | `config` | `models`, `data` | `runtime`, `runs`, `analysis`, `report` | `inference` | `train` |
`experiments` | `cli` | the package itself (`resnetlab`, `resnetlab.__main__`). Every import counts, including those
made only for type annotations: an upward one is a design question, not a detail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import resnetlab

PACKAGE = Path(resnetlab.__file__).parent
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "files"),
    ("config",),
    ("models", "data"),
    ("runtime", "runs", "analysis", "report"),
    ("inference",),
    ("train",),
    ("experiments",),
    ("cli",),
    ("", "__main__"),
)
LEVEL = {part: level for level, parts in enumerate(LAYERS) for part in parts}


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _imports(path: Path) -> Iterator[str]:
    """The resnetlab modules `path` imports (a `from X import name` may name a module of package X)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("resnetlab"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("resnetlab"):
            yield node.module


def _part(module: str) -> str:
    """The top-level part of resnetlab a module belongs to ("" for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}


def test_every_part_of_resnetlab_has_a_layer() -> None:
    parts = {_part(name) for name in _graph()}
    assert parts <= set(LEVEL), f"parts without a layer: {sorted(parts - set(LEVEL))}"


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if _part(target) != _part(module) and LEVEL[_part(target)] >= LEVEL[_part(module)]
    ]
    assert not upward, "imports up or sideways:\n" + "\n".join(sorted(upward))


def test_no_module_imports_itself_back() -> None:
    graph = _graph()
    # A package's __init__ that re-exports its modules is not a cycle with them: only module-to-module edges count.
    edges = {
        m: {t for t in targets if t != m and not (m.startswith(t + ".") or t.startswith(m + "."))}
        for m, targets in graph.items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


MAX_MODULES = 12  # per folder, not counting __init__.py: a folder a reader can take in at a glance
MAX_LINES = 400  # per module: a file a reader can read whole


def test_folders_and_modules_stay_small() -> None:
    crowded = {
        folder.name: count
        for folder in [PACKAGE, *(p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())]
        if (count := len([m for m in folder.glob("*.py") if m.name != "__init__.py"])) > MAX_MODULES
    }
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not crowded, f"folders over {MAX_MODULES} modules: {crowded}"
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_torchrun_variables_are_read_in_one_place() -> None:
    """RANK, LOCAL_RANK and WORLD_SIZE are read by `runtime.distributed.from_environment` alone; everything else asks
    it (or the `Parallel` built from it), so a change to how a process learns its place is made once."""
    readers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in ("RANK", "LOCAL_RANK", "WORLD_SIZE")
    )
    assert set(readers) == {"runtime/distributed.py"}, readers
