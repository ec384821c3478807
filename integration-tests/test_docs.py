"""The code examples in docs/ and in every package README run as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from _repo import PACKAGES, ROOT

FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = sorted(ROOT.glob("docs/**/*.md")) + sorted(PACKAGES.glob("*/README.md")) + [ROOT / "README.md"]


def python_blocks(page: Path) -> list[str]:
    """The ```python blocks of a Markdown page, in order."""
    return FENCE.findall(page.read_text())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(page)
    if not blocks:
        return
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(blocks):
        code = compile(block, f"{page.relative_to(ROOT)}[block {i}]", "exec")
        exec(code, namespace)


def test_docs_pages_are_found() -> None:
    assert ROOT / "docs" / "index.md" in PAGES
    assert os.path.exists(ROOT / "README.md")
