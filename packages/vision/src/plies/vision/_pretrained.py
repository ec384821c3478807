"""Pretrained weights from local files only: a file the user names, or the torch hub / Hugging Face cache.

Nothing downloads behind the user's back. `find_weights` says where the weights of an architecture
are (a path given as `weights=`, else torch hub's ``checkpoints`` folder under the name of the
published file, else, for timm models, the Hugging Face cache) and raises FileNotFoundError naming
every place it looked and how to provide the file. `read_weights` checks the sha256 prefix that
published file names carry (``resnet18-f37072fd.pth``) and loads tensors only
(``torch.load(weights_only=True)`` or safetensors). `download_weights` is the explicit download,
into torch hub's cache, with torch hub's own machinery and hash check.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import Tensor, nn

from ._archs import ArchMeta, arch_meta

__all__ = ["find_weights", "read_weights", "download_weights", "weights_cache_dir"]

# torch hub's convention: "<name>-<first hex digits of the sha256>.<ext>" (8 digits or more here,
# so that "model-2.pth" is not taken for a hash)
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$")
_CHECKPOINT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".ckpt")


def weights_cache_dir() -> Path:
    """torch hub's folder of downloaded checkpoints (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _is_path(weights: Any) -> bool:
    if isinstance(weights, os.PathLike):
        return True
    return isinstance(weights, str) and (weights.endswith(_CHECKPOINT_SUFFIXES) or os.sep in weights)


def _url_of(meta: ArchMeta, weights: Any) -> str | None:
    """The URL of the weights asked for: a torchvision weights entry (or its name), else the arch's own."""
    if weights is None:
        return meta.url
    url = getattr(weights, "url", None)
    if isinstance(url, str):
        return url
    if isinstance(weights, str) and meta.family == "torchvision":
        import torchvision.models as tvm

        try:
            return tvm.get_model_weights(meta.name)[weights].url
        except KeyError:
            names = [w.name for w in tvm.get_model_weights(meta.name)]
            raise ValueError(
                f"weights: {weights!r} is neither a file (.pth, .pt, .safetensors...) nor one of the "
                f"torchvision weights of {meta.name} ({', '.join(names)})"
            ) from None
    raise TypeError(
        f"weights: expected a path to a checkpoint file, a torchvision weights entry or its name, or None; "
        f"found {type(weights).__name__} {weights!r:.60}"
    )


def _file_name(url: str) -> str:
    return os.path.basename(urlparse(url).path)


def _timm_cached(meta: ArchMeta) -> tuple[Path | None, list[str]]:
    """A cached timm checkpoint (Hugging Face cache, then torch hub's) and the places searched."""
    import timm

    name = meta.name.split("/", 1)[1]
    if not timm.models.is_model_pretrained(name):
        return None, []
    cfg = timm.models.get_pretrained_cfg(name)
    searched: list[str] = []
    if cfg.hf_hub_id:
        from huggingface_hub import try_to_load_from_cache

        for fname in (cfg.hf_hub_filename, "model.safetensors", "pytorch_model.bin"):
            if not fname:
                continue
            found = try_to_load_from_cache(cfg.hf_hub_id, fname)
            searched.append(f"the Hugging Face cache ({cfg.hf_hub_id}/{fname})")
            if isinstance(found, str):
                return Path(found), searched
    if cfg.url:
        candidate = weights_cache_dir() / _file_name(cfg.url)
        searched.append(str(candidate))
        if candidate.is_file():
            return candidate, searched
    return None, searched


