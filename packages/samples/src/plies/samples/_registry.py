"""Where the installed sample datasets are: one folder per set under `data/`, each with its SOURCE.md."""

from __future__ import annotations

from pathlib import Path

__all__ = ["path", "names", "DATA"]

DATA = Path(__file__).resolve().parent / "data"


def names() -> list[str]:
    """The names of the installed sample datasets, sorted (e.g. `'mnist_tiny'`, `'pets_sample'`)."""
    return sorted(p.name for p in DATA.iterdir() if p.is_dir())


def path(name: str) -> Path:
    """The folder of the installed sample dataset `name` (its data files and SOURCE.md).

    Treat it as read-only: it is part of the installation (write models and exports elsewhere).
    """
    if not isinstance(name, str):
        raise TypeError(f"plies.samples.path: name must be a str, found {type(name).__name__} {name!r}")
    folder = DATA / name
    if name in ("", ".", "..") or "/" in name or "\\" in name or not (folder / "SOURCE.md").is_file():
        raise KeyError(f"plies.samples.path: no sample dataset {name!r}; the installed ones are {names()}")
    return folder
