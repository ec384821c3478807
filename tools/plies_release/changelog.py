"""A package's CHANGELOG.md: an "## Unreleased" section on top, then one "## X.Y.Z - YYYY-MM-DD" per release.

A release moves what is under "Unreleased" into a new section for its version and leaves "Unreleased"
empty; the text of the sections is free Markdown (a list of changes, by kind if useful).
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.version import Version

from .workspace import ReleaseError

UNRELEASED = "## Unreleased"
HEADING = re.compile(r"^## (.+)$", re.M)
RELEASE_HEADING = re.compile(r"^(\d+\.\d+\.\d+) - (\d{4}-\d{2}-\d{2})$")


def sections(text: str, where: Path | str) -> list[tuple[str, str]]:
    """The (heading, body) pairs of a changelog, in order; the heading without its `## `."""
    found = list(HEADING.finditer(text))
    if not found or found[0].group(0) != UNRELEASED:
        raise ReleaseError(f"{where}: expected '{UNRELEASED}' as the first section, found {_first(found)}")
    for heading in found[1:]:
        if not RELEASE_HEADING.match(heading.group(1)):
            raise ReleaseError(
                f"{where}: expected release headings like '## 0.2.0 - 2026-12-01', found '{heading.group(0)}'"
            )
    ends = [m.start() for m in found[1:]] + [len(text)]
    return [(m.group(1), text[m.end() : end].strip()) for m, end in zip(found, ends, strict=True)]


def _first(found: list[re.Match]) -> str:
    return f"'{found[0].group(0)}'" if found else "no '## ' heading"


def released_versions(text: str, where: Path | str) -> list[Version]:
    """The versions that have a section, newest first."""
    return [Version(heading.split(" - ")[0]) for heading, _ in sections(text, where)[1:]]


def _split_unreleased(text: str, where: Path | str) -> tuple[str, str, str]:
    """(what comes before the Unreleased heading, the Unreleased body stripped, the sections after it)."""
    sections(text, where)  # checks the layout
    start = text.index(UNRELEASED)
    after = HEADING.search(text, start + len(UNRELEASED))
    end = after.start() if after else len(text)
    return text[:start], text[start + len(UNRELEASED) : end].strip(), text[end:]


def move_unreleased(text: str, version: Version, date: str, where: Path | str) -> str:
    """`text` with its "Unreleased" changes moved under `## <version> - <date>`, "Unreleased" left empty."""
    head, body, rest = _split_unreleased(text, where)
    if not body:
        raise ReleaseError(
            f"{where}: nothing under '{UNRELEASED}': write what changed in this release there first"
        )
    if version in released_versions(text, where):
        raise ReleaseError(f"{where}: there is already a section for {version}")
    moved = f"{head}{UNRELEASED}\n\n## {version} - {date}\n\n{body}\n"
    return moved + (f"\n{rest}" if rest else "")


def add_unreleased(text: str, line: str, where: Path | str) -> str:
    """`text` with `line` (a Markdown list item) appended to the "Unreleased" section."""
    head, body, rest = _split_unreleased(text, where)
    new_body = f"{body}\n{line}" if body else line
    return f"{head}{UNRELEASED}\n\n{new_body}\n" + (f"\n{rest}" if rest else "")
