"""Architectures by name: the registry that lets a vision model be rebuilt from plain data.

Each entry (`ArchMeta`) says how to build the network with random weights, where to cut its body
(`cut`), how to split body and head into parameter groups (`split`), the normalisation statistics
of its pretrained weights (`stats`) and where those weights come from (`url`, a torchvision-style
file name carrying a sha256 prefix). plies.layers' xresnets and torchvision's convolutional
classifiers are registered here; timm models are looked up by name when timm is installed
(``"timm/convnext_tiny"``, or a bare name that is not registered). `model_meta` is fastai's view
of the same table: ``{arch function: {"cut", "split", "stats"}}``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from plies.layers import XRESNETS
from torch import nn

from ._blocks import imagenet_stats

__all__ = [
    "ArchMeta",
    "register_arch",
    "arch_meta",
    "arch_names",
    "model_meta",
    "body_head_split",
    "split_body_at",
]

Stats = tuple[list[float], list[float]]
TIMM_PREFIX = "timm/"


def _params(m: nn.Module) -> list[nn.Parameter]:
    return list(m.parameters())


def _head_params(m: nn.Module) -> list[nn.Parameter]:
    """Parameters of every child of `m` after the first (the body)."""
    return [p for child in list(m)[1:] for p in child.parameters()]


def body_head_split(m: nn.Module) -> list[list[nn.Parameter]]:
    """Two parameter groups: the body ``m[0]`` and everything after it (the head, or a U-Net's decoder)."""
    return [_params(m[0]), _head_params(m)]


def split_body_at(m: nn.Module, at: int | float, nested: bool = False) -> list[list[nn.Parameter]]:
    """Three groups (fastai's splits): body layers before `at`, body layers from `at`, the head.

    `at`: a layer index, or a fraction of the body's layers (0.5: the first half). `nested`: the
    body is ``Sequential(features)`` (VGG, DenseNet...), so the layers are ``m[0][0]``.
    """
    layers = m[0][0] if nested else m[0]
    idx = at if isinstance(at, int) else round(len(layers) * at)
    return [_params(layers[:idx]), _params(layers[idx:]), _head_params(m)]


@dataclass(frozen=True)
class ArchMeta:
    """What plies knows of an architecture: how to build it and cut, split and normalise for it.

    `build()` returns the full classifier with random weights; `fn` is the function users pass
    (``torchvision.models.resnet18``, ``xresnet18``); `cut` where the body ends (an index of the
    model's children or a function of the model; None: before the last child holding a pooling
    layer); `split` the parameter groups of ``Sequential(body, head)``; `stats` the weights'
    normalisation (mean, std); `url` where its default pretrained weights are published (the file
    name carries a sha256 prefix: ``resnet18-f37072fd.pth``), None when plies knows of none;
    `family`: ``"plies"``, ``"torchvision"``, ``"timm"``, ``"user"`` (registered by `register_arch`)
    or ``"unregistered"`` (a function passed as is).
    """

    name: str
    fn: Callable[..., nn.Module] | None
    build: Callable[[], nn.Module]
    cut: int | Callable[[nn.Module], nn.Module] | None = None
    split: Callable[[nn.Module], list[list[nn.Parameter]]] = body_head_split
    stats: Stats | None = imagenet_stats
    url: str | None = None
    family: str = "user"


_ARCHS: dict[str, ArchMeta] = {}
_BY_FN: dict[Any, str] = {}


def register_arch(
    name: str,
    fn: Callable[..., nn.Module],
    cut: int | Callable[[nn.Module], nn.Module] | None = None,
    split: Callable[[nn.Module], list[list[nn.Parameter]]] = body_head_split,
    stats: Stats | None = imagenet_stats,
    url: str | None = None,
    build: Callable[[], nn.Module] | None = None,
    family: str = "user",
) -> ArchMeta:
    """Register an architecture under `name`, so `vision_learner(dls, name)` builds it and exports rebuild it.

    `fn()` (or `build()`) must return the whole network with random weights; see `ArchMeta` for the
    other fields. Registering a taken name raises ValueError unless it is the same function.
    """
    if not isinstance(name, str) or not name or name.startswith(TIMM_PREFIX):
        raise ValueError(
            f"register_arch: name must be a non-empty str not starting with 'timm/', got {name!r}"
        )
    if not callable(fn):
        raise TypeError(f"register_arch: fn of {name!r} must be callable, got {type(fn).__name__}")
    old = _ARCHS.get(name)
    if old is not None and old.fn is not fn:
        raise ValueError(f"register_arch: the name {name!r} is taken by {old.fn!r}")
    meta = ArchMeta(name, fn, build or fn, cut, split, stats, url, family)
    _ARCHS[name] = meta
    _BY_FN.setdefault(fn, name)
    return meta


def arch_names(family: str | None = None) -> list[str]:
    """The registered architecture names (of one `family` when given), sorted."""
    _register_torchvision()
    return sorted(n for n, m in _ARCHS.items() if family is None or m.family == family)


def _timm_meta(model_name: str) -> ArchMeta:
    import timm

    if not timm.is_model(model_name):
        raise KeyError(f"arch_meta: timm has no model named {model_name!r}")
    cfg = timm.models.get_pretrained_cfg(model_name) if timm.models.is_model_pretrained(model_name) else None
    stats = (list(cfg.mean), list(cfg.std)) if cfg is not None else imagenet_stats
    build = functools.partial(timm.create_model, model_name, pretrained=False)
    return ArchMeta(TIMM_PREFIX + model_name, None, build, None, body_head_split, stats, None, "timm")


def _timm_installed() -> bool:
    try:
        import timm  # noqa: F401
    except ImportError:
        return False
    return True


def arch_meta(arch: str | Callable[..., nn.Module]) -> ArchMeta:
    """The `ArchMeta` of an architecture given by name or by function.

    A name is looked up in the registry, then in timm (``"timm/<name>"`` always goes to timm);
    a function that is not registered gets a default entry (family ``"unregistered"``, no name to export):
    called as ``arch(pretrained=...)``, cut before its last pooling child, split body/head.
    """
    _register_torchvision()
    if isinstance(arch, str):
        if arch in _ARCHS:
            return _ARCHS[arch]
        timm_name = arch[len(TIMM_PREFIX) :] if arch.startswith(TIMM_PREFIX) else arch
        if _timm_installed():
            try:
                return _timm_meta(timm_name)
            except KeyError:
                pass
        hint = "" if _timm_installed() else " (timm is not installed: pip install 'plies-vision[timm]')"
        close = [n for n in _ARCHS if n.startswith(arch[:5])][:8]
        raise KeyError(
            f"arch_meta: no architecture named {arch!r}{hint}; registered ones include "
            f"{close or arch_names()[:8]}; see plies.vision.arch_names() or register yours with register_arch"
        )
    if not callable(arch):
        raise TypeError(f"arch_meta: arch must be a name or a model function, got {type(arch).__name__}")
    name = _BY_FN.get(arch)
    if name is not None:
        return _ARCHS[name]
    return ArchMeta(getattr(arch, "__name__", repr(arch)), arch, arch, family="unregistered")


class _ModelMeta(Mapping):
    """fastai's `model_meta`: ``{arch function: {"cut", "split", "stats"}}``, read-only."""

    def __getitem__(self, fn: Any) -> dict[str, Any]:
        _register_torchvision()
        if fn not in _BY_FN:
            raise KeyError(fn)
        m = _ARCHS[_BY_FN[fn]]
        return MappingProxyType({"cut": m.cut, "split": m.split, "stats": m.stats})  # type: ignore[return-value]

    def __iter__(self) -> Any:
        _register_torchvision()
        return iter(list(_BY_FN))

    def __len__(self) -> int:
        _register_torchvision()
        return len(_BY_FN)


model_meta: Mapping[Any, Any] = _ModelMeta()
"""fastai's table of architectures (function -> cut, split, stats); add entries with `register_arch`."""


# ---------------------------------------------------------------- plies.layers: xresnets
for _name, _fn in XRESNETS.items():
    # fastai: the body ends before pool/flatten/dropout/linear; the stem is the first group
    register_arch(_name, _fn, cut=-4, split=functools.partial(split_body_at, at=3), family="plies")


# ---------------------------------------------------------------- torchvision's CNN classifiers
def _tv_families() -> list[tuple[list[str], int, Callable[..., Any]]]:
    resnets = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    resnets += [
        "resnext50_32x4d",
        "resnext101_32x8d",
        "resnext101_64x4d",
        "wide_resnet50_2",
        "wide_resnet101_2",
    ]
    vggs = [f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")]
    densenets = ["densenet121", "densenet161", "densenet169", "densenet201"]
    effnets = [f"efficientnet_b{i}" for i in range(8)] + [f"efficientnet_v2_{s}" for s in "sml"]
    # the larger RegNets compute their widths with tensors, which cannot be built on the meta device
    # (nor cheaply in a test): the four smaller sizes of each kind are registered
    regnets = [f"regnet_{k}_{s}" for k in "xy" for s in ("400mf", "800mf", "1_6gf", "3_2gf")]
    return [
        (resnets, -2, functools.partial(split_body_at, at=6)),
        (densenets, -1, functools.partial(split_body_at, at=7, nested=True)),
        # fastai splits vgg16_bn's 44 feature layers at 22: half of each VGG's feature layers
        (vggs, -2, functools.partial(split_body_at, at=0.5, nested=True)),
        (["squeezenet1_0", "squeezenet1_1"], -1, functools.partial(split_body_at, at=5, nested=True)),
        (["alexnet"], -2, functools.partial(split_body_at, at=6, nested=True)),
        (["mobilenet_v2"], -1, body_head_split),
        (["mobilenet_v3_small", "mobilenet_v3_large"], -2, body_head_split),
        (effnets, -2, body_head_split),
        (["convnext_tiny", "convnext_small", "convnext_base", "convnext_large"], -2, body_head_split),
        (regnets, -2, body_head_split),
        ([f"shufflenet_v2_x{s}" for s in ("0_5", "1_0", "1_5", "2_0")], -1, body_head_split),
        ([f"mnasnet{s}" for s in ("0_5", "0_75", "1_0", "1_3")], -1, body_head_split),
        # Swin: features, norm, permute (NHWC -> NCHW), then pool/flatten/head
        (["swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b"], -3, body_head_split),
    ]  # fmt: skip


_TORCHVISION_DONE: list[bool] = []


def _register_torchvision() -> None:
    """Register torchvision's classifiers, once, on first use (importing torchvision.models takes seconds)."""
    if _TORCHVISION_DONE:
        return
    _TORCHVISION_DONE.append(True)
    import torchvision.models as tvm

    for names, cut, split in _tv_families():
        for name in names:
            fn = getattr(tvm, name)
            weights = tvm.get_model_weights(name).DEFAULT
            build = functools.partial(fn, weights=None)
            register_arch(name, fn, cut, split, url=weights.url, build=build, family="torchvision")