def find_weights(arch: str | Callable[..., nn.Module], weights: Any = None) -> Path:
    """The local file holding the pretrained weights of `arch` (a name or function).

    `weights`: a path to a checkpoint (used as is), a torchvision weights entry or its name
    (``ResNet50_Weights.IMAGENET1K_V2``, ``"IMAGENET1K_V2"``), or None for the architecture's
    default weights. Looks in torch hub's cache (`weights_cache_dir`) under the published file
    name, and for timm models in the Hugging Face cache too. Raises FileNotFoundError naming the
    places searched and how to provide the file.
    """
    meta = arch_meta(arch)
    if _is_path(weights):
        path = Path(weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"find_weights: the weights file {path} given for {meta.name} does not exist"
            )
        return path
    searched: list[str] = []
    url = None
    if meta.family == "timm" and weights is None:
        found, searched = _timm_cached(meta)
        if found is not None:
            return found
    else:
        url = _url_of(meta, weights)
        if url is not None:
            candidate = weights_cache_dir() / _file_name(url)
            searched.append(str(candidate))
            if candidate.is_file():
                return candidate
    where = "; ".join(searched) if searched else "nowhere: plies knows no published weights for it"
    source = f" (published at {url})" if url else ""
    raise FileNotFoundError(
        f"find_weights: no pretrained weights for {meta.name} on this machine{source}. Looked in: {where}. "
        f"Provide them: pass weights='path/to/checkpoint.pth' (a state dict of the full {meta.name} model), "
        f"copy the file into {weights_cache_dir()}, run plies.vision.download_weights({meta.name!r}) on a "
        f"machine with internet access, or train from scratch with pretrained=False"
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_weights(path: str | os.PathLike) -> dict[str, Tensor]:
    """The state dict in the checkpoint `path`, after checking the sha256 prefix its name carries, if any.

    Loads tensors only: ``torch.load(weights_only=True)`` (never a pickle of code), or safetensors for
    ``.safetensors`` files. A checkpoint that wraps the state dict under ``"state_dict"`` or
    ``"model"`` is unwrapped. Raises ValueError naming the file on a hash mismatch or an unexpected content.
    """
    path = Path(path)
    m = _HASH_IN_NAME.search(path.name)
    if m is not None:
        digest = _sha256(path)
        if not digest.startswith(m.group(1)):
            raise ValueError(
                f"read_weights: {path} is corrupt or not the published file: its name says sha256 "
                f"{m.group(1)}..., its content has sha256 {digest}; download it again"
            )
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, AttributeError) as e:
        # a pickle with code in it, a truncated file, not a checkpoint at all
        raise ValueError(
            f"read_weights: cannot load {path} as tensors only ({type(e).__name__}: {e})"
        ) from None
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise ValueError(f"read_weights: {path} does not hold a state dict (name -> tensor)")
    return obj


def load_pretrained(model: nn.Module, arch: str | Callable[..., nn.Module], weights: Any = None) -> Path:
    """Load the pretrained weights of `arch` into `model` (the full network), strictly; return the file."""
    meta = arch_meta(arch)
    path = find_weights(arch, weights)
    state = read_weights(path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ValueError(
            f"load_pretrained: the weights in {path} do not fit {meta.name}: {str(e).splitlines()[0]} "
            f"({str(e)[:300]})"
        ) from None
    return path


def download_weights(
    arch: str | Callable[..., nn.Module], weights: Any = None, url: str | None = None
) -> Path:
    """Download the pretrained weights of `arch` into torch hub's cache (if not there yet); return the file.

    The only function of plies.vision that downloads. `url` overrides the published location (a
    mirror; the file name, with its sha256 prefix, is taken from it); the prefix is checked by
    torch hub's `download_url_to_file`. timm models are downloaded by timm itself:
    ``timm.create_model(name, pretrained=True)`` fills the Hugging Face cache that `find_weights` reads.
    """
    meta = arch_meta(arch)
    if url is None:
        if meta.family == "timm":
            raise ValueError(
                f"download_weights: {meta.name} is a timm model; fill its cache with "
                f"timm.create_model({meta.name.split('/', 1)[1]!r}, pretrained=True)"
            )
        url = _url_of(meta, weights)
    if url is None:
        raise ValueError(f"download_weights: plies knows no published weights for {meta.name}; pass url=")
    dest = weights_cache_dir() / _file_name(url)
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        m = _HASH_IN_NAME.search(dest.name)
        torch.hub.download_url_to_file(url, str(dest), hash_prefix=m.group(1) if m else None, progress=True)
    return dest
