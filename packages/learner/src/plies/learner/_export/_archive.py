"""The export archive: writing, and reading with validation.

Reading checks the archive's structure before anything is parsed: exactly the three members,
stored (not compressed), sizes that add up, a safetensors header consistent with its data, a
config of the expected format and of a version this plies reads (1.0 and 1.1). Errors are
ValueErrors naming the file.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from torch import Tensor

__all__: list[str] = []  # private module of the export package

FORMAT = "plies-learner-export"
MAJOR, MINOR = 1, 1
VERSION = f"{MAJOR}.{MINOR}"  # written; files of minor versions 0..MINOR of this major are read
CONFIG, WEIGHTS, TENSORS = "config.json", "model.safetensors", "tensors.safetensors"
MEMBERS = (CONFIG, WEIGHTS, TENSORS)
MAX_CONFIG_BYTES = 64 * 2**20
_DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


@contextmanager
def atomic_writer(dest: Path) -> Iterator[BinaryIO]:
    """A binary file that replaces `dest` only once the block completes (no half-written exports)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def state_bytes(tensors: dict[str, Tensor]) -> bytes:
    """safetensors bytes of `tensors` (moved to the CPU; tensors sharing storage are copied apart)."""
    from safetensors.torch import save

    cpu = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    seen: set[int] = set()
    for k, v in cpu.items():
        ptr = v.untyped_storage().data_ptr()
        if ptr in seen and v.numel() > 0:
            cpu[k] = v.clone()  # tied weights: safetensors refuses shared storage
        seen.add(ptr)
    return save(cpu)


def write_archive(
    dest: Path, config: dict[str, Any], weights: dict[str, Tensor], tensors: dict[str, Tensor]
) -> None:
    """Write the three members of an export to `dest` (atomically)."""
    with atomic_writer(dest) as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(CONFIG, json.dumps(config, indent=1, allow_nan=True))
        zf.writestr(WEIGHTS, state_bytes(weights))
        zf.writestr(TENSORS, state_bytes(tensors))


# ---------------------------------------------------------------- reading, with validation
def refuse(fname: Path, what: str) -> ValueError:
    return ValueError(f"load_learner: refusing {fname}: {what}")


_PICKLE_ARCHIVE = (
    "it is a pickle-based archive (torch.save / fastai export); unpickling can run arbitrary code. "
    "For a file you trust, call load_learner(..., pickle=True)"
)


def _looks_like_pickle(head: bytes) -> bool:
    return head[:1] == b"\x80" and head[1:2] in bytes(range(2, 6))


def read_members(fname: Path) -> dict[str, bytes]:
    """The three members of a plies export, after checking the archive's structure."""
    try:
        with open(fname, "rb") as f:
            head = f.read(4)
    except FileNotFoundError:
        raise FileNotFoundError(f"load_learner: no such file: {fname}") from None
    if _looks_like_pickle(head):
        raise refuse(fname, "it is a pickle file; unpickling can run arbitrary code. If you made this file "
                      "yourself and trust it, call load_learner(..., pickle=True)")  # fmt: skip
    if not zipfile.is_zipfile(fname):
        raise refuse(fname, "it is not a plies export (not a zip archive; truncated or corrupt?)")
    try:
        with zipfile.ZipFile(fname) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            if any(n.endswith(".pkl") or "/data.pkl" in n for n in names):
                raise refuse(fname, _PICKLE_ARCHIVE)
            bad = [n for n in names if n not in MEMBERS]
            if bad:
                raise refuse(
                    fname, f"unexpected member(s) {bad[:5]} (a plies export holds only {list(MEMBERS)})"
                )
            if len(set(names)) != len(names):
                raise refuse(fname, "the archive has duplicate members")
            missing = [m for m in MEMBERS if m not in names]
            if missing:
                raise refuse(fname, f"missing member(s) {missing}")
            size = fname.stat().st_size
            out: dict[str, bytes] = {}
            for info in infos:
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > size:
                    raise refuse(
                        fname, f"member {info.filename!r} is compressed or larger than the file itself"
                    )
                if info.filename == CONFIG and info.file_size > MAX_CONFIG_BYTES:
                    raise refuse(fname, f"config.json is {info.file_size} bytes (limit {MAX_CONFIG_BYTES})")
                with zf.open(info) as member:
                    data = member.read(info.file_size + 1)
                if len(data) != info.file_size:
                    raise refuse(
                        fname, f"member {info.filename!r} has {len(data)} bytes, header says {info.file_size}"
                    )
                out[info.filename] = data
            return out
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise refuse(fname, f"corrupt or truncated archive ({e})") from None


