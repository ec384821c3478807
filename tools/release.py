"""Release one plies package, list what changed since a release, or run the lowest-versions check.

    python tools/release.py pipes 0.2.0 [--bump-dependents] [--no-build] [--no-test] [--outdir DIR]
    python tools/release.py --changed-since plies-pipes-v0.1.0
    python tools/release.py --check-lowest [PACKAGE ...]

Run it with the dev environment's python (.venv/bin/python): it builds with `build` and hatchling
and takes the third-party packages of its fresh venvs from there. The policy it applies is in the
root README, "Releasing".
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plies_release import changes, lowest  # noqa: E402
from plies_release.release import release  # noqa: E402
from plies_release.workspace import META, ReleaseError, all_packages, package  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python tools/release.py", description=__doc__.split("\n")[0])
    p.add_argument(
        "args", nargs="*", metavar="ARG", help="PACKAGE VERSION; or the packages to --check-lowest"
    )
    p.add_argument(
        "--bump-dependents", action="store_true", help="raise the ranges this version falls outside"
    )
    p.add_argument("--no-build", action="store_true", help="only rewrite the files (no build, no tests)")
    p.add_argument("--no-test", action="store_true", help="build, but do not run the tests")
    p.add_argument("--outdir", type=Path, help="where the wheel and sdist go (default: dist/)")
    p.add_argument(
        "--changed-since", metavar="TAG", help="list the packages changed since TAG (any git revision)"
    )
    p.add_argument("--check-lowest", action="store_true", help="run the lowest-versions check (default: all)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run the chosen mode; 1 (with the reason on stderr) when it refuses or fails."""
    cli = parser()
    opts = cli.parse_args(argv)
    try:
        if opts.changed_since:
            if opts.args or opts.check_lowest:
                cli.error("--changed-since takes no other arguments")
            return changed_since(opts.changed_since)
        if opts.check_lowest:
            return check_lowest(opts.args)
        if len(opts.args) != 2:
            cli.error(f"expected PACKAGE VERSION, found {len(opts.args)} arguments: {' '.join(opts.args)}")
        name, version = opts.args
        build = not opts.no_build
        release(
            ROOT,
            name,
            version,
            bump_dependents=opts.bump_dependents,
            build=build,
            test=build and not opts.no_test,
            outdir=opts.outdir,
        )
    except ReleaseError as err:
        print(f"release: {err}", file=sys.stderr)
        return 1
    return 0


def changed_since(since: str) -> int:
    found = changes.changed_since(ROOT, since)
    print(f"changed since {since}: {', '.join(c.package.dist for c in found) or 'nothing'}")
    for change in found:
        for line in change.report():
            print(f"  {line}")
    return 0


def check_lowest(names: list[str]) -> int:
    chosen = [package(ROOT, n) for n in names] or [
        p for p in all_packages(ROOT).values() if p.name == META or (p.dir / "tests").is_dir()
    ]
    failed = []
    with tempfile.TemporaryDirectory(prefix="plies-lowest-") as tmp:
        for pkg in chosen:
            result = lowest.check(ROOT, pkg, Path(tmp) / pkg.name, Path(tmp) / "house")
            print(result.summary(), flush=True)
            if not result.passed:
                print(result.log)
                failed.append(pkg.dist)
    if failed:
        print(f"check-lowest: failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
