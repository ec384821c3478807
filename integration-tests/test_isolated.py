"""Each package passes its tests in a fresh venv holding only what it declares, its plies dependencies
at the LOWEST versions its ranges admit (from their release tags, or the tree while a version has no
tag): `tools/release.py --check-lowest`, whose catching of a too-low bound test_release_path.py shows."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from _repo import ROOT, transitive_plies_deps
from packaging.specifiers import SpecifierSet
from plies_release import lowest
from plies_release.workspace import Package, all_packages

# Every package with tests (a skeleton without tests/ joins once it has some), and the meta-distribution.
TESTED = [p.name for p in all_packages(ROOT).values() if (p.dir / "tests").is_dir()]
# Only their fast tests here, for the time of the suite: those marked slow run in the dev venv, and
# `tools/release.py` and `--check-lowest` run them all.
FAST = "not slow"


@pytest.mark.slow
@pytest.mark.parametrize("name", TESTED + ["plies"])
def test_each_package_alone_at_its_lowest_dependencies(name: str, wheel_house: Path, tmp_path: Path) -> None:
    package = Package(ROOT, name)
    result = lowest.check(ROOT, package, tmp_path, wheel_house, marks=FAST)
    assert result.passed, result.summary() + "\n" + result.log
    expected = {name} | transitive_plies_deps(name) if name != "plies" else set(all_packages(ROOT))
    installed = {dist.removeprefix("plies-") for dist in result.installed}
    assert installed == expected, result.summary()  # nothing more, nothing less
    declared = {r.name: r.specifier for r in package.plies_requirements() if r.extra is None}
    assert {s.package.name for s in result.direct} == set(declared)
    for source in result.direct:  # the version chosen for each direct dependency is the one installed
        assert source.version in SpecifierSet(str(declared[source.package.name]))
        assert result.installed[source.package.dist] == str(source.version)


@pytest.mark.slow
def test_the_check_isolated_script_runs_the_check(tmp_path: Path) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path))
    run = subprocess.run(
        ["bash", "tools/check-isolated.sh", "samples"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.splitlines()[-1].startswith("check-lowest: plies-samples passed: lowest no plies")
