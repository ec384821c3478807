"""The lowest-versions check: a package's tests pass against the LOWEST versions of its plies
dependencies that it declares.

Each version of a plies package is either a release (a git tag `plies-<name>-v<version>`, built from
the tagged tree) or the current tree (while its version has no tag yet). A direct dependency takes the
lowest version its declared range admits; the dependencies of dependencies may take any version (pip
picks). The package itself is always the current tree (or the wheel being released). A package that
starts using a name a lower layer added after its declared lower bound fails here: at that bound the
name does not exist yet.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from packaging.version import InvalidVersion, Version

from . import envs
from .workspace import META, Package, ReleaseError, all_packages


@dataclass(frozen=True)
class Source:
    """One version of a package: a release tag, or the current tree (`tag` None)."""

    package: Package
    version: Version
    tag: str | None

    def __str__(self) -> str:
        return f"{self.package.dist} {self.version} ({f'tag {self.tag}' if self.tag else 'current tree'})"


@dataclass
class CheckResult:
    """What a lowest-versions check installed and how the tests went."""

    package: Package
    direct: list[Source]
    installed: dict[str, str] = field(default_factory=dict)
    passed: bool = False
    log: str = ""

    def summary(self) -> str:
        plies = ", ".join(f"{n} {v}" for n, v in self.installed.items() if n.startswith("plies"))
        lowest = "; ".join(str(s) for s in self.direct) or "no plies dependencies"
        verdict = "passed" if self.passed else "FAILED"
        return f"check-lowest: {self.package.dist} {verdict}: lowest {lowest}; installed {plies}"


def release_tags(root: Path, package: Package) -> dict[Version, str]:
    """The release tags of `package` in the git repository at `root`, by version."""
    run = subprocess.run(
        ["git", "tag", "--list", f"{package.tag_prefix}*"], cwd=root, capture_output=True, text=True
    )
    if run.returncode:
        raise ReleaseError(f"git tag --list in {root} failed: {run.stderr.strip()}")
    found = {}
    for tag in run.stdout.split():
        try:
            found[Version(tag.removeprefix(package.tag_prefix))] = tag
        except InvalidVersion:
            continue  # e.g. plies-pipes-vnext: not a release tag
    return found


def sources(root: Path, package: Package) -> list[Source]:
    """Every version of `package` there is: its releases, and the tree when its version has no tag."""
    tags = release_tags(root, package)
    found = [Source(package, version, tag) for version, tag in tags.items()]
    if package.version() not in tags:
        found.append(Source(package, package.version(), None))
    return sorted(found, key=lambda s: s.version)


def lowest_sources(root: Path, package: Package) -> list[Source]:
    """For each plies dependency `package` declares, the lowest version its range admits."""
    packages = all_packages(root)
    chosen = []
    for req in package.plies_requirements():
        if req.extra is not None:
            continue
        admitted = [s for s in sources(root, packages[req.name]) if req.specifier.contains(s.version)]
        if not admitted:
            known = ", ".join(str(s) for s in sources(root, packages[req.name]))
            raise ReleaseError(
                f"{package.dist} declares {req.text}: no version in that range exists ({known})"
            )
        chosen.append(admitted[0])
    return chosen


def wheel_of(source: Source, house: Path) -> Path:
    """The wheel of `source`, built into `house` once (a tag from `git archive`, the tree in place)."""
    folder = house / (source.tag or "tree")
    wheel = folder / envs.wheel_name(source.package.dist, source.version)
    if wheel.exists():
        return wheel
    if source.tag is None:
        envs.build(source.package.dir, folder, sdist=False)
    else:
        relative = source.package.dir.relative_to(source.package.root).as_posix()
        archive = subprocess.run(
            ["git", "archive", "--format=tar", source.tag, relative],
            cwd=source.package.root,
            capture_output=True,
        )
        if archive.returncode:
            raise ReleaseError(f"git archive {source.tag} failed: {archive.stderr.decode().strip()}")
        with tempfile.TemporaryDirectory() as tmp:
            with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
                tar.extractall(tmp, filter="data")
            envs.build(Path(tmp) / relative, folder, sdist=False)
    if not wheel.exists():
        raise ReleaseError(f"building {source} gave no {wheel.name} (its version file says otherwise?)")
    return wheel


def check(
    root: Path, package: Package, work: Path, house: Path, wheel: Path | None = None, marks: str | None = None
) -> CheckResult:
    """Install `package` (the tree, or `wheel`) with the lowest versions of its direct plies dependencies
    in a fresh venv under `work`, and run its tests (`packages/<name>/tests`, those that the pytest
    expression `marks` selects, e.g. "not slow"; all by default) there."""
    has_tests = package.name == META or (package.dir / "tests").is_dir()
    if not has_tests:
        raise ReleaseError(f"{package.dist}: no tests in {package.dir / 'tests'} to run")
    extras = ("test",) if "test" in package.pyproject["project"].get("optional-dependencies", {}) else ()
    wanted = package.dist + ("[test]" if extras else "")
    direct = lowest_sources(root, package)
    result = CheckResult(package, direct)
    links = work / "links"
    shutil.rmtree(links, ignore_errors=True)
    links.mkdir(parents=True)
    own = wheel or wheel_of(Source(package, package.version(), None), house)
    shutil.copy(own, links)
    packages = all_packages(root)
    fixed = {s.package.name for s in direct}
    for source in direct:
        shutil.copy(wheel_of(source, house), links)
    for name in _below(packages, package.name) - fixed:
        for source in sources(root, packages[name]):
            shutil.copy(wheel_of(source, house), links)
    below = [packages[n] for n in _below(packages, package.name) | {package.name}]
    requirements = [r for p in below for r in p.requirements()] + package.requirements(extras)
    python = envs.venv_with(work, requirements, package.dist)
    pip = envs.pip_install(python, wanted, find_links=[links])
    result.installed = envs.installed(work / "venv")
    if pip.returncode:
        result.log = f"pip install {wanted} failed:\n{pip.stdout[-3000:]}{pip.stderr[-3000:]}"
        return result
    if package.name == META:  # no tests of its own: every package it names imports, `-m plies` runs
        names = sorted(_below(packages, META))
        code = (
            "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module('plies.' + name)"
        )
        run = envs.run_python(python, "-c", code, *names, cwd=work)
        if run.returncode == 0:
            run = envs.run_python(python, "-m", "plies", "--version", cwd=work)
    else:
        run = envs.run_tests(python, package.dir / "tests", cwd=root, marks=marks)
    result.passed = run.returncode == 0
    result.log = run.stdout[-6000:] + run.stderr[-3000:]
    return result


def _below(packages: dict[str, Package], name: str) -> set[str]:
    """Every plies package `name` needs, directly or not (its extras left out)."""
    seen: set[str] = set()
    todo = [r.name for r in packages[name].plies_requirements() if r.extra is None]
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo += [r.name for r in packages[dep].plies_requirements() if r.extra is None]
    return seen
