"""The checkpoint file: plain data + tensors in one safetensors file, written atomically, checked on load.

A checkpoint is ONE safetensors file. Its tensors hold every tensor of the state (weights, optimizer
buffers, RNG states); its header metadata holds the rest of the state as JSON, where each tensor is a
reference ``{"__plies__": "tensor", "key": ...}``, plus a SHA-256 over the JSON and the tensor bytes.
Nothing is unpickled: loading parses JSON and raw tensor bytes only.

Writing goes to a hidden temporary file in the same directory, which is flushed, fsync'ed and then
renamed over the target with `os.replace` (atomic on POSIX and Windows); the directory is fsync'ed too,
so a process killed at any moment leaves either the previous file or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

FORMAT = "plies.checkpoint"
VERSION = 1
SUFFIX = ".safetensors"
_MARK = "__plies__"
_MAX_HEADER = 100_000_000

# Crash-safety test hook: seconds to sleep between writing the temporary file and renaming it, so a
# test can kill the process in the middle of a write.
DELAY_ENV = "PLIES_CHECKPOINT_WRITE_DELAY"


def encode_state(obj: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    """Split plain data into a JSON-able tree and a dict of tensors referenced from it."""
    tensors: dict[str, torch.Tensor] = {}

    def store(t: torch.Tensor, path: str) -> str:
        key = path or "root"
        if key in tensors:
            key = f"{key}#{len(tensors)}"
        # as_subclass drops semantic tensor types; clone breaks storage sharing (safetensors refuses it)
        tensors[key] = t.detach().as_subclass(torch.Tensor).cpu().contiguous().clone()
        return key

    def enc(o: Any, path: str) -> Any:
        if o is None or isinstance(o, (bool, str)):
            return o
        if isinstance(o, (int, float)):
            return o
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, torch.Tensor):
            return {_MARK: "tensor", "key": store(o, path)}
        if isinstance(o, np.ndarray):
            return {_MARK: "ndarray", "key": store(torch.from_numpy(np.ascontiguousarray(o)), path)}
        if isinstance(o, tuple):
            return {_MARK: "tuple", "items": [enc(v, f"{path}/{i}") for i, v in enumerate(o)]}
        if isinstance(o, list):
            return [enc(v, f"{path}/{i}") for i, v in enumerate(o)]
        if isinstance(o, dict):
            if all(isinstance(k, str) for k in o) and _MARK not in o:
                return {k: enc(v, f"{path}/{k}") for k, v in o.items()}
            return {_MARK: "dict", "items": [[enc(k, path), enc(v, f"{path}/{k}")] for k, v in o.items()]}
        raise TypeError(
            f"checkpoint state at '{path or '/'}': expected plain data (dict, list, tuple, str, int, float, "
            f"bool, None, torch.Tensor, numpy array), got {type(o).__qualname__}"
        )

    return enc(obj, ""), tensors


def decode_state(tree: Any, tensors: dict[str, torch.Tensor], where: str = "checkpoint") -> Any:
    """Rebuild the plain data that `encode_state` split into `tree` and `tensors`."""

    def dec(o: Any) -> Any:
        if isinstance(o, list):
            return [dec(v) for v in o]
        if not isinstance(o, dict):
            return o
        kind = o.get(_MARK)
        if kind is None:
            return {k: dec(v) for k, v in o.items()}
        if kind in ("tensor", "ndarray"):
            key = o.get("key")
            if key not in tensors:
                raise ValueError(f"{where}: the state refers to tensor {key!r}, which the file does not hold")
            return tensors[key].numpy() if kind == "ndarray" else tensors[key]
        if kind == "tuple":
            return tuple(dec(v) for v in o["items"])
        if kind == "dict":
            return {_hashable(dec(k)): dec(v) for k, v in o["items"]}
        raise ValueError(
            f"{where}: unknown entry kind {kind!r} in the state (expected tensor, ndarray, tuple, dict)"
        )

    return dec(tree)


def _hashable(k: Any) -> Any:
    return tuple(_hashable(v) for v in k) if isinstance(k, (list, tuple)) else k


def _digest(payload: str, tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256(payload.encode())
    for key in sorted(tensors):
        t = tensors[key]
        h.update(f"{key}:{t.dtype}:{tuple(t.shape)};".encode())
        if t.numel():
            h.update(t.contiguous().reshape(-1).view(torch.uint8).numpy().data)
    return h.hexdigest()


def write_checkpoint(state: dict[str, Any], file: str | os.PathLike, kind: str = "weights") -> Path:
    """Write `state` (plain data) to `file` atomically: temp file, fsync, rename, directory fsync.

    `kind` is recorded in the metadata: ``'resume'`` for `CheckpointCallback`'s files (what
    ``resume_from='latest'`` looks for), ``'weights'`` for `Learner.save`'s.
    """
    file = Path(file)
    tree, tensors = encode_state(state)
    payload = json.dumps(tree)
    meta = {
        "format": FORMAT,
        "version": str(VERSION),
        "kind": kind,
        "saved_at": repr(time.time()),
        "state": payload,
        "sha256": _digest(payload, tensors),
    }
    data = st_save(tensors, metadata=meta)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.parent / f".{file.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        delay = os.environ.get(DELAY_ENV)
        if delay:
            time.sleep(float(delay))
        os.replace(tmp, file)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(file.parent)
    for stale in file.parent.glob(f".{file.name}.tmp-*"):
        stale.unlink(missing_ok=True)  # left by a process killed mid-write
    return file


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return  # directories cannot be opened for fsync on Windows; os.replace is already durable there
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_header(file: Path) -> dict[str, Any]:
    """The safetensors header of `file`, checked against the file's size; ValueError says what is wrong."""
    size = file.stat().st_size
    with open(file, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(
                f"checkpoint {file}: truncated or empty ({size} bytes; a checkpoint starts with an "
                "8-byte header length)"
            )
        (n,) = struct.unpack("<Q", head)
        if n > min(_MAX_HEADER, size - 8):
            raise ValueError(
                f"checkpoint {file}: truncated or not a safetensors file (header length {n} "
                f"bytes, but the file has {size} bytes)"
            )
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except ValueError as e:
        raise ValueError(f"checkpoint {file}: header is not valid JSON ({e}); the file is corrupt") from None
    if not isinstance(header, dict):
        raise ValueError(f"checkpoint {file}: header is not a JSON object; the file is corrupt")
    end = max(
        (
            v["data_offsets"][1]
            for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v
        ),
        default=0,
    )
    if 8 + n + end != size:
        raise ValueError(
            f"checkpoint {file}: truncated or padded (header describes {8 + n + end} bytes, "
            f"the file has {size})"
        )
    return header


def read_checkpoint(file: str | os.PathLike) -> dict[str, Any]:
    """Load and verify a checkpoint written by `write_checkpoint`; raises ValueError naming file and fault."""
    file = Path(file)
    if not file.is_file():
        raise FileNotFoundError(f"checkpoint {file}: no such file")
    header = read_header(file)
    meta = header.get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"checkpoint {file}: not a plies checkpoint (metadata 'format' is "
            f"{meta.get('format')!r}, expected {FORMAT!r})"
        )
    if meta.get("version") != str(VERSION):
        raise ValueError(
            f"checkpoint {file}: format version {meta.get('version')!r} is not supported "
            f"(this plies reads version {VERSION})"
        )
    try:
        tensors = st_load(file.read_bytes())
    except SafetensorError as e:
        raise ValueError(f"checkpoint {file}: tensor data is corrupt ({e})") from None
    payload = meta.get("state", "")
    if _digest(payload, tensors) != meta.get("sha256"):
        raise ValueError(
            f"checkpoint {file}: checksum mismatch, the file was modified or damaged after it was "
            "written (tampered or corrupt)"
        )
    try:
        tree = json.loads(payload)
    except ValueError as e:
        raise ValueError(f"checkpoint {file}: state is not valid JSON ({e})") from None
    state = decode_state(tree, tensors, where=f"checkpoint {file}")
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {file}: state is a {type(state).__name__}, expected a dict")
    return state


def header_metadata(file: Path) -> dict[str, str]:
    """The metadata of a safetensors file (cheap: header only); ValueError when the header is damaged."""
    meta = read_header(file).get("__metadata__") or {}
    return meta if isinstance(meta, dict) else {}
