"""Release one package: bump its version, move its changelog, build it, test it alone, name its tag."""

from __future__ import annotations

import datetime
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from . import changelog, envs, lowest
from .workspace import (
    META,
    Package,
    PliesRequirement,
    ReleaseError,
    dependents,
    dist_name,
    format_range,
    package,
    policy_range,
    short_name,
)

RELEASE_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass
class Plan:
    """What a release changes, decided (and refused) before any file is touched."""

    package: Package
    current: Version
    version: Version
    excluded: list[PliesRequirement]
    bump_dependents: bool
    date: str = field(default_factory=lambda: datetime.date.today().isoformat())

    @property
    def tag(self) -> str:
        return self.package.tag(self.version)

    @property
    def companions(self) -> list[str]:
        """The packages whose declared range this release raises: they are released with it."""
        return list(dict.fromkeys(dist_name(r.owner) for r in self.excluded))


def plan(root: Path, name: str, version: str, bump_dependents: bool = False) -> Plan:
    """Check that `name` may be released as `version`; a ReleaseError says why not."""
    pkg = package(root, name)
    if not RELEASE_VERSION.match(version):
        raise ReleaseError(f"version: expected X.Y.Z (e.g. 0.2.0), found {version!r}")
    new, current = Version(version), pkg.version()
    if new < current:
        raise ReleaseError(f"{pkg.dist} is at {current}: {new} would go backwards")
    log = pkg.dir / "CHANGELOG.md"
    if not log.exists():
        raise ReleaseError(f"{pkg.dist}: no CHANGELOG.md in {pkg.dir}")
    text = log.read_text()
    if new == current:
        # the release of the version already in the tree (the first release, or a retry): nothing to bump
        if new not in changelog.released_versions(text, log):
            raise ReleaseError(
                f"{log}: {pkg.dist} is already at {new}, but the changelog has no section for it"
            )
        if changelog.sections(text, log)[0][1]:
            raise ReleaseError(
                f"{log}: changes under '{changelog.UNRELEASED}' are not part of {new}: release a new version"
            )
    else:
        changelog.move_unreleased(text, new, "", log)  # refuses an empty Unreleased section now
    excluded = [r for r in dependents(root, pkg.name) if not r.specifier.contains(new)]
    if excluded and not bump_dependents:
        lines = "\n".join(f"  {dist_name(r.owner)}: {r.text}" for r in excluded)
        wanted = f"{pkg.dist}{format_range(policy_range(new))}"
        raise ReleaseError(
            f"{pkg.dist} {new} is outside the range these packages declare:\n{lines}\n"
            f"Re-run with --bump-dependents to raise those ranges to {wanted} "
            "(then release each of them too), or choose a version inside the ranges."
        )
    return Plan(pkg, current, new, excluded, bump_dependents)


class Edits:
    """The files a release rewrites, with their text before, so that a failed release can put them back."""

    def __init__(self) -> None:
        self.before: dict[Path, str] = {}

    def keep(self, path: Path) -> Path:
        """Remember the text of `path` before its first change; returns `path`."""
        self.before.setdefault(path, path.read_text())
        return path

    def restore(self) -> None:
        for path, text in self.before.items():
            path.write_text(text)


def apply(root: Path, p: Plan, edits: Edits) -> list[str]:
    """Write the new version, the changelog, and (with --bump-dependents) the raised ranges."""
    said = []
    pkg = p.package
    if p.version != p.current:
        edits.keep(pkg.version_file)
        pkg.set_version(p.version)
        log = edits.keep(pkg.dir / "CHANGELOG.md")
        log.write_text(changelog.move_unreleased(log.read_text(), p.version, p.date, log))
        said.append(f"{pkg.version_file.relative_to(root)}: {p.current} -> {p.version}")
        said.append(f"{log.relative_to(root)}: '{changelog.UNRELEASED}' moved under '{p.version} - {p.date}'")
    new_range = policy_range(p.version)
    for req in p.excluded:
        owner = Package(root, req.owner)
        edits.keep(owner.dir / "pyproject.toml")
        owner.set_range(pkg.name, new_range)
        line = f"- Requires {pkg.dist}{format_range(new_range)} (was {format_range(req.specifier)})."
        owner_log = edits.keep(owner.dir / "CHANGELOG.md")
        owner_log.write_text(changelog.add_unreleased(owner_log.read_text(), line, owner_log))
        said.append(
            f"{owner.dist}: requires {pkg.dist}{format_range(new_range)} (was {req.text}), in its changelog"
        )
    return said


def release(
    root: Path,
    name: str,
    version: str,
    *,
    bump_dependents: bool = False,
    build: bool = True,
    test: bool = True,
    outdir: Path | None = None,
    say: Callable[[str], None] = print,
) -> Plan:
    """The whole release of one package (see the root README, "Releasing"); prints what it does."""
    p = plan(root, name, version, bump_dependents)
    edits = Edits()
    try:
        for line in apply(root, p, edits):
            say(line)
        if build:
            built = envs.build(p.package.dir, outdir or root / "dist")
            say("built: " + ", ".join(str(b) for b in built))
            if test:
                wheel = next(b for b in built if b.name.endswith(".whl"))
                with tempfile.TemporaryDirectory(prefix="plies-release-") as work:
                    result = lowest.check(root, p.package, Path(work), Path(work) / "house", wheel=wheel)
                say(result.summary())
                if not result.passed:
                    raise ReleaseError(f"the tests of {p.package.dist} failed:\n{result.log}")
    except BaseException:
        edits.restore()
        if edits.before:
            say("release: put back " + ", ".join(str(f.relative_to(root)) for f in edits.before))
        raise
    for line in next_steps(p):
        say(line)
    return p


def next_steps(p: Plan) -> list[str]:
    lines = [f'next: git commit -am "{p.package.dist} {p.version}" && git tag {p.tag}']
    if p.companions:
        names = ", ".join(p.companions)
        lines.append(f"release with it (their ranges now require {p.package.dist} {p.version}): {names}")
        lines += [f"  python tools/release.py {short_name(c)} <version>" for c in p.companions if c != META]
        if META in p.companions:
            lines.append(f"  python tools/release.py {META} <version>   (the meta-distribution, last)")
    lines.append(f"tag: {p.tag}")
    return lines
