"""`--changed-since <tag>`: which packages changed since a git revision, and what releasing them needs."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from .workspace import (
    Package,
    PliesRequirement,
    ReleaseError,
    all_packages,
    dependents,
    dist_name,
    version_in,
)


@dataclass
class Change:
    """A package whose files differ from `since`: the files, its version then, what a release needs."""

    package: Package
    files: list[str]
    version_then: Version | None
    excluded_by: list[PliesRequirement]
    minor_excluded_by: list[PliesRequirement]

    @property
    def shipped(self) -> list[str]:
        """The changed files that go into the distributions (tests/ does not)."""
        return [f for f in self.files if not f.startswith("tests/")]

    def report(self) -> list[str]:
        version = self.package.version()
        then = f"{self.version_then} at the tag" if self.version_then else "new since the tag"
        head = f"{self.package.dist} {version} ({then}): {len(self.files)} files changed"
        if not self.shipped:
            return [f"{head}, tests only: nothing to release"]
        lines = [f"{head}: {', '.join(self.shipped[:6])}{', ...' if len(self.shipped) > 6 else ''}"]
        if self.version_then == version:
            lines.append(f"  to release: the version is still {version}")
        if self.excluded_by:
            lines.append(f"  dependents whose ranges exclude {version}: {_names(self.excluded_by)}")
        if self.minor_excluded_by:
            next_minor = Version(f"{version.major}.{version.minor + 1}.0")
            lines.append(
                f"  a release {next_minor} would be outside the ranges of: {_names(self.minor_excluded_by)}"
            )
        return lines


def _names(reqs: list[PliesRequirement]) -> str:
    return ", ".join(f"{dist_name(r.owner)} ({r.text})" for r in reqs)


def git(root: Path, *args: str) -> str:
    run = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if run.returncode:
        raise ReleaseError(f"git {' '.join(args)}: {run.stderr.strip()}")
    return run.stdout


def changed_since(root: Path, since: str) -> list[Change]:
    """The packages with files that differ between `since` (a tag or any revision) and the working tree
    (uncommitted and untracked files included), bottom-up."""
    verify = ["git", "rev-parse", "--verify", "-q", f"{since}^{{commit}}"]
    if subprocess.run(verify, cwd=root, capture_output=True).returncode:
        raise ReleaseError(f"--changed-since: no tag or commit named {since!r} in {root}")
    files = git(root, "diff", "--name-only", since, "--", "packages").split()
    files += git(root, "ls-files", "--others", "--exclude-standard", "--", "packages").split()
    by_package: dict[str, list[str]] = {}
    for path in files:
        parts = path.split("/", 2)
        if len(parts) == 3:
            by_package.setdefault(parts[1], []).append(parts[2])
    found = []
    for name, package in all_packages(root).items():
        if name not in by_package:
            continue
        relative = package.version_file.relative_to(root).as_posix()
        shown = subprocess.run(
            ["git", "show", f"{since}:{relative}"], cwd=root, capture_output=True, text=True
        )
        then = version_in(shown.stdout, f"{since}:{relative}") if shown.returncode == 0 else None
        version = package.version()
        declared = dependents(root, name)
        next_minor = Version(f"{version.major}.{version.minor + 1}.0")
        found.append(
            Change(
                package,
                sorted(set(by_package[name])),
                then,
                [r for r in declared if not r.specifier.contains(version)],
                [
                    r
                    for r in declared
                    if r.specifier.contains(version) and not r.specifier.contains(next_minor)
                ],
            )
        )
    return found
