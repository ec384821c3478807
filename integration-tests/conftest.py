import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))  # plies_release, the tools of tools/release.py

from _repo import PACKAGES  # noqa: E402


@pytest.fixture(scope="session")
def built_dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and the sdist of every package of the tree, built once per test session."""
    from plies_release.envs import build

    out = tmp_path_factory.mktemp("dist")
    for folder in sorted(PACKAGES.iterdir()):
        if (folder / "pyproject.toml").exists():
            build(folder, out)
    return out


@pytest.fixture(scope="session")
def wheel_house(built_dists: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for plies_release.lowest's wheels, its `tree` wheels being those of `built_dists`."""
    house = tmp_path_factory.mktemp("house")
    (house / "tree").symlink_to(built_dists)
    return house
