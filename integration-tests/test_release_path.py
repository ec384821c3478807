"""The release path end to end, with builds and fresh venvs, on a small copy of the monorepo (typecore
and pipes in a git repository of their own, both tagged 0.1.0): `tools/release.py` bumps, moves the
changelog, builds, tests the wheel alone, names the tag, and puts its files back when the tests fail;
the lowest-versions check catches a package that uses a name newer than its declared lower bound."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from _repo import GIT_IDENTITY, PACKAGES, ROOT, commit, git

SHOUT = '''

def shout(text: str) -> str:
    """`text` in capitals: a name plies-typecore 0.1.0 does not have."""
    return text.upper()
'''
SMALL_TEST = """from plies.typecore import listify


def test_listify() -> None:
    assert listify(None) == [] and listify((1, 2)) == [1, 2]
"""
SHOUT_TEST = """

def test_shout() -> None:
    from plies.typecore import shout

    assert shout("a") == "A"
"""
ABOUT = "packages/typecore/src/plies/typecore/__about__.py"
LOG = "packages/typecore/CHANGELOG.md"


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository: typecore (one small test file instead of its slow suite), pipes (its tests),
    the release tools and the root's pytest settings; tagged plies-typecore-v0.1.0, plies-pipes-v0.1.0."""
    root = tmp_path_factory.mktemp("released")
    no_cache = shutil.ignore_patterns("__pycache__")
    shutil.copytree(
        PACKAGES / "typecore",
        root / "packages/typecore",
        ignore=shutil.ignore_patterns("__pycache__", "tests"),
    )
    (root / "packages/typecore/tests").mkdir()
    (root / "packages/typecore/tests/test_typecore_small.py").write_text(SMALL_TEST)
    shutil.copytree(PACKAGES / "pipes", root / "packages/pipes", ignore=no_cache)
    shutil.copytree(ROOT / "tools/plies_release", root / "tools/plies_release", ignore=no_cache)
    for name in ("tools/release.py", "pyproject.toml", ".gitignore"):
        shutil.copy(ROOT / name, root / name)
    commit(root, "0.1.0", "plies-typecore-v0.1.0", "plies-pipes-v0.1.0")
    return root


@pytest.fixture
def repo(released: Path, tmp_path: Path) -> Path:
    """A copy of the released repository for one test."""
    return Path(shutil.copytree(released, tmp_path / "repo"))


def release(root: Path, *args: str) -> subprocess.CompletedProcess:
    tool = root / "tools/release.py"
    return subprocess.run([sys.executable, str(tool), *args], cwd=root, capture_output=True, text=True)


def add_shout(root: Path) -> None:
    """Add `shout` to typecore, a test of it, and the line for the changelog."""
    init = root / "packages/typecore/src/plies/typecore/__init__.py"
    init.write_text(init.read_text() + SHOUT)
    test = root / "packages/typecore/tests/test_typecore_small.py"
    test.write_text(test.read_text() + SHOUT_TEST)
    log = root / LOG
    log.write_text(log.read_text().replace("## Unreleased\n", "## Unreleased\n\n- Added `shout`.\n", 1))


