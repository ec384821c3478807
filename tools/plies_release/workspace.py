"""The packages of the monorepo as the release tools see them: names, versions, declared plies ranges.

Every package lives in packages/<name> with its own pyproject.toml. Its version is the
`__version__ = "X.Y.Z"` line of src/plies/<name>/__about__.py (the meta-distribution `plies`, which
has no package folder of its own, keeps it in src/plies/version.py). Its plies dependencies are the
`plies-<name><range>` strings of `[project] dependencies` and of its extras.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

META = "plies"
VERSION_LINE = re.compile(r'^__version__ = "([^"]+)"$', re.M)


class ReleaseError(ValueError):
    """A release step that cannot go on: the message says what was expected and what was found."""


@dataclass(frozen=True)
class PliesRequirement:
    """One `plies-<name><range>` string of a package's pyproject (`extra` is None for a dependency)."""

    owner: str
    name: str
    specifier: SpecifierSet
    extra: str | None

    @property
    def text(self) -> str:
        """The requirement as a package declares it, e.g. `plies-typecore>=0.1,<0.2`."""
        return f"{dist_name(self.name)}{format_range(self.specifier)}"


@dataclass(frozen=True)
class Package:
    """One distribution of the monorepo: `pipes` is plies-pipes, `plies` is the meta-distribution."""

    root: Path
    name: str

    @property
    def dist(self) -> str:
        return dist_name(self.name)

    @property
    def dir(self) -> Path:
        return self.root / "packages" / self.name

    @property
    def version_file(self) -> Path:
        if self.name == META:
            return self.dir / "src" / "plies" / "version.py"
        return self.dir / "src" / "plies" / self.name / "__about__.py"

    @property
    def tag_prefix(self) -> str:
        return f"{self.dist}-v"

    def tag(self, version: Version | str) -> str:
        """The git tag of a release of this package: `plies-pipes-v0.2.0`, `plies-v0.2.0`."""
        return f"{self.tag_prefix}{version}"

    @property
    def pyproject(self) -> dict:
        return tomllib.loads((self.dir / "pyproject.toml").read_text())

    def version(self) -> Version:
        """The version in the package's version file."""
        return version_in(self.version_file.read_text(), self.version_file)

    def set_version(self, version: Version) -> None:
        """Rewrite the `__version__` line of the version file (the only line that changes)."""
        text = self.version_file.read_text()
        self.version_file.write_text(VERSION_LINE.sub(f'__version__ = "{version}"', text, count=1))

    def requirements(self, extras: tuple[str, ...] = ()) -> list[Requirement]:
        """What the package declares: its dependencies, and those of the named extras."""
        project = self.pyproject["project"]
        texts = list(project.get("dependencies", []))
        for extra in extras:
            if extra not in project.get("optional-dependencies", {}):
                raise ReleaseError(f"{self.dist}: its pyproject.toml has no extra {extra!r}")
            texts += project["optional-dependencies"][extra]
        return [Requirement(text) for text in texts]

    def plies_requirements(self) -> list[PliesRequirement]:
        """The plies packages this one declares, with their ranges (dependencies first, then extras)."""
        found = []
        project = self.pyproject["project"]
        groups = [(None, project.get("dependencies", []))] + list(
            project.get("optional-dependencies", {}).items()
        )
        for extra, texts in groups:
            for text in texts:
                req = Requirement(text)
                if req.name == META or req.name.startswith("plies-"):
                    found.append(PliesRequirement(self.name, short_name(req.name), req.specifier, extra))
        return found

    def set_range(self, dependency: str, specifier: SpecifierSet) -> None:
        """Rewrite the range of `plies-<dependency>` wherever the pyproject declares it."""
        path = self.dir / "pyproject.toml"
        pattern = re.compile(rf'"{re.escape(dist_name(dependency))}(?=[<>=!~ ;"])[^"]*"')
        text, count = pattern.subn(f'"{dist_name(dependency)}{format_range(specifier)}"', path.read_text())
        if not count:
            raise ReleaseError(f"{self.dist}: its pyproject.toml declares no {dist_name(dependency)}")
        path.write_text(text)


def dist_name(name: str) -> str:
    """`pipes` -> `plies-pipes`; the meta-distribution keeps its name `plies`."""
    return META if name == META else f"plies-{name}"


def short_name(dist: str) -> str:
    """`plies-pipes` (or `plies_pipes`, `pipes`) -> `pipes`; `plies` -> `plies`."""
    dist = dist.lower().replace("_", "-")
    return dist.removeprefix("plies-") if dist != META else META


def version_in(text: str, where: Path | str) -> Version:
    """The version of a `__version__ = "X.Y.Z"` line in `text` (read from `where`)."""
    found = VERSION_LINE.search(text)
    if not found:
        raise ReleaseError(f'{where}: expected a line `__version__ = "X.Y.Z"`, found none')
    return Version(found.group(1))


def format_range(specifier: SpecifierSet) -> str:
    """`>=0.1,<0.2`: lower bounds first (SpecifierSet's own order is alphabetical)."""
    order = {">=": 0, ">": 1, "==": 2, "~=": 3, "!=": 4, "<=": 5, "<": 6}
    specs = sorted(specifier, key=lambda s: (order.get(s.operator, 9), s.version))
    return ",".join(str(s) for s in specs)


def policy_range(version: Version) -> SpecifierSet:
    """The range a dependent declares on a package it tested at `version`: up to the next breaking
    release. In 0.x a minor bump may break (`>=0.2,<0.3`); from 1.0 on, a major one (`>=1.2,<2`)."""
    if version.major == 0:
        return SpecifierSet(f">=0.{version.minor},<0.{version.minor + 1}")
    return SpecifierSet(f">={version.major}.{version.minor},<{version.major + 1}")


def all_packages(root: Path) -> dict[str, Package]:
    """Every package of the monorepo by short name, each after the packages it declares (bottom-up)."""
    paths = sorted((root / "packages").glob("*/pyproject.toml"))
    found = {path.parent.name: Package(root, path.parent.name) for path in paths}
    ordered: dict[str, Package] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in path:
            raise ReleaseError(f"a dependency cycle between plies packages: {' -> '.join(path + (name,))}")
        for req in found[name].plies_requirements():
            if req.name not in found:
                raise ReleaseError(f"{found[name].dist} declares {req.text}, which is not in packages/")
            visit(req.name, path + (name,))
        ordered[name] = found[name]

    for name in found:
        visit(name, ())
    return ordered


def package(root: Path, name: str) -> Package:
    """The package `name` (`pipes`, `plies-pipes` or `plies`), or a ReleaseError listing the known ones."""
    packages = all_packages(root)
    short = short_name(name)
    if short not in packages:
        raise ReleaseError(f"no package {name!r} in {root / 'packages'}; the packages: {', '.join(packages)}")
    return packages[short]


def dependents(root: Path, name: str) -> list[PliesRequirement]:
    """Every declaration of `plies-<name>` by another package (as a dependency or in an extra)."""
    return [req for p in all_packages(root).values() for req in p.plies_requirements() if req.name == name]
