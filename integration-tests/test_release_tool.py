"""tools/release.py without a build, on a copy of the files it reads and writes: what it bumps, what it
refuses (leaving every file as it was), the ranges it raises, and `--changed-since`."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _repo import PACKAGES, ROOT, commit, git

TODAY = datetime.date.today().isoformat()
NAMES = sorted(p.parent.name for p in PACKAGES.glob("*/pyproject.toml"))


def version_file(name: str) -> str:
    return f"packages/{name}/src/plies/" + ("version.py" if name == "plies" else f"{name}/__about__.py")


def dist(name: str) -> str:
    return "plies" if name == "plies" else f"plies-{name}"


def workspace(tmp: Path) -> Path:
    """A copy of every pyproject, version file and changelog, with the release tools."""
    for name in NAMES:
        for rel in (f"packages/{name}/pyproject.toml", f"packages/{name}/CHANGELOG.md", version_file(name)):
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / rel, tmp / rel)
    shutil.copytree(ROOT / "tools" / "plies_release", tmp / "tools" / "plies_release", ignore=_no_cache)
    shutil.copy(ROOT / "tools" / "release.py", tmp / "tools" / "release.py")
    return tmp


def _no_cache(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__"]


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted((root / "packages").rglob("*.*"))}


def release(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(root / "tools" / "release.py"), *args], capture_output=True, text=True, cwd=root
    )


def declaring(dependency: str) -> list[str]:
    """The packages whose pyproject names plies-<dependency> (read from the text, by hand)."""
    pattern = re.compile(rf'"plies-{dependency}>=')
    return [n for n in NAMES if pattern.search((PACKAGES / n / "pyproject.toml").read_text())]


def write_unreleased(root: Path, name: str, line: str) -> None:
    path = root / "packages" / name / "CHANGELOG.md"
    path.write_text(path.read_text().replace("## Unreleased\n", f"## Unreleased\n\n{line}\n", 1))


def test_a_patch_release_bumps_that_package_only(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    write_unreleased(root, "pipes", "- Fixed `Pipeline.decode` on empty tuples.")
    before = snapshot(root)
    run = release(root, "pipes", "0.1.1", "--no-build")
    assert run.returncode == 0, run.stderr
    after = snapshot(root)
    changed = {path for path in after if after[path] != before[path]}
    assert changed == {version_file("pipes"), "packages/pipes/CHANGELOG.md"}
    assert '__version__ = "0.1.1"' in after[version_file("pipes")]
    log = after["packages/pipes/CHANGELOG.md"]
    expected = (
        f"## Unreleased\n\n## 0.1.1 - {TODAY}\n\n- Fixed `Pipeline.decode` on empty tuples.\n\n## 0.1.0 - "
    )
    assert expected in log
    assert run.stdout.splitlines()[-1] == "tag: plies-pipes-v0.1.1"
    assert 'git commit -am "plies-pipes 0.1.1" && git tag plies-pipes-v0.1.1' in run.stdout


def test_a_version_a_dependent_excludes_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    write_unreleased(root, "pipes", "- Renamed `Transform.setups`.")
    before = snapshot(root)
    run = release(root, "pipes", "0.2.0", "--no-build")
    assert run.returncode == 1
    assert "plies-pipes 0.2.0 is outside the range these packages declare:" in run.stderr
    for name in declaring("pipes"):
        assert f"  {dist(name)}: plies-pipes>=0.1,<0.2\n" in run.stderr
    assert "Re-run with --bump-dependents to raise those ranges to plies-pipes>=0.2,<0.3" in run.stderr
    assert snapshot(root) == before


def test_bump_dependents_raises_their_ranges_and_names_them(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    write_unreleased(root, "pipes", "- Renamed `Transform.setups`.")
    before = snapshot(root)
    run = release(root, "pipes", "0.2.0", "--bump-dependents", "--no-build")
    assert run.returncode == 0, run.stderr
    after = snapshot(root)
    dependents = declaring("pipes")
    assert {"loaders", "learner", "plies"} <= set(dependents)
    for name in dependents:
        assert '"plies-pipes>=0.2,<0.3"' in after[f"packages/{name}/pyproject.toml"]
        assert "plies-pipes>=0.1" not in after[f"packages/{name}/pyproject.toml"]
        line = "## Unreleased\n\n- Requires plies-pipes>=0.2,<0.3 (was >=0.1,<0.2).\n\n## 0.1.0"
        assert line in after[f"packages/{name}/CHANGELOG.md"]
    touched = {path.split("/")[1] for path in after if after[path] != before[path]}
    assert touched == {"pipes"} | set(dependents)
    dists = [dist(n) for n in dependents]
    companions = re.search(
        r"release with it \(their ranges now require plies-pipes 0.2.0\): (.*)", run.stdout
    )
    assert companions and sorted(companions.group(1).split(", ")) == sorted(dists)
    assert "  python tools/release.py learner <version>" in run.stdout
    assert "  python tools/release.py plies <version>   (the meta-distribution, last)" in run.stdout
    assert run.stdout.splitlines()[-1] == "tag: plies-pipes-v0.2.0"


def test_the_range_of_an_extra_is_raised_too(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    write_unreleased(root, "samples", "- Moved the adult sample.")
    run = release(root, "samples", "0.2.0", "--bump-dependents", "--no-build")
    assert run.returncode == 0, run.stderr
    loaders = (root / "packages/loaders/pyproject.toml").read_text()
    assert 'samples = ["plies-samples>=0.2,<0.3"]' in loaders
    assert '"plies-samples>=0.2,<0.3"' in (root / "packages/plies/pyproject.toml").read_text()


def test_the_meta_distribution_has_its_own_version_and_tag(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    write_unreleased(root, "plies", "- Installs plies-pipes 0.1.1.")
    run = release(root, "plies", "0.1.1", "--no-build")
    assert run.returncode == 0, run.stderr
    assert '__version__ = "0.1.1"' in (root / version_file("plies")).read_text()
    assert run.stdout.splitlines()[-1] == "tag: plies-v0.1.1"


def test_releasing_the_version_in_the_tree_changes_nothing(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    before = snapshot(root)
    run = release(root, "plies-typecore", "0.1.0", "--no-build")
    assert run.returncode == 0, run.stderr
    assert snapshot(root) == before
    assert run.stdout.splitlines()[-1] == "tag: plies-typecore-v0.1.0"


@pytest.mark.parametrize(
    "args, unreleased, message",
    [
        (["pipes", "0.0.9"], True, "plies-pipes is at 0.1.0: 0.0.9 would go backwards"),
        (["pipes", "0.2"], True, "version: expected X.Y.Z \\(e.g. 0.2.0\\), found '0.2'"),
        (["pipes", "0.1.1rc1"], True, "found '0.1.1rc1'"),
        (["vision2", "0.2.0"], True, "no package 'vision2' in .*; the packages: typecore, "),
        (["pipes", "0.1.1"], False, "CHANGELOG.md: nothing under '## Unreleased': write what changed"),
        (
            ["pipes", "0.1.0"],
            True,
            "changes under '## Unreleased' are not part of 0.1.0: release a new version",
        ),
        (["pipes"], True, "expected PACKAGE VERSION, found 1 arguments: pipes"),
    ],
)
def test_refusals_name_the_reason_and_change_nothing(
    tmp_path: Path, args: list[str], unreleased: bool, message: str
) -> None:
    root = workspace(tmp_path)
    if unreleased:
        write_unreleased(root, "pipes", "- Something.")
    before = snapshot(root)
    run = release(root, *args, "--no-build")
    assert run.returncode != 0 and re.search(message, run.stderr), run.stderr
    assert snapshot(root) == before


def test_changed_since_lists_changed_packages_and_the_ranges_a_release_needs(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    commit(root, "0.1.0", "plies-v0.1.0")
    (root / "packages/pipes/src/plies/pipes/_new.py").write_text("X = 1\n")  # untracked, counts
    (root / "packages/typecore/tests").mkdir()
    (root / "packages/typecore/tests/test_typecore_more.py").write_text("")
    loaders = root / version_file("loaders")
    loaders.write_text(loaders.read_text().replace('"0.1.0"', '"0.2.0"'))  # bumped by hand, ranges not
    git(root, "commit", "-qam", "loaders 0.2.0")
    run = release(root, "--changed-since", "plies-v0.1.0")
    assert run.returncode == 0, run.stderr
    out = run.stdout.splitlines()
    assert out[0] == "changed since plies-v0.1.0: plies-typecore, plies-pipes, plies-loaders"
    assert "  plies-typecore 0.1.0 (0.1.0 at the tag): 1 files changed, tests only: nothing to release" in out
    pipes = out.index("  plies-pipes 0.1.0 (0.1.0 at the tag): 1 files changed: src/plies/pipes/_new.py")
    assert out[pipes + 1] == "    to release: the version is still 0.1.0"
    head, _, outside = out[pipes + 2].partition(": ")
    assert head == "    a release 0.2.0 would be outside the ranges of"
    assert sorted(outside.split(", ")) == sorted(
        f"{dist(n)} (plies-pipes>=0.1,<0.2)" for n in declaring("pipes")
    )
    loaders_at = out.index(
        "  plies-loaders 0.2.0 (0.1.0 at the tag): 1 files changed: src/plies/loaders/__about__.py"
    )
    head, _, excluding = out[loaders_at + 1].partition(": ")
    assert head == "    dependents whose ranges exclude 0.2.0"
    expected = sorted(f"{dist(n)} (plies-loaders>=0.1,<0.2)" for n in declaring("loaders"))
    assert sorted(excluding.split(", ")) == expected
    missing = release(root, "--changed-since", "plies-v9")
    assert missing.returncode == 1 and "--changed-since: no tag or commit named 'plies-v9'" in missing.stderr