@pytest.mark.slow
def test_a_release_bumps_builds_tests_alone_and_names_the_tag(repo: Path) -> None:
    add_shout(repo)
    run = release(repo, "typecore", "0.1.1", "--outdir", "dist")
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout.splitlines()
    assert out[0] == f"{ABOUT}: 0.1.0 -> 0.1.1"
    assert re.fullmatch(rf"{LOG}: '## Unreleased' moved under '0.1.1 - \d{{4}}-\d\d-\d\d'", out[1])
    built = sorted(p.name for p in (repo / "dist").iterdir())
    assert built == ["plies_typecore-0.1.1-py3-none-any.whl", "plies_typecore-0.1.1.tar.gz"]
    assert out[2] == "built: " + ", ".join(f"dist/{name}" for name in built)
    alone = (
        "check-lowest: plies-typecore passed: lowest no plies dependencies; installed plies-typecore 0.1.1"
    )
    assert out[3] == alone
    assert out[-1] == "tag: plies-typecore-v0.1.1"
    with zipfile.ZipFile(repo / "dist" / built[0]) as wheel:
        assert "def shout" in wheel.read("plies/typecore/__init__.py").decode()
        assert wheel.read("plies/typecore/__about__.py").decode().strip() == '__version__ = "0.1.1"'

    # the commands it prints, then: typecore changed since its last tag, and pipes' range still admits it
    (command,) = [line.removeprefix("next: ") for line in out if line.startswith("next: ")]
    subprocess.run(
        command, shell=True, cwd=repo, check=True, capture_output=True, env=os.environ | GIT_IDENTITY
    )
    assert "plies-typecore-v0.1.1" in git(repo, "tag", "--list").split()
    changed = release(repo, "--changed-since", "plies-typecore-v0.1.0").stdout.splitlines()
    assert changed[0] == "changed since plies-typecore-v0.1.0: plies-typecore"
    assert changed[1].startswith("  plies-typecore 0.1.1 (0.1.0 at the tag): 4 files changed: CHANGELOG.md, ")
    assert (
        changed[2]
        == "    a release 0.2.0 would be outside the ranges of: plies-pipes (plies-typecore>=0.1,<0.2)"
    )
    assert (
        release(repo, "--changed-since", "plies-typecore-v0.1.1").stdout
        == "changed since plies-typecore-v0.1.1: nothing\n"
    )


@pytest.mark.slow
def test_a_release_whose_tests_fail_puts_its_files_back(repo: Path) -> None:
    add_shout(repo)
    test = repo / "packages/typecore/tests/test_typecore_small.py"
    test.write_text(test.read_text().replace("listify(None) == []", "listify(None) == [None]"))
    before = {path: (repo / path).read_text() for path in (ABOUT, LOG)}
    run = release(repo, "typecore", "0.1.1", "--outdir", "dist")
    assert run.returncode == 1
    assert "release: the tests of plies-typecore failed:" in run.stderr
    assert re.search(r"1 failed, 1 passed", run.stderr), run.stderr
    assert f"release: put back {ABOUT}, {LOG}" in run.stdout
    assert {path: (repo / path).read_text() for path in (ABOUT, LOG)} == before


@pytest.mark.slow
def test_the_lowest_check_catches_a_new_name_used_under_an_old_lower_bound(repo: Path) -> None:
    # plies-typecore 0.1.1 adds `shout`, released and tagged
    add_shout(repo)
    assert release(repo, "typecore", "0.1.1", "--no-build").returncode == 0
    commit(repo, "plies-typecore 0.1.1", "plies-typecore-v0.1.1")
    # on a branch, pipes starts using it but still declares plies-typecore>=0.1,<0.2
    git(repo, "checkout", "-qb", "pipes-uses-shout")
    src = repo / "packages/pipes/src/plies/pipes"
    (src / "_loud.py").write_text(
        'from plies.typecore import shout\n\n\ndef loud(text: str) -> str:\n    """Shouted."""\n'
        "    return shout(text)\n"
    )
    (src / "__init__.py").write_text(
        (src / "__init__.py").read_text() + "from ._loud import loud  # noqa: E402\n"
    )
    commit(repo, "pipes: loud")

    caught = release(repo, "--check-lowest", "pipes")
    assert caught.returncode == 1
    assert caught.stderr == "check-lowest: failed: plies-pipes\n"
    summary = caught.stdout.splitlines()[0]
    assert summary == (
        "check-lowest: plies-pipes FAILED: lowest plies-typecore 0.1.0 (tag plies-typecore-v0.1.0); "
        "installed plies-pipes 0.1.0, plies-typecore 0.1.0"
    )
    assert "ImportError: cannot import name 'shout' from 'plies.typecore'" in caught.stdout

    # raising the lower bound to the version that added it makes the check pass
    pyproject = repo / "packages/pipes/pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"plies-typecore>=0.1,<0.2"', '"plies-typecore>=0.1.1,<0.2"')
    )
    fixed = release(repo, "--check-lowest", "pipes")
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    assert fixed.stdout.splitlines() == [
        "check-lowest: plies-pipes passed: lowest plies-typecore 0.1.1 (tag plies-typecore-v0.1.1); "
        "installed plies-pipes 0.1.0, plies-typecore 0.1.1"
    ]
