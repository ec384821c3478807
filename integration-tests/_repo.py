"""Shared helpers for the repository-level tests: where the packages are and what they declare."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "packages"
LAYERS = ["typecore", "pipes", "loaders", "optim", "layers", "learner", "vision", "text", "tabular", "collab"]

# The DAG of DEVELOPERS.md: what each package may build on (directly).
ALLOWED = {
    "typecore": set(),
    "pipes": {"typecore"},
    "loaders": {"pipes", "typecore"},
    "optim": {"typecore"},
    "layers": {"typecore"},
    "learner": {"loaders", "optim", "layers", "pipes", "typecore"},
    "vision": {"learner", "layers", "loaders", "optim", "pipes", "typecore"},
    "text": {"learner", "layers", "loaders", "optim", "pipes", "typecore"},
    "tabular": {"learner", "layers", "loaders", "optim", "pipes", "typecore"},
    "collab": {"tabular", "learner", "layers", "loaders", "optim", "pipes", "typecore"},
}


def pyproject(name: str) -> dict:
    """The parsed pyproject.toml of packages/<name>."""
    return tomllib.loads((PACKAGES / name / "pyproject.toml").read_text())


def declared_plies_deps(name: str) -> set[str]:
    """The plies packages that packages/<name> declares directly (without the plies- prefix)."""
    deps = pyproject(name)["project"]["dependencies"]
    found = set()
    for dep in deps:
        m = re.match(r"plies-([a-z]+)", dep)
        if m:
            found.add(m.group(1))
    return found


def transitive_plies_deps(name: str) -> set[str]:
    """Every plies package reachable from packages/<name> through declared dependencies."""
    seen: set[str] = set()
    todo = list(declared_plies_deps(name))
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo.extend(declared_plies_deps(dep))
    return seen
