"""The version of plies (the meta-distribution) and of every installed plies distribution.

`plies` is a namespace shared by separately installed distributions, so it has no `__init__` to
carry a version: this module does. `python -m plies --version` prints the same information.
"""

from __future__ import annotations

import re
from importlib import metadata

__version__ = "0.1.0"

__all__ = ["__version__", "versions"]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def versions() -> dict[str, str]:
    """Every installed plies distribution (`plies`, `plies-typecore`, ...) and its version, by name."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = _canonical(dist.metadata["Name"] or "")
        if name == "plies" or name.startswith("plies-"):
            found.setdefault(name, dist.version)  # the first on sys.path is the one imported
    return dict(sorted(found.items()))
