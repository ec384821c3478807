"""Shared helpers for the repository-level tests: where the packages are and what they declare."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "packages"
LAYERS = [
    "typecore",
    "samples",
    "pipes",
    "loaders",
    "optim",
    "layers",
    "learner",
    "vision",
    "text",
    "tabular",
    "collab",
]

# The DAG of DEVELOPERS.md: what each package may build on (directly). `samples` (data only, no
# torch) sits at the bottom beside typecore; loaders reaches it through an optional extra.
ALLOWED = {
    "typecore": set(),
    "samples": set(),
    "pipes": {"typecore"},
    "loaders": {"pipes", "typecore", "samples"},
    "optim": {"typecore"},
    "layers": {"typecore"},
    "learner": {"loaders", "optim", "layers", "pipes", "typecore", "samples"},
    "vision": {"learner", "layers", "loaders", "optim", "pipes", "typecore", "samples"},
    "text": {"learner", "layers", "loaders", "optim", "pipes", "typecore", "samples"},
    "tabular": {"learner", "layers", "loaders", "optim", "pipes", "typecore", "samples"},
    "collab": {"tabular", "learner", "layers", "loaders", "optim", "pipes", "typecore", "samples"},
}


def pyproject(name: str) -> dict:
    """The parsed pyproject.toml of packages/<name>."""
    return tomllib.loads((PACKAGES / name / "pyproject.toml").read_text())


def _plies_names(deps: list[str]) -> set[str]:
    found = set()
    for dep in deps:
        m = re.match(r"plies-([a-z]+)", dep)
        if m:
            found.add(m.group(1))
    return found


def declared_plies_deps(name: str) -> set[str]:
    """The plies packages that packages/<name> declares directly (without the plies- prefix)."""
    return _plies_names(pyproject(name)["project"]["dependencies"])


def optional_plies_deps(name: str) -> set[str]:
    """The plies packages that packages/<name> offers through its extras (other than `test`); its code
    may import them only where it handles their absence (ImportError)."""
    extras = pyproject(name)["project"].get("optional-dependencies", {})
    return {dep for extra, deps in extras.items() if extra != "test" for dep in _plies_names(deps)}


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


# who commits in the git repositories the tests make
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}


def git(root: Path, *args: str) -> str:
    """Run `git ARGS` in `root` (commits by GIT_IDENTITY); its output, or CalledProcessError."""
    env = os.environ | GIT_IDENTITY
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout


def commit(root: Path, message: str, *tags: str) -> None:
    """Commit every file of `root` (a new git repository when it has none), then tag that commit."""
    if not (root / ".git").exists():
        git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    for tag in tags:
        git(root, "tag", tag)
