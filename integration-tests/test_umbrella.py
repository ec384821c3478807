"""The apps' `plies.<app>.all` umbrella imports and the version of plies (`plies.version`,
`python -m plies --version`)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
import tomllib
from _repo import LAYERS, PACKAGES, pyproject

APPS = {"vision": ["learner"], "text": ["learner"], "tabular": ["learner"], "collab": ["tabular"]}


def star(module: str) -> dict:
    namespace: dict = {}
    exec(f"from {module} import *", namespace)
    namespace.pop("__builtins__")
    return namespace


@pytest.mark.parametrize("app", sorted(APPS))
def test_each_app_all_exports_what_below_it_exports_and_its_own_names(app: str):
    ns = star(f"plies.{app}.all")
    package = importlib.import_module(f"plies.{app}")
    expected = {name for name in package.__all__ if name != "__version__"}
    for below in APPS[app]:
        expected |= set(star(f"plies.{below}.all"))
    # vision's umbrella also brings torchvision's classifier constructors (`resnet34`...), as fastai's does
    extras = set(getattr(importlib.import_module(f"plies.{app}.all"), "_ARCHS", ()))
    assert all(ns[name].__module__.startswith("torchvision.models") for name in extras)
    assert set(ns) == expected | extras
    assert len(set(package_all := importlib.import_module(f"plies.{app}.all").__all__)) == len(package_all)
    from plies.learner import Learner
    from plies.loaders import DataBlock

    assert (
        ns["Learner"] is Learner
        and ns["DataBlock"] is DataBlock
        and ns["torch"] is importlib.import_module("torch")
    )
    assert importlib.import_module(f"plies.{app}.all").__version__ == package.__version__


def about_version(name: str) -> str:
    return (PACKAGES / name / "src" / "plies" / name / "__about__.py").read_text().split('"')[1]


def test_versions_lists_every_installed_plies_distribution():
    from plies.version import __version__, versions

    meta_version = (PACKAGES / "plies" / "src" / "plies" / "version.py").read_text()
    assert f'__version__ = "{__version__}"' in meta_version
    assert (
        "version" in tomllib.loads((PACKAGES / "plies" / "pyproject.toml").read_text())["project"]["dynamic"]
    )
    expected = {"plies": __version__} | {f"plies-{name}": about_version(name) for name in LAYERS}
    assert versions() == dict(sorted(expected.items()))
    assert pyproject("plies")["project"]["name"] == "plies"


def test_python_m_plies_reports_the_versions():
    from plies.version import versions

    run = subprocess.run([sys.executable, "-m", "plies", "--version"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines == [f"{name} {version}" for name, version in versions().items()]  # plies first (sorted)
    helped = subprocess.run([sys.executable, "-m", "plies"], capture_output=True, text=True)
    assert helped.returncode == 0 and "usage: python -m plies [-h] [--version]" in helped.stdout
