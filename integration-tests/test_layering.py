"""Every package imports only plies packages below it in the DAG, and only ones it declares."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from _repo import ALLOWED, LAYERS, PACKAGES, optional_plies_deps, transitive_plies_deps


def plies_imports(path: Path, own: str, tree: ast.AST | None = None) -> set[str]:
    """The plies packages a source file (or `tree`, a part of it) imports (absolute and relative imports)."""
    if tree is None:
        tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative: `from .. import x` inside plies/<own>/sub/ climbs within plies.<own>;
                # climbing above plies/<own> reaches the namespace, and then names a sibling.
                src_root = PACKAGES / own / "src" / "plies"
                depth = len(path.relative_to(src_root).parts) - 1 if src_root in path.parents else 99
                if node.level > depth:
                    if node.module:
                        names = ["plies." + node.module]
                    else:
                        names = ["plies." + alias.name for alias in node.names]
            elif node.module == "plies":
                names = ["plies." + alias.name for alias in node.names]
            elif node.module:
                names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "plies" and len(parts) > 1 and parts[1] != own:
                found.add(parts[1])
    return found


def guarded_imports(path: Path, own: str) -> set[str]:
    """The plies packages a source file imports inside a `try` whose handlers catch ImportError."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            catches = {getattr(h.type, "id", None) for h in node.handlers}
            if catches & {"ImportError", "ModuleNotFoundError"}:
                for stmt in node.body:
                    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                        found |= plies_imports(path, own, tree=stmt)
    return found


@pytest.mark.parametrize("name", LAYERS)
def test_imports_follow_the_dag_and_the_declared_dependencies(name: str) -> None:
    declared, optional = transitive_plies_deps(name), optional_plies_deps(name)
    assert declared <= ALLOWED[name], f"{name} declares {declared - ALLOWED[name]}, which are not below it"
    assert optional <= ALLOWED[name], f"{name} offers {optional - ALLOWED[name]}, which are not below it"
    for path in sorted((PACKAGES / name / "src").rglob("*.py")):
        used = plies_imports(path, name)
        assert used <= ALLOWED[name], f"{path} imports {used - ALLOWED[name]}: not below plies.{name}"
        # an optional dependency (an extra) may be imported only where its absence is handled
        undeclared = used - declared - (optional & guarded_imports(path, name))
        assert not undeclared, f"{path} imports {undeclared}: not declared in {name}/pyproject.toml"


@pytest.mark.parametrize("name", LAYERS)
def test_tests_use_only_declared_packages(name: str) -> None:
    # A package's own tests must pass with only its declared dependencies installed (tests of an
    # optional dependency skip themselves with pytest.importorskip, which this check does not see)
    declared = transitive_plies_deps(name)
    for path in sorted((PACKAGES / name / "tests").rglob("*.py")):
        used = plies_imports(path, name)
        assert used <= declared, f"{path} imports {used - declared}: not declared in {name}/pyproject.toml"


def test_the_checker_sees_sideways_and_relative_imports(tmp_path: Path) -> None:
    src = PACKAGES / "optim" / "src" / "plies" / "optim" / "_probe_for_test.py"
    src.write_text(
        "from plies.pipes import Transform\nfrom ..loaders import DataLoader\nimport plies.optim\n"
    )
    try:
        assert plies_imports(src, "optim") == {"pipes", "loaders"}
    finally:
        src.unlink()


def test_optional_imports_count_only_where_their_absence_is_handled(tmp_path: Path) -> None:
    src = PACKAGES / "loaders" / "src" / "plies" / "loaders" / "_probe_for_test.py"
    src.write_text(
        "try:\n    import plies.samples as samples\nexcept ImportError:\n    samples = None\n"
        "import plies.samples\n"
    )
    try:
        assert guarded_imports(src, "loaders") == {"samples"}
        src.write_text("try:\n    import plies.samples\nexcept KeyError:\n    pass\n")
        assert guarded_imports(src, "loaders") == set()
    finally:
        src.unlink()


def test_no_namespace_init_anywhere() -> None:
    assert not list(PACKAGES.glob("*/src/plies/__init__.py"))
