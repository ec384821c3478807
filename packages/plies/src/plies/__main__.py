"""`python -m plies --version`: the version of plies and of each installed plies distribution."""

from __future__ import annotations

import argparse
import sys

from plies.version import __version__, versions


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and print the versions (`--version`) or the help."""
    parser = argparse.ArgumentParser(
        prog="python -m plies", description="plies: a layered deep-learning library on PyTorch."
    )
    parser.add_argument(
        "--version",
        action="store_true",
        help="print the version of plies and of each installed plies package",
    )
    args = parser.parse_args(argv)
    if not args.version:
        parser.print_help()
        return 0
    print(f"plies {__version__}")
    for name, version in versions().items():
        if name != "plies":
            print(f"{name} {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
