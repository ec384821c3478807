"""Getting datasets: `download_url` (atomic, sha256-checked), `untar_data` (download, extract, cache).

The cache is `$PLIES_HOME` (default `~/.plies`): archives in `archive/`, extracted sets in `data/`.
Files are downloaded to a temporary name beside their destination and renamed when complete and
checked, so an interrupted download never leaves a file that looks whole. Extraction refuses
archive members that would land outside the destination (absolute paths, `..`, links pointing
out, devices). Sets that ship in the `plies-samples` distribution resolve to the installed copy.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from ._urls import URLs, sample_name

__all__ = ["download_url", "untar_data", "register_checksum"]

_CHECKSUMS: dict[str, str] = {}
_ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".txz", ".tar", ".zip")
_CHUNK = 1 << 20


def _valid_digest(sha256: object, url: str, who: str) -> str:
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise ValueError(f"{who}: sha256 must be 64 hex digits, found {sha256!r} (for {url})")
    return sha256.lower()


def register_checksum(url: str, sha256: str) -> None:
    """Record the sha256 of the file at `url`: `download_url` and `untar_data` then verify it."""
    _CHECKSUMS[url] = _valid_digest(sha256, url, "register_checksum")


def _home() -> Path:
    """The cache root: $PLIES_HOME, else ~/.plies."""
    return Path(os.environ.get("PLIES_HOME") or Path.home() / ".plies").expanduser()


def _file_name(url: str) -> str:
    path = urllib.parse.urlparse(url).path
    name = "" if path.endswith("/") else PurePosixPath(path).name
    if not name:
        raise ValueError(f"download_url: the URL {url!r} names no file (its path ends with '/')")
    return urllib.parse.unquote(name)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _expected_sha256(url: str, sha256: str | None, who: str) -> str | None:
    """The digest to verify: `sha256` when given (checked for form), else the registered one."""
    return _valid_digest(sha256, url, who) if sha256 is not None else _CHECKSUMS.get(url)


def _mismatch(what: str, file: Path, expected: str, found: str, kept: bool) -> ValueError:
    fate = "kept: download it again with force_download=True" if kept else "not kept"
    return ValueError(
        f"{what}: sha256 mismatch for {file}: expected {expected}, found {found} (the file was {fate})"
    )


def download_url(
    url: str, dest: str | Path | None = None, timeout: float | None = None, sha256: str | None = None
) -> Path:
    """Download `url` (http, https, file...) to `dest` and return its path.

    `dest` defaults to `$PLIES_HOME/archive/<file name>`. The file is written under a temporary
    name and renamed once complete; when a sha256 is known (`sha256=` or `register_checksum`) it
    is verified first, and a mismatch raises ValueError naming the file, expected and found digests.
    """
    dest = Path(dest) if dest is not None else _home() / "archive" / _file_name(url)
    expected = _expected_sha256(url, sha256, "download_url")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    while chunk := response.read(_CHUNK):
                        h.update(chunk)
                        out.write(chunk)
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", e)
                raise OSError(f"download_url: could not fetch {url}: {reason}") from e
        found = h.hexdigest()
        if expected is not None and found != expected:
            raise _mismatch("download_url", dest, expected, found, kept=False)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _installed_sample(name: str, url: str) -> Path | None:
    """The installed plies-samples folder for `name`, or None when that distribution is missing."""
    try:
        import plies.samples as samples
    except ImportError:
        if url.startswith(URLs.SAMPLES):
            raise ModuleNotFoundError(
                f"untar_data: {url} ships only in the plies-samples distribution, which is not installed; "
                "`pip install plies-samples` (or plies-loaders[samples])"
            ) from None
        return None
    if name not in samples.names():
        raise KeyError(f"untar_data: plies-samples has no set {name!r} (for {url}); it has {samples.names()}")
    return samples.path(name)


def untar_data(
    url: str,
    archive: str | Path | None = None,
    data: str | Path | None = None,
    force_download: bool = False,
    base: str | Path | None = None,
    sha256: str | None = None,
) -> Path:
    """Download the archive at `url`, extract it and return the folder; later calls reuse the cache.

    The archive goes to `archive` (default `<base>/archive`), its content to `<data>/<name>`
    (default `<base>/data/<name>`, the name being the file name without its archive suffix);
    `base` defaults to `$PLIES_HOME` or `~/.plies`. An archive with a single top folder is
    extracted as that folder. `force_download=True` downloads and extracts again. When a sha256
    is known (`sha256=` or `register_checksum`) the archive is verified. Sets that ship in the
    `plies-samples` distribution (`URLs.MNIST_TINY`, `URLs.PETS_SAMPLE`...) return the installed
    copy, without a download, unless `force_download` (for those that have a download URL).
    """
    sample = sample_name(url)
    if sample is not None:
        if not force_download or url.startswith(URLs.SAMPLES):
            if force_download:
                raise ValueError(
                    f"untar_data: {url} has no download (it ships only in plies-samples); "
                    "drop force_download=True"
                )
            found = _installed_sample(sample, url)
            if found is not None:
                return found
    name = _file_name(url)
    stem = next((name[: -len(s)] for s in _ARCHIVE_SUFFIXES if name.lower().endswith(s)), None)
    if not stem:
        raise ValueError(
            f"untar_data: {url} does not name an archive (a file ending in {', '.join(_ARCHIVE_SUFFIXES)}); "
            "use download_url for other files"
        )
    root = Path(base).expanduser() if base is not None else _home()
    file = (Path(archive) if archive is not None else root / "archive") / name
    dest = (Path(data) if data is not None else root / "data") / stem
    if dest.exists() and not force_download:
        return dest
    expected = _expected_sha256(url, sha256, "untar_data")
    if force_download or not file.exists():
        download_url(url, file, sha256=expected)
    elif expected is not None and (digest := _sha256(file)) != expected:
        raise _mismatch("untar_data", file, expected, digest, kept=True)
    _extract(file, dest, replace=force_download)
    return dest


def _refuse(file: Path, member: str, why: str) -> ValueError:
    return ValueError(f"untar_data: {file} holds the member {member!r}, {why}; refusing to extract it")


def _outside(name: str) -> bool:
    """Whether an archive member name would be written outside the extraction folder."""
    p = PurePosixPath(name.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or bool(re.match(r"^[A-Za-z]:", name))


def _escapes(linkname: str, target: str) -> bool:
    """Whether a link to `linkname`, which resolves to `target` (relative to the extraction folder),
    points outside that folder."""
    if PurePosixPath(linkname).is_absolute() or re.match(r"^[A-Za-z]:", linkname):
        return True
    norm = os.path.normpath(target).replace("\\", "/")
    return norm == ".." or norm.startswith(("../", "/"))


def _extract_tar(file: Path, into: Path) -> None:
    with tarfile.open(file) as tf:
        members = tf.getmembers()
        for m in members:
            if _outside(m.name):
                raise _refuse(file, m.name, "whose path leaves the destination folder")
            if m.issym() or m.islnk():
                # a symbolic link is relative to its folder, a hard link to the archive's root
                target = m.linkname if m.islnk() else str(PurePosixPath(m.name).parent / m.linkname)
                if _escapes(m.linkname, target):
                    raise _refuse(file, m.name, f"a link to {m.linkname!r} outside the destination folder")
            elif not (m.isfile() or m.isdir()):
                raise _refuse(file, m.name, "which is not a file, folder or link (a device or a pipe)")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.12 and the 3.10/3.11 security releases
            tf.extractall(into, members=members, filter="data")
        else:  # pragma: no cover - only older interpreters, the members were checked above
            tf.extractall(into, members=members)


def _extract_zip(file: Path, into: Path) -> None:
    with zipfile.ZipFile(file) as zf:
        for name in zf.namelist():
            if _outside(name):
                raise _refuse(file, name, "whose path leaves the destination folder")
        zf.extractall(into)


def _extract(file: Path, dest: Path, replace: bool) -> None:
    """Extract `file` to `dest` through a temporary folder beside it (renamed when complete)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".extract"))
    try:
        if zipfile.is_zipfile(file):
            _extract_zip(file, tmp)
        elif tarfile.is_tarfile(file):
            _extract_tar(file, tmp)
        else:
            raise ValueError(f"untar_data: {file} is neither a tar nor a zip archive")
        entries = list(tmp.iterdir())
        src = entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp
        if replace and dest.exists():
            shutil.rmtree(dest)
        try:
            os.replace(src, dest)
        except OSError:
            if not dest.is_dir():  # another process may have extracted it meanwhile: keep theirs
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
