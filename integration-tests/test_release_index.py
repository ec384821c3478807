"""A local package index (a folder of the built wheels, used with `pip install --no-index --find-links`):
one layer installs with exactly what it declares, `plies` installs every package, and one layer
upgrades alone while the others keep working."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from _repo import PACKAGES, ROOT, declared_plies_deps, transitive_plies_deps
from plies_release import envs
from plies_release.workspace import Package, all_packages

TESTED = ("pipes", "optim")  # the layers whose tests run after the upgrade of plies-typecore
ADDED = '''

def added_in_0_1_1() -> str:
    """A name plies-typecore 0.1.0 does not have."""
    return "new"
'''


def declared(names: set[str], tested: tuple[str, ...] = ()) -> list:
    """What `names` declare, with the [test] extra of the packages in `tested`."""
    return [r for n in names for r in Package(ROOT, n).requirements(("test",) if n in tested else ())]


def typecore_wheel(version: str, out: Path, work: Path) -> Path:
    """A wheel of plies-typecore rebuilt from the tree as `version`, with one name 0.1.0 lacks."""
    source = work / f"typecore-{version}"
    shutil.copytree(PACKAGES / "typecore", source, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    about = source / "src" / "plies" / "typecore" / "__about__.py"
    about.write_text(re.sub(r'"[^"]+"', f'"{version}"', about.read_text()))
    init = source / "src" / "plies" / "typecore" / "__init__.py"
    init.write_text(init.read_text() + ADDED)
    (built,) = envs.build(source, out, sdist=False)
    return built


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, expected",
    [  # by hand, from the layer map of the root README
        ("pipes", {"plies-typecore", "plies-pipes"}),
        (
            "learner",
            {
                "plies-typecore",
                "plies-pipes",
                "plies-loaders",
                "plies-optim",
                "plies-layers",
                "plies-learner",
            },
        ),
        ("samples", {"plies-samples"}),
    ],
)
def test_one_layer_installs_with_exactly_what_it_declares(
    name: str, expected: set[str], built_dists: Path, tmp_path: Path
) -> None:
    python = envs.venv_with(tmp_path, declared({name} | transitive_plies_deps(name)), f"plies-{name}")
    run = envs.pip_install(python, f"plies-{name}", find_links=[built_dists])
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    installed = envs.installed(tmp_path / "venv")
    # the view holds only the third-party packages these declare: pip found nothing else missing
    assert set(installed) == expected, installed
    imported = envs.run_python(python, "-c", f"import plies.{name}; import plies.tabular", cwd=tmp_path)
    assert "No module named 'plies.tabular'" in imported.stderr


@pytest.mark.slow
def test_plies_installs_everything_and_one_layer_upgrades_alone(built_dists: Path, tmp_path: Path) -> None:
    python = envs.venv_with(tmp_path, declared(set(all_packages(ROOT)), tested=TESTED), "plies")
    run = envs.pip_install(python, "plies", find_links=[built_dists])
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    every = {p.dist: str(p.version()) for p in all_packages(ROOT).values()}
    assert envs.installed(tmp_path / "venv") == dict(sorted(every.items()))
    listed = envs.run_python(python, "-m", "plies", "--version", cwd=tmp_path).stdout.splitlines()
    assert sorted(listed) == sorted(f"{dist} {version}" for dist, version in every.items())

    # a patch release of plies-typecore on the index: it upgrades alone, the layers above keep working
    newer = tmp_path / "newer"
    typecore_wheel("0.1.1", newer, tmp_path)
    upgrade = envs.pip_install(python, "-U", "plies-typecore", find_links=[built_dists, newer])
    assert upgrade.returncode == 0, upgrade.stdout[-2000:] + upgrade.stderr[-2000:]
    assert envs.installed(tmp_path / "venv") == dict(sorted((every | {"plies-typecore": "0.1.1"}).items()))
    consistent = envs.pip_check(python)
    assert consistent.returncode == 0, consistent.stdout
    uses = envs.run_python(
        python, "-c", "from plies.typecore import added_in_0_1_1 as f; print(f())", cwd=tmp_path
    )
    assert uses.stdout == "new\n", uses.stderr
    for layer in TESTED:  # the layers right above it pass their own tests on the new typecore
        tests = envs.run_tests(python, PACKAGES / layer / "tests", cwd=ROOT)
        assert tests.returncode == 0, f"{layer} on plies-typecore 0.1.1:\n{tests.stdout[-3000:]}"
        assert re.search(r"\d+ passed", tests.stdout)

    # then a breaking 0.2.0: upgraded with the packages that declare it, the ranges keep 0.1.1 ...
    typecore_wheel("0.2.0", newer, tmp_path)
    kept = envs.pip_install(python, "-U", "plies-typecore", "plies", find_links=[built_dists, newer])
    assert kept.returncode == 0, kept.stdout[-2000:] + kept.stderr[-2000:]
    assert envs.installed(tmp_path / "venv")["plies-typecore"] == "0.1.1"
    # ... and a lone `pip install -U` (pip resolves only what it is asked for) is reported by
    # `pip check`, naming each installed package whose own range excludes it
    alone = envs.pip_install(python, "-U", "plies-typecore", find_links=[built_dists, newer])
    assert envs.installed(tmp_path / "venv")["plies-typecore"] == "0.2.0", alone.stdout + alone.stderr
    check = envs.pip_check(python)
    assert check.returncode == 1
    broken = set(
        re.findall(r"^(plies[-\w]*) 0.1.0 has requirement plies-typecore<0.2,>=0.1", check.stdout, re.M)
    )
    declaring = {dist for dist in every if "typecore" in declared_plies_deps(dist.removeprefix("plies-"))}
    assert broken == declaring and {"plies-pipes", "plies-optim", "plies"} <= broken, check.stdout
