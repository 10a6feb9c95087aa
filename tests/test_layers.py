"""The package layering, read from the source with ``ast`` (no import is executed).

core → (nothing above it) · models, data, training, sparsity → never methods or cli · methods → never
cli, another method only through its package ``__init__`` · no cycle between packages.
"""

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1] / "vita_cli"
LIBRARIES = ("models", "data", "training", "sparsity")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every vita_cli module ``path`` imports (``from pkg import name`` counts as pkg.name when that is a module)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _exists(candidate) else base)
    return {name for name in found if name == "vita_cli" or name.startswith("vita_cli.")}


def _exists(module: str) -> bool:
    rel = Path(*module.split("."))
    return (ROOT.parent / rel).with_suffix(".py").is_file() or (ROOT.parent / rel / "__init__.py").is_file()


def _package(module: str) -> str:
    """``vita_cli.<layer>`` or, for methods, ``vita_cli.methods.<name>``."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] == "methods":
        return ".".join(parts[:3])
    return ".".join(parts[:2])


EDGES = sorted((_module_name(p), target) for p in ROOT.rglob("*.py") for target in _imports(p))


def _violations(rule) -> list[str]:
    return [f"{a} -> {b}" for a, b in EDGES if rule(a, b)]


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_edges_were_read():
    assert len(EDGES) > 100 and ("vita_cli.cli.app", "vita_cli.cli.train") in EDGES


def test_core_imports_only_core():
    # the root package holds only the version string
    assert _violations(lambda a, b: _layer(a) == "core" and _layer(b) not in ("core", "")) == []
    assert [b for a, b in EDGES if a == "vita_cli"] == []


@pytest.mark.parametrize("layer", LIBRARIES)
def test_libraries_never_import_methods_or_cli(layer):
    assert _violations(lambda a, b: _layer(a) == layer and _layer(b) in ("methods", "cli", "schemas")) == []


def test_methods_never_import_cli():
    assert _violations(lambda a, b: _layer(a) == "methods" and _layer(b) in ("cli", "schemas")) == []


def test_a_method_imports_another_only_through_its_package():
    def crosses(a, b):
        pa, pb = _package(a), _package(b)
        both = _layer(a) == "methods" and _layer(b) == "methods" and pa != pb
        return both and pb != "vita_cli.methods" and b != pb  # only ``vita_cli.methods.<name>`` itself

    assert _violations(crosses) == []


def test_no_package_cycle():
    graph = nx.DiGraph()
    graph.add_edges_from((_package(a), _package(b)) for a, b in EDGES if _package(a) != _package(b))
    assert list(nx.simple_cycles(graph)) == []
