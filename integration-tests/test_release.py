"""Release check: every package builds a wheel and an sdist with the right metadata."""

from __future__ import annotations

import email.parser
import re
import tarfile
import zipfile
from pathlib import Path

import pytest
from _repo import LAYERS, PACKAGES, ROOT, pyproject
from packaging.requirements import Requirement

ALL = LAYERS + ["plies"]


def version_of(name: str) -> str:
    meta = pyproject(name)["project"]
    if "version" in meta:
        return meta["version"]
    # the meta-distribution's version is in plies/version.py (a namespace has no __init__ to hold it)
    about = PACKAGES / name / "src" / "plies" / ("version.py" if name == "plies" else f"{name}/__about__.py")
    return re.search(r'^__version__ = "([^"]+)"$', about.read_text(), re.M).group(1)


@pytest.fixture(scope="module")
def dist(built_dists: Path) -> Path:
    return built_dists  # built once per session (conftest.py): the release tests share them


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_wheel_and_sdist_metadata(dist: Path, name: str) -> None:
    dist_name = "plies" if name == "plies" else f"plies-{name}"
    version = version_of(name)
    stem = dist_name.replace("-", "_") + "-" + version
    wheel = dist / f"{stem}-py3-none-any.whl"
    sdist = dist / f"{stem}.tar.gz"
    assert wheel.exists() and sdist.exists(), sorted(p.name for p in dist.iterdir())
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = email.parser.Parser().parsestr(zf.read(f"{stem}.dist-info/METADATA").decode())
    assert "plies/__init__.py" not in names
    assert meta["Name"] == dist_name and meta["Version"] == version
    requires = sorted(str(Requirement(r)) for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r)
    assert requires == sorted(str(Requirement(r)) for r in pyproject(name)["project"]["dependencies"])
    if name != "plies":
        assert f"plies/{name}/__init__.py" in names and f"plies/{name}/py.typed" in names
        assert any(n.endswith("licenses/LICENSE") for n in names)
    else:
        assert "plies/version.py" in names and "plies/__main__.py" in names
    with tarfile.open(sdist) as tf:
        members = tf.getnames()
    assert f"{stem}/pyproject.toml" in members and f"{stem}/README.md" in members
    assert f"{stem}/CHANGELOG.md" in members


@pytest.mark.parametrize("name", ALL)
def test_each_package_ships_the_root_license(name: str) -> None:
    assert (PACKAGES / name / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()


@pytest.mark.parametrize("name", LAYERS)
def test_version_is_importable(name: str) -> None:
    import importlib

    module = importlib.import_module(f"plies.{name}")
    assert module.__version__ == version_of(name)


@pytest.mark.slow
def test_the_samples_ship_whole_and_small(dist: Path) -> None:
    # every data file with its SOURCE.md, in a wheel small enough for an index (sizes said in MB)
    stem = "plies_samples-" + version_of("samples")
    data = PACKAGES / "samples" / "src" / "plies" / "samples" / "data"
    files = sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file())
    with zipfile.ZipFile(dist / f"{stem}-py3-none-any.whl") as zf:
        shipped = {
            n.removeprefix("plies/samples/data/")
            for n in zf.namelist()
            if n.startswith("plies/samples/data/")
        }
    assert set(files) == shipped and "README.md" in shipped and "mnist_tiny/SOURCE.md" in shipped
    wheel_mb = (dist / f"{stem}-py3-none-any.whl").stat().st_size / 2**20
    sdist_mb = (dist / f"{stem}.tar.gz").stat().st_size / 2**20
    assert wheel_mb < 25 and sdist_mb < 25, (wheel_mb, sdist_mb)
    for other in ALL:
        if other not in ("samples", "plies"):  # no other distribution carries data
            whl = next(dist.glob(f"plies_{other}-*.whl"))
            assert whl.stat().st_size < 2**20, (other, whl.stat().st_size)
