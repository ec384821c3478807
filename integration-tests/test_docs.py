"""The code examples in docs/ and in every package README run as written, and print what they say.

Every page has at least one ```python block, unless it is in `NO_EXAMPLE` with the reason. A line of
code that ends with ``# prints: <text>`` states what its top-level statement writes to stdout: the
output, stripped, must equal the text, where ``...`` stands for any text (see docs/index.md).
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import sys
import tokenize
from pathlib import Path

import pytest
from _repo import PACKAGES, ROOT

FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PRINTS = re.compile(r"#\s*prints:\s?(.*)$")
PAGES = sorted(ROOT.glob("docs/**/*.md")) + sorted(PACKAGES.glob("*/README.md")) + [ROOT / "README.md"]

# Pages allowed to have no python example, and why. Remove an entry when its page gains an example.
NO_EXAMPLE = {
    "README.md": "its examples are shell commands (tools/demo.py, run by integration-tests/test_demo.py)",
}


def rel(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """The ```python blocks of a Markdown page, in order, with the page line number of their first line."""
    text = page.read_text()
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


def prints_comments(code: str) -> dict[int, str]:
    """line number (in `code`) -> expected text, for each ``# prints:`` comment of `code`."""
    found = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT and (m := PRINTS.match(tok.string)):
            found[tok.start[0]] = m.group(1).strip()
    return found


def output_matches(expected: str, output: str) -> bool:
    """`output` equals `expected` (both stripped), ``...`` in `expected` matching any text."""
    pattern = ".*?".join(re.escape(part) for part in expected.strip().split("..."))
    return re.fullmatch(pattern, output.strip(), re.S) is not None


def run_block(code: str, first_line: int, filename: str, namespace: dict) -> None:
    """Run `code` one top-level statement at a time; check the output of those with ``# prints:``."""
    tree = ast.parse(code, filename=filename)
    ast.increment_lineno(tree, first_line - 1)  # errors and tracebacks name the line of the page
    expected = {line + first_line - 1: text for line, text in prints_comments(code).items()}
    for stmt in tree.body:
        lines = range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
        wanted = [expected.pop(line) for line in lines if line in expected]
        compiled = compile(ast.Module([stmt], type_ignores=[]), filename, "exec")
        if not wanted:
            exec(compiled, namespace)
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compiled, namespace)
        sys.stdout.write(out.getvalue())
        want = "\n".join(wanted)
        assert output_matches(want, out.getvalue()), (
            f"{filename}, line {stmt.lineno}: expected the output {want!r} (# prints:), "
            f"the statement printed {out.getvalue().strip()!r}"
        )
    assert not expected, (
        f"{filename}: '# prints:' comments on lines {sorted(expected)} end no line of code; put the comment "
        "at the end of the statement whose output it states"
    )


def run_page(page: Path) -> None:
    namespace: dict = {"__name__": "__docs__"}
    for first_line, code in python_blocks(page):
        run_block(code, first_line, rel(page), namespace)


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(page)
    if not blocks:
        assert rel(page) in NO_EXAMPLE, (
            f"{rel(page)} has no ```python example: add one (it runs in this test) or list the page in "
            "NO_EXAMPLE in integration-tests/test_docs.py with the reason"
        )
        return
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    run_page(page)


def test_pages_without_examples_are_listed_with_a_reason_and_really_have_none() -> None:
    pages = {rel(p): p for p in PAGES}
    for name, reason in NO_EXAMPLE.items():
        assert name in pages, f"NO_EXAMPLE lists {name}, which is not a documentation page"
        assert reason.strip(), f"NO_EXAMPLE: {name} needs a reason"
        assert not python_blocks(pages[name]), f"{name} has python examples now: remove it from NO_EXAMPLE"


def test_docs_pages_are_found() -> None:
    assert ROOT / "docs" / "index.md" in PAGES
    assert os.path.exists(ROOT / "README.md")


# ---- the checker itself: a page that states the wrong output, or has no example, fails -------------


def write_page(tmp_path: Path, body: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(body)
    return page


def run_tmp_page(page: Path) -> None:
    namespace: dict = {"__name__": "__docs__"}
    for first_line, code in python_blocks(page):
        run_block(code, first_line, page.name, namespace)


def test_prints_comments_are_compared_with_the_output(tmp_path: Path) -> None:
    good = (
        "Intro.\n\n```python\nx = 2\nprint(x * 21)  # prints: 42\nprint([x] * 3)  # prints: [2, ...]\n```\n"
    )
    run_tmp_page(write_page(tmp_path, good))
    bad = "Intro.\n\n```python\nx = 2\nprint(x * 20)  # prints: 42\n```\n"
    with pytest.raises(AssertionError, match=r"page.md, line 5: expected the output '42' .* printed '40'"):
        run_tmp_page(write_page(tmp_path, bad))


def test_prints_in_a_compound_statement_and_misplaced_comments(tmp_path: Path) -> None:
    nested = "```python\ntry:\n    {}['k']\nexcept KeyError as e:\n    print(e)  # prints: 'k'\n```\n"
    run_tmp_page(write_page(tmp_path, nested))
    loop = "```python\nfor i in range(2):\n    print(i)  # prints: 0\n```\n"
    with pytest.raises(AssertionError, match=r"expected the output '0'.*printed '0\\n1'"):
        run_tmp_page(write_page(tmp_path, loop))
    stray = "```python\nprint(1)\n# prints: 1\n```\n"
    with pytest.raises(AssertionError, match=r"on lines \[3\] end no line of code"):
        run_tmp_page(write_page(tmp_path, stray))
    in_string = '```python\nprint("# prints: 2")\n```\n'  # not a comment: nothing to compare
    run_tmp_page(write_page(tmp_path, in_string))


def test_output_matches_with_ellipsis() -> None:
    assert output_matches("SuggestedLRs(valley=...)", "SuggestedLRs(valley=0.00363)\n")
    assert output_matches("a ... c", "a b\nb c")
    assert not output_matches("SuggestedLRs(valley=...)", "SuggestedLRs(steep=0.1)")
    assert not output_matches("42", "420")


def test_errors_name_the_page_line(tmp_path: Path) -> None:
    page = write_page(tmp_path, "Title\n\n```python\nx = 1\nraise ValueError('boom')\n```\n")
    with pytest.raises(ValueError, match="boom") as info:
        run_tmp_page(page)
    assert info.traceback[-1].lineno + 1 == 5  # line 5 of the page (pytest's line numbers start at 0)
