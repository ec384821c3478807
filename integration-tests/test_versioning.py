"""The versioning policy of the root README ("Releasing"): every plies range has the policy's form and
admits the tree, every package has a changelog that ends at its version, the documented commands parse."""

from __future__ import annotations

import re
import shlex
from datetime import date

import pytest
from _repo import PACKAGES, ROOT
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from plies_release import changelog
from plies_release.workspace import Package, ReleaseError, format_range, policy_range

ALL = sorted(p.parent.name for p in PACKAGES.glob("*/pyproject.toml"))
PLIES_DEP = re.compile(r'"(plies-[a-z]+)([^"]*)"')


def next_breaking(version: Version) -> Version:
    """The first version after `version` that may break it: 0.(y+1) in 0.x, (x+1) from 1.0 on."""
    return Version(f"0.{version.minor + 1}") if version.major == 0 else Version(f"{version.major + 1}")


@pytest.mark.parametrize("name", ALL)
def test_plies_ranges_reach_up_to_a_breaking_release_and_admit_the_tree(name: str) -> None:
    # read from the pyproject text, not through the release tools
    text = (PACKAGES / name / "pyproject.toml").read_text()
    declared = [(dep, spec) for dep, spec in PLIES_DEP.findall(text) if spec]  # `name = "plies-x"` has none
    for dep, spec in declared:
        ops = dict(re.findall(r"(>=|<)\s*([0-9.]+)", spec))
        assert set(ops) == {">=", "<"} and spec.count(",") == 1, (
            f"{name}: {dep}{spec}: expected >=x.y,<x.(y+1)"
        )
        lower, upper = Version(ops[">="]), Version(ops["<"])
        # the cap sits on a breaking release (0.N or N), at least the next one after the lower bound
        assert len(upper.release) == (2 if upper.major == 0 else 1), (
            f"{name}: {dep}{spec}: cap not at a break"
        )
        assert upper >= next_breaking(lower), (
            f"{name}: {dep}{spec}: the cap is below the next breaking release"
        )
        tree = Package(ROOT, dep.removeprefix("plies-")).version()
        assert tree in SpecifierSet(spec), f"{name}: {dep}{spec} excludes the tree's {dep} {tree}"
    if name not in ("typecore", "samples"):
        assert declared, f"{name} declares no plies package"


def test_the_policy_range_is_up_to_the_next_breaking_release() -> None:
    assert format_range(policy_range(Version("0.3.2"))) == ">=0.3,<0.4"
    assert format_range(policy_range(Version("0.1.0"))) == ">=0.1,<0.2"
    assert format_range(policy_range(Version("1.2.5"))) == ">=1.2,<2"
    assert format_range(SpecifierSet("<0.2,>=0.1")) == ">=0.1,<0.2"


@pytest.mark.parametrize("name", ALL)
def test_each_package_has_a_changelog_up_to_its_version(name: str) -> None:
    path = PACKAGES / name / "CHANGELOG.md"
    text = path.read_text()
    found = changelog.sections(text, path)
    assert found[0][0] == "Unreleased"
    versions = [Version(heading.split(" - ")[0]) for heading, _ in found[1:]]
    assert Version("0.1.0") in versions and versions == sorted(versions, reverse=True)
    assert versions[0] == Package(ROOT, name).version(), "the newest section is the version in the tree"
    for heading, body in found[1:]:
        date.fromisoformat(heading.split(" - ")[1])
        assert body, f"{path}: the section {heading} is empty"


MOVED = """# Changelog of plies-x

Intro.

## Unreleased

- Added `shout`.
- Fixed `whisper`.

## 0.1.0 - 2026-12-07

First release.
"""


def test_a_release_moves_the_unreleased_changes_under_its_version() -> None:
    moved = changelog.move_unreleased(MOVED, Version("0.1.1"), "2026-12-24", "x.md")
    assert moved == MOVED.replace("## Unreleased\n\n", "## Unreleased\n\n## 0.1.1 - 2026-12-24\n\n", 1), moved
    assert changelog.released_versions(moved, "x.md") == [Version("0.1.1"), Version("0.1.0")]
    with pytest.raises(ReleaseError, match=r"x.md: nothing under '## Unreleased': write what changed"):
        changelog.move_unreleased(moved, Version("0.1.2"), "2026-12-25", "x.md")
    with pytest.raises(ReleaseError, match="already a section for 0.1.0"):
        changelog.move_unreleased(MOVED, Version("0.1.0"), "2026-12-25", "x.md")
    added = changelog.add_unreleased(moved, "- Requires plies-y>=0.2,<0.3.", "x.md")
    assert "## Unreleased\n\n- Requires plies-y>=0.2,<0.3.\n\n## 0.1.1 - 2026-12-24\n\n- Added" in added
    again = changelog.add_unreleased(added, "- Second.", "x.md")
    assert "## Unreleased\n\n- Requires plies-y>=0.2,<0.3.\n- Second.\n\n## 0.1.1" in again


def test_a_changelog_out_of_shape_is_refused_with_the_heading() -> None:
    with pytest.raises(
        ReleaseError, match=r"x.md: expected '## Unreleased' as the first section, found '## 0.1.0"
    ):
        changelog.sections("# C\n\n## 0.1.0 - 2026-12-07\n\nx\n", "x.md")
    with pytest.raises(ReleaseError, match=r"expected release headings like .* found '## Version 2'"):
        changelog.sections("## Unreleased\n\n## Version 2\n", "x.md")
    with pytest.raises(ReleaseError, match="found no '## ' heading"):
        changelog.sections("# C\n", "x.md")


def readme_release_commands() -> list[list[str]]:
    """The `tools/release.py` command lines of the root README's "Releasing" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Releasing\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```bash\n(.*?)^```", section, re.S | re.M)
    lines = [line.split("#")[0] for block in blocks for line in block.splitlines()]
    return [shlex.split(line.split("tools/release.py", 1)[1]) for line in lines if "tools/release.py" in line]


def test_the_readme_release_commands_parse_and_name_real_packages() -> None:
    import release  # tools/release.py

    commands = readme_release_commands()
    modes = {"--changed-since", "--check-lowest", "--bump-dependents"}
    assert modes <= {arg for args in commands for arg in args}, commands
    for args in commands:
        opts = release.parser().parse_args(args)
        if not (opts.changed_since or opts.check_lowest):
            name, version = opts.args
            assert (PACKAGES / name / "pyproject.toml").exists() and re.fullmatch(r"\d+\.\d+\.\d+", version)
