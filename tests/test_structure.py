"""The package's shape, checked: layers import only leftwards, methods are named only by the registry, the
manifest is read only through its typed model, and the test harness lives outside the product package."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from amint_demo.methods import list_methods

PACKAGE = Path(__file__).resolve().parents[1] / "amint_demo"
# data → models → methods → evaluation → pairs → reports/bench → runtime → ui / cli; the base modules anywhere
LAYERS = {"data": 1, "models": 2, "methods": 3, "evaluation": 4, "pairs": 5, "reporting": 6, "bench": 6,
          "runtime": 7, "ui": 8, "cli": 8}
BASE = {"errors", "settings", "version", "machine"}
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")
                 or p.parent != PACKAGE)


def _layer(module: str) -> int | None:
    top = module.split(".")[1] if module.count(".") else ""
    return 0 if top in BASE else LAYERS.get(top)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("amint_demo"):
            found |= {f"{node.module}.{alias.name}" if node.module == "amint_demo" else node.module
                      for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("amint_demo")}
    return found


def _name(path: Path) -> str:
    return ".".join(("amint_demo", *path.relative_to(PACKAGE).with_suffix("").parts))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layers_import_only_leftwards(path):
    own = _layer(_name(path))
    assert own is not None, f"{path} belongs to no layer"
    backwards = sorted(m for m in _imports(path) if (_layer(m) or 0) > own)
    assert not backwards, f"{_name(path)} (layer {own}) imports {backwards}"


def _python_files(folder: Path = PACKAGE) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_no_method_is_named_outside_the_methods_package():
    """Method names appear only in their own modules: everything else asks the registry."""
    names = set(list_methods())
    offenders = []
    for path in _python_files():
        if path.parent.name == "methods":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}")
    assert not offenders


def test_the_manifest_is_read_only_through_its_model():
    raw = [f"{p.relative_to(PACKAGE)}:{i}" for p in _python_files() if p.name != "manifest.py"
           for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"manifest\[|manifest\.get\(", line)]
    assert not raw


def test_no_test_tooling_in_the_product_package():
    tooling = re.compile(r"gradio_client|setrlimit|import socket|urllib\.request|LocalApp")
    found = [f"{p.relative_to(PACKAGE)}:{i}" for p in _python_files()
             for i, line in enumerate(p.read_text().splitlines(), 1) if tooling.search(line)]
    assert not found


def test_settings_are_read_from_the_environment_only_by_the_settings_module():
    found = [f"{p.relative_to(PACKAGE)}:{i}" for p in _python_files() if p.name != "settings.py"
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"(environ(\.get)?\(|environ\[|getenv\()[\"']AMINT_", line)]
    assert not found
