"""untar_data / download_url on local file:// archives: cache, checksums, atomic writes, extraction
that refuses path traversal; the sets shipped in plies-samples resolve to the installed copy."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from plies.loaders import URLs, download_url, register_checksum, untar_data


def make_tgz(path: Path, files: dict[str, bytes], top: str | None = "tiny_set") -> str:
    """A .tgz holding `files` (under the folder `top`), returned as a file:// URL."""
    with tarfile.open(path, "w:gz") as tf:
        for name, content in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
    return path.as_uri()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def listing(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_download_extract_and_cache(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    url = make_tgz(src / "tiny_set.tgz", {"a.txt": b"alpha", "sub/b.txt": b"beta"})
    home = tmp_path / "home"
    path = untar_data(url, base=home)
    assert path == home / "data" / "tiny_set"
    assert listing(path) == {"a.txt": b"alpha", "sub/b.txt": b"beta"}  # the single top folder becomes it
    assert (home / "archive" / "tiny_set.tgz").read_bytes() == (src / "tiny_set.tgz").read_bytes()
    assert sorted(p.name for p in (home / "data").iterdir()) == ["tiny_set"]  # no temporary left
    assert sorted(p.name for p in (home / "archive").iterdir()) == ["tiny_set.tgz"]
    (src / "tiny_set.tgz").unlink()
    (home / "archive" / "tiny_set.tgz").unlink()
    assert untar_data(url, base=home) == path  # cached: neither downloaded nor extracted again
    make_tgz(src / "tiny_set.tgz", {"new.txt": b"gamma"})
    assert untar_data(url, base=home) == path and listing(path)["a.txt"] == b"alpha"
    assert untar_data(url, base=home, force_download=True) == path
    assert listing(path) == {"new.txt": b"gamma"}  # downloaded and extracted again, old content gone


def test_archive_and_data_folders_and_the_plies_home_variable(tmp_path: Path, monkeypatch):
    url = make_tgz(tmp_path / "set.tar.gz", {"x.csv": b"1,2"}, top=None)  # no top folder
    got = untar_data(url, archive=tmp_path / "arc", data=tmp_path / "dat")
    assert got == tmp_path / "dat" / "set" and listing(got) == {"x.csv": b"1,2"}
    assert (tmp_path / "arc" / "set.tar.gz").is_file()
    monkeypatch.setenv("PLIES_HOME", str(tmp_path / "env_home"))
    assert untar_data(url) == tmp_path / "env_home" / "data" / "set"
    monkeypatch.delenv("PLIES_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))  # the default is ~/.plies
    assert untar_data(url) == tmp_path / "user" / ".plies" / "data" / "set"
    assert download_url(url) == tmp_path / "user" / ".plies" / "archive" / "set.tar.gz"


def test_zip_archives_are_extracted_too(tmp_path: Path):
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as zf:
        zf.writestr("z/one.txt", "1")
        zf.writestr("z/two/three.txt", "3")
    assert listing(untar_data((tmp_path / "z.zip").as_uri(), base=tmp_path / "h")) == {
        "one.txt": b"1",
        "two/three.txt": b"3",
    }


def test_checksums_are_verified_and_a_mismatch_keeps_nothing(tmp_path: Path):
    archive = tmp_path / "summed.tgz"
    url = make_tgz(archive, {"f": b"data"})
    good, bad = sha(archive.read_bytes()), "0" * 64
    home = tmp_path / "home"
    with pytest.raises(ValueError, match=rf"sha256 mismatch for .*summed.tgz: expected {bad}, found {good}"):
        untar_data(url, base=home, sha256=bad)
    assert list((home / "archive").iterdir()) == [] and not (home / "data" / "summed").exists()
    register_checksum(url, good.upper())  # the registry of known checksums (any case)
    assert listing(untar_data(url, base=home)) == {"f": b"data"}
    make_tgz(archive, {"f": b"tampered"})
    with pytest.raises(ValueError, match=rf"download_url: sha256 mismatch .*expected {good}"):
        download_url(url, tmp_path / "copy.tgz")
    assert not (tmp_path / "copy.tgz").exists() and not list(tmp_path.glob(".copy.tgz.*"))
    (home / "archive" / "summed.tgz").write_bytes(archive.read_bytes())  # a cached archive gone bad
    with pytest.raises(ValueError, match=r"untar_data: sha256 mismatch .*kept: download it again with force"):
        untar_data(url, base=home, data=tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="register_checksum: sha256 must be 64 hex digits, found 'abc'"):
        register_checksum(url, "abc")
    with pytest.raises(ValueError, match="untar_data: sha256 must be 64 hex digits, found 'xyz'"):
        untar_data(url, base=tmp_path / "other", sha256="xyz")
    # a digest given to one call is not remembered: the next call checks the registered one
    other = make_tgz(tmp_path / "other.tgz", {"g": b"1"})
    with pytest.raises(ValueError, match="sha256 mismatch"):
        untar_data(other, base=tmp_path / "h2", sha256=bad)
    assert listing(untar_data(other, base=tmp_path / "h2")) == {"g": b"1"}


def test_download_url_writes_atomically_and_names_the_url_on_failure(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PLIES_HOME", str(tmp_path / "home"))
    src = tmp_path / "payload.bin"
    src.write_bytes(bytes(range(256)) * 5000)
    dest = download_url(src.as_uri(), tmp_path / "out" / "payload.bin", sha256=sha(src.read_bytes()))
    assert dest.read_bytes() == src.read_bytes() and [p.name for p in dest.parent.iterdir()] == [
        "payload.bin"
    ]
    missing = (tmp_path / "nope.tgz").as_uri()
    with pytest.raises(OSError, match=rf"download_url: could not fetch {missing}"):
        download_url(missing, tmp_path / "out" / "nope.tgz")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["payload.bin"]  # no partial file
    with pytest.raises(ValueError, match=r"does not name an archive .*use download_url"):
        untar_data(src.as_uri(), base=tmp_path / "h")
    with pytest.raises(ValueError, match="names no file"):
        download_url("file:///tmp/")


def evil_tar(path: Path, member: tarfile.TarInfo, content: bytes = b"") -> str:
    with tarfile.open(path, "w") as tf:
        ok = tarfile.TarInfo("fine/ok.txt")
        ok.size = 2
        tf.addfile(ok, io.BytesIO(b"ok"))
        member.size = len(content) if member.isfile() else 0
        tf.addfile(member, io.BytesIO(content) if member.isfile() else None)
    return path.as_uri()


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(
    "member, why",
    [
        (tarfile.TarInfo("../escaped.txt"), "whose path leaves the destination folder"),
        (tarfile.TarInfo("/abs/escaped.txt"), "whose path leaves the destination folder"),
        (link("fine/up", "../../escaped.txt"), "a link to '../../escaped.txt' outside"),
        (link("fine/abs", "/etc/passwd"), "a link to '/etc/passwd' outside"),
        (link("fine/hard", "../escaped.txt", tarfile.LNKTYPE), "a link to '../escaped.txt' outside"),
        (link("fine/dev", "", tarfile.CHRTYPE), "which is not a file, folder or link"),
    ],
)
def test_tar_members_leaving_the_destination_are_refused(tmp_path: Path, member, why):
    url = evil_tar(tmp_path / "evil.tar", member, b"pwned")
    home = tmp_path / "deep" / "home"
    with pytest.raises(ValueError, match=rf"evil.tar holds the member '{member.name}', {why}"):
        untar_data(url, base=home)
    assert not (home / "data" / "evil").exists() and list((home / "data").iterdir()) == []
    assert not list(tmp_path.rglob("escaped.txt"))


def test_links_that_stay_inside_are_extracted(tmp_path: Path):
    url = evil_tar(tmp_path / "links.tar", link("fine/sub/up", "../ok.txt"))
    with tarfile.open(tmp_path / "links.tar", "a") as tf:
        tf.addfile(link("fine/same", "ok.txt"))
        tf.addfile(link("fine/hard", "fine/ok.txt", tarfile.LNKTYPE))
    got = untar_data(url, base=tmp_path / "h")
    assert (
        (got / "sub" / "up").read_text() == (got / "same").read_text() == (got / "hard").read_text() == "ok"
    )


def test_zip_members_leaving_the_destination_are_refused(tmp_path: Path):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("ok.txt", "ok")
        zf.writestr("../escaped.txt", "pwned")
    with pytest.raises(ValueError, match=r"holds the member '\.\./escaped.txt', whose path leaves"):
        untar_data((tmp_path / "evil.zip").as_uri(), base=tmp_path / "h")
    assert not list(tmp_path.rglob("escaped.txt"))


def test_shipped_sample_sets_resolve_to_the_installed_copy(tmp_path: Path, monkeypatch):
    samples = pytest.importorskip("plies.samples")  # optional dependency: plies-loaders[samples]
    monkeypatch.setenv("PLIES_HOME", str(tmp_path))  # nothing may be written or downloaded
    assert untar_data(URLs.MNIST_TINY) == samples.path("mnist_tiny")
    assert untar_data(URLs.PETS_SAMPLE) == samples.path("pets_sample")
    for url, name in [(URLs.CAMVID_TINY, "camvid_tiny"), (URLs.COCO_TINY, "coco_tiny")]:
        assert untar_data(url) == samples.path(name)
    for url, name in [(URLs.ADULT_SAMPLE, "adult_sample"), (URLs.IMDB_SAMPLE, "imdb_sample")]:
        assert untar_data(url) == samples.path(name)
    for url, name in [(URLs.DIGITS, "digits"), (URLs.GOODBOOKS_SAMPLE, "goodbooks_sample")]:
        assert untar_data(url) == samples.path(name)
    assert untar_data(URLs.SENTIMENT_SAMPLE) == samples.path("sentiment_sample")
    assert (untar_data(URLs.MNIST_TINY) / "labels.csv").is_file() and list(tmp_path.iterdir()) == []
    with pytest.raises(KeyError, match=r"plies-samples has no set 'zebra'"):
        untar_data(URLs.SAMPLES + "zebra")
    with pytest.raises(ValueError, match=r"has no download \(it ships only in plies-samples\)"):
        untar_data(URLs.PETS_SAMPLE, force_download=True)


def test_without_plies_samples_its_own_sets_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "plies.samples", None)  # as if plies-samples were not installed
    with pytest.raises(
        ModuleNotFoundError, match=r"ships only in the plies-samples distribution.*pip install"
    ):
        untar_data(URLs.PETS_SAMPLE)
