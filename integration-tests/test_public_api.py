"""Each package's README table of public names and its `__all__` agree; every public name is documented."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from _repo import PACKAGES

BUILT = [
    "typecore",
    "samples",
    "pipes",
    "loaders",
    "optim",
    "layers",
    "learner",
    "vision",
    "tabular",
    "collab",
    "text",
]
ROW = re.compile(r"^\|\s*`([A-Za-z_][A-Za-z0-9_]*)`", re.M)


def documented_names(name: str) -> set[str]:
    """The names in the first column of the README's tables (backticked)."""
    return set(ROW.findall((PACKAGES / name / "README.md").read_text()))


@pytest.mark.parametrize("name", BUILT)
def test_readme_table_matches_all(name: str) -> None:
    module = importlib.import_module(f"plies.{name}")
    public = set(module.__all__) - {"__version__"}
    documented = documented_names(name)
    assert public - documented == set(), f"in plies.{name}.__all__ but not in its README table"
    assert documented - public == set(), f"in the README table of plies.{name} but not in __all__"


@pytest.mark.parametrize("name", BUILT)
def test_public_names_have_docstrings(name: str) -> None:
    module = importlib.import_module(f"plies.{name}")
    missing = []
    for attr in module.__all__:
        obj = getattr(module, attr)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and not inspect.getdoc(obj):
            missing.append(attr)
    assert missing == [], f"plies.{name}: public names without a docstring"