def check_safetensors(data: bytes, member: str, fname: Path) -> None:
    """Validate a safetensors buffer's header against its size before handing it to safetensors."""
    if len(data) < 8:
        raise refuse(fname, f"{member}: {len(data)} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise refuse(fname, f"{member}: header length {n} exceeds the member's {len(data) - 8} bytes")
    try:
        header = json.loads(data[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise refuse(fname, f"{member}: header is not valid JSON ({type(e).__name__})") from None
    if not isinstance(header, dict):
        raise refuse(fname, f"{member}: header is not a JSON object")
    body = len(data) - 8 - n
    spans = []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        well_formed = (
            isinstance(info, dict)
            and info.get("dtype") in _DTYPE_SIZES
            and isinstance(info.get("shape"), list)
            and isinstance(info.get("data_offsets"), list)
            and len(info["data_offsets"]) == 2
        )
        if not well_formed:
            raise refuse(fname, f"{member}: malformed entry for tensor {key!r}")
        start, end = info["data_offsets"]
        numel = 1
        for d in info["shape"]:
            if not isinstance(d, int) or d < 0:
                raise refuse(fname, f"{member}: tensor {key!r} has an invalid shape {info['shape']}")
            numel *= d
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= body):
            raise refuse(
                fname,
                f"{member}: tensor {key!r} data offsets {[start, end]} lie outside the {body}-byte body",
            )
        if end - start != numel * _DTYPE_SIZES[info["dtype"]]:
            raise refuse(fname, f"{member}: tensor {key!r} claims shape {info['shape']} ({info['dtype']}) "
                          "but "
                          f"spans {end - start} bytes")  # fmt: skip
        spans.append((start, end))
    spans.sort()
    if any(a_end > b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False)):
        raise refuse(fname, f"{member}: tensors overlap in the data section")


def load_tensors(data: bytes, member: str, fname: Path) -> dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load

    check_safetensors(data, member, fname)
    try:
        return load(data)
    except SafetensorError as e:
        raise refuse(fname, f"{member}: {e}") from None


def read_config(raw: bytes, fname: Path) -> dict[str, Any]:
    def no_constants(name: str) -> Any:
        return float(name)  # NaN / Infinity are plain floats

    try:
        config = json.loads(raw.decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise refuse(fname, f"config.json is not valid JSON ({e})") from None
    except RecursionError:
        raise refuse(fname, "config.json is nested too deeply") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise refuse(fname, f"config.json does not declare format {FORMAT!r}")
    minor = _minor_version(config.get("version"), fname)
    expected = set(_KEYS_1_0) | (set(_KEYS_1_1) if minor >= 1 else set())
    if set(config) != expected:
        raise refuse(fname, f"config.json keys {sorted(config)} differ from the expected {sorted(expected)}")
    return {**config, "version": (MAJOR, minor)}


_KEYS_1_0 = (
    "format",
    "version",
    "model",
    "loss_func",
    "metrics",
    "opt_func",
    "hypers",
    "data",
    "path",
    "model_dir",
)
_KEYS_1_1 = ("learner", "callbacks", "requires")


def _minor_version(version: Any, fname: Path) -> int:
    """The minor version of a file this plies reads: ``1`` (plies 1.0 files) or ``"1.<minor>"``."""
    if version == 1 and type(version) is int:
        return 0
    parts = version.split(".") if isinstance(version, str) else []
    if len(parts) == 2 and all(p.isdigit() for p in parts) and int(parts[0]) == MAJOR:
        if int(parts[1]) <= MINOR:
            return int(parts[1])
        raise refuse(fname, f"export format version {version}, written by a newer plies; this plies reads "
                     f"{MAJOR}.0 to {VERSION}")  # fmt: skip
    raise refuse(fname, f"export format version {version!r}; this plies reads {MAJOR}.0 to {VERSION}")


def is_plies_export(fname: Path) -> bool:
    try:
        with zipfile.ZipFile(fname) as zf:
            return CONFIG in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
