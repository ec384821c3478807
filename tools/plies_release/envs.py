"""Builds and fresh environments for the release checks, without reaching any package index.

A check's venv holds only what a package declares. The plies distributions come from wheels in a
local folder (`pip install --no-index --find-links`); the third-party ones (torch, numpy, pytest, ...)
are those of the running environment (the dev `.venv`), shown to the fresh venv through a "view": a
folder of links to exactly the distributions the declared requirements need, transitively, that a
.pth file of the venv puts on its path (pip counts them as installed). A view costs no install and
no download, and still holds nothing undeclared.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .workspace import ReleaseError

VIEW_PTH = "_plies_release_view.pth"


def build(package_dir: Path, outdir: Path, *, sdist: bool = True) -> list[Path]:
    """Build the wheel (from the sdist, when `sdist`) of the package in `package_dir` into `outdir`."""
    outdir.mkdir(parents=True, exist_ok=True)
    before = set(outdir.iterdir())
    args = [sys.executable, "-m", "build", "--no-isolation", "-q", "--outdir", str(outdir)]
    args += [] if sdist else ["--wheel"]
    run = subprocess.run([*args, str(package_dir)], capture_output=True, text=True)
    if run.returncode:
        raise ReleaseError(f"building {package_dir} failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    return sorted(set(outdir.iterdir()) - before)


def wheel_name(dist: str, version: object) -> str:
    """The file name of a pure-Python wheel: `plies_pipes-0.2.0-py3-none-any.whl`."""
    return f"{canonicalize_name(dist).replace('-', '_')}-{version}-py3-none-any.whl"


def closure(requirements: Iterable[Requirement], owner: str) -> list[metadata.Distribution]:
    """The installed distributions that `requirements` need, their own requirements included.

    Plies requirements are left out (they come as wheels). Raises ReleaseError when one is missing from
    the running environment or has a version outside the declared range.
    """
    found: dict[str, metadata.Distribution] = {}
    wanted_extras: dict[str, set[str]] = {}
    todo = [(req, owner) for req in requirements if not _is_plies(req.name)]
    while todo:
        req, by = todo.pop()
        key = canonicalize_name(req.name)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise ReleaseError(
                f"{by} requires {req}, which is not installed in {sys.prefix} (the checks take third-party "
                "packages from the running environment: run `bash tools/dev-setup.sh`)"
            ) from None
        if not req.specifier.contains(dist.version, prereleases=True):
            raise ReleaseError(f"{by} requires {req}; the running environment has {req.name} {dist.version}")
        extras = set(req.extras)
        if key in found and extras <= wanted_extras[key]:
            continue
        found[key] = dist
        wanted_extras[key] = wanted_extras.get(key, set()) | extras
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or any(
                sub.marker.evaluate({"extra": e}) for e in wanted_extras[key] | {""}
            ):
                todo.append((sub, f"{dist.metadata['Name']} {dist.version}"))
    return sorted(found.values(), key=lambda d: canonicalize_name(d.metadata["Name"]))


def _is_plies(name: str) -> bool:
    name = canonicalize_name(name)
    return name == "plies" or name.startswith("plies-")


def top_level_entries(dist: metadata.Distribution) -> set[str]:
    """The names a distribution installs directly into site-packages (packages, modules, its dist-info)."""
    if dist.files is None:
        raise ReleaseError(f"{dist.metadata['Name']}: installed without a RECORD, its files are unknown")
    names = {f.parts[0] for f in dist.files if f.parts and f.parts[0] not in ("..", "__pycache__")}
    return {n for n in names if not n.endswith(".pth")}


def make_view(folder: Path, dists: Iterable[metadata.Distribution]) -> Path:
    """A folder of links to the site-packages entries of `dists` (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    for dist in dists:
        site = Path(str(dist.locate_file("")))
        for name in top_level_entries(dist):
            link = folder / name
            if not link.exists() and (site / name).exists():
                link.symlink_to(site / name)
    return folder


def site_packages(env: Path) -> Path:
    """The site-packages folder of the venv at `env`."""
    return Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))


def fresh_venv(env: Path, views: Iterable[Path]) -> Path:
    """A new venv at `env` (no pip: the running pip installs into it) that sees `views`; its python."""
    venv.EnvBuilder(with_pip=False, clear=True, symlinks=True).create(env)
    (site_packages(env) / VIEW_PTH).write_text("".join(f"{Path(v).resolve()}\n" for v in views))
    return env / "bin" / "python"


def venv_with(work: Path, requirements: Iterable[Requirement], owner: str) -> Path:
    """A fresh venv at work/venv seeing a view (work/view) of the third-party distributions that
    `requirements` (declared by `owner`) need; its python. The plies ones are then pip-installed."""
    view = make_view(work / "view", closure(requirements, owner))
    return fresh_venv(work / "venv", [view])


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without the settings that would let a check see more than it installs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1")
    env.update(extra)
    return env


def pip_install(python: Path, *args: str, find_links: Iterable[Path]) -> subprocess.CompletedProcess:
    """`pip install --no-index --find-links ... ARGS` into the venv of `python`, by the running pip."""
    links = [a for folder in find_links for a in ("--find-links", str(folder))]
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", *links, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=clean_env())


def pip_check(python: Path) -> subprocess.CompletedProcess:
    """`pip check` in the venv of `python`: every installed distribution has what it requires."""
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "check"]
    return subprocess.run(cmd, capture_output=True, text=True, env=clean_env())


def installed(env: Path) -> dict[str, str]:
    """The distributions installed in the venv itself (not those its view shows), by name."""
    dists = metadata.distributions(path=[str(site_packages(env))])
    return dict(sorted((canonicalize_name(d.metadata["Name"]), d.version) for d in dists))


def run_tests(
    python: Path, tests: Path, cwd: Path, marks: str | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess:
    """Run pytest on `tests` with `python`, from `cwd` (whose pyproject holds the pytest settings); only
    the tests the marker expression `marks` selects, when given."""
    cmd = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)]
    cmd += ["-m", marks] if marks else []
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=clean_env(), timeout=timeout)


def run_python(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `python ARGS` from `cwd` with the environment of the checks."""
    return subprocess.run([str(python), *args], cwd=cwd, capture_output=True, text=True, env=clean_env())
