"""Release check: every package builds a wheel and an sdist with the right metadata."""

from __future__ import annotations

import email.parser
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from _repo import LAYERS, PACKAGES, ROOT, pyproject

ALL = LAYERS + ["plies"]


def version_of(name: str) -> str:
    meta = pyproject(name)["project"]
    if "version" in meta:
        return meta["version"]
    about = PACKAGES / name / "src" / "plies" / name / "__about__.py"
    return about.read_text().split('"')[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    for name in ALL:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "build",
                "--no-isolation",
                "-q",
                "--outdir",
                str(out),
                str(PACKAGES / name),
            ],
            check=True,
            capture_output=True,
        )
    return out


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
    requires = sorted(
        r.split(";")[0].strip() for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r
    )
    assert requires == sorted(pyproject(name)["project"]["dependencies"])
    if name != "plies":
        assert f"plies/{name}/__init__.py" in names and f"plies/{name}/py.typed" in names
        assert any(n.endswith("licenses/LICENSE") for n in names)
    with tarfile.open(sdist) as tf:
        members = tf.getnames()
    assert f"{stem}/pyproject.toml" in members and f"{stem}/README.md" in members


@pytest.mark.parametrize("name", ALL)
def test_each_package_ships_the_root_license(name: str) -> None:
    assert (PACKAGES / name / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()


@pytest.mark.parametrize("name", LAYERS)
def test_version_is_importable(name: str) -> None:
    import importlib

    module = importlib.import_module(f"plies.{name}")
    assert module.__version__ == version_of(name)
