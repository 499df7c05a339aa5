from __future__ import annotations

import ast
from pathlib import Path

import resnetlab.data

ALLOWED_FROM_ENGINE = {"resnetlab.engine.config"}  # DataConfig, the data layer's input type


def test_the_data_layer_imports_no_model_and_no_engine_code() -> None:
    package = Path(resnetlab.data.__file__).parent
    for source in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("resnetlab.models"), f"{source.name} imports {name}"
                assert not name.startswith("resnetlab.engine") or name in ALLOWED_FROM_ENGINE, f"{source.name}: {name}"
