"""`vision_learner` (alias `cnn_learner`) and `unet_learner`: a Learner for images in one call.

As fastai: the architecture by name or function, `n_out` from the data (`dls.c`), `n_in` from
the data's channels, the body frozen when pretrained (BatchNorm layers still train: `train_bn`),
a body/head splitter from the arch's entry, and, when pretrained, the weights' normalisation
statistics added to the data (`Normalize.from_stats`) unless a `Normalize` is already there.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from plies.layers import NormType
from plies.learner import Callback, Learner
from plies.loaders import Normalize
from plies.optim import Adam
from torch import Tensor, nn

from ._archs import ArchMeta, arch_meta
from ._models import Arch, create_unet_model, create_vision_model

__all__ = ["vision_learner", "cnn_learner", "unet_learner"]


def _pretrained_args(pretrained: Any, weights: Any, who: str) -> tuple[bool, Any]:
    """`pretrained` may name the weights file itself (``pretrained="resnet34.pth"``)."""
    if isinstance(pretrained, (str, os.PathLike)):
        if weights is not None:
            raise ValueError(f"{who}: pass the weights file as pretrained= or as weights=, not both")
        return True, pretrained
    if not isinstance(pretrained, bool):
        raise TypeError(f"{who}: pretrained must be a bool or a path, found {type(pretrained).__name__}")
    return pretrained, weights


def _first_input(dls: Any, who: str) -> Tensor:
    b = dls.one_batch()
    x = b[0] if isinstance(b, (tuple, list)) else b
    if not isinstance(x, Tensor) or x.ndim != 4:
        found = f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(f"{who}: expected batches of images (batch, channels, height, width), found {found}")
    return x


def _n_out(dls: Any, n_out: int | None, who: str) -> int:
    if n_out is not None:
        return n_out
    try:
        return int(dls.c)
    except AttributeError:
        pass
    # fastai's get_c: an item or batch transform that knows it (the mask codes of MaskBlock)
    for pipe in (dls.train.after_item, dls.train.after_batch):
        c = next((f.c for f in pipe.fs if getattr(f, "c", None) is not None), None)
        if c is not None:
            return int(c)
    raise ValueError(
        f"{who}: n_out not given and the data does not say how many outputs it needs (no vocab, no "
        f"mask codes, no c); pass n_out="
    )


def _stats(meta: ArchMeta, weights: Any) -> Any:
    """Normalisation statistics of the weights: a torchvision weights entry's own, else the arch's."""
    transforms = getattr(weights, "transforms", None)
    if callable(transforms):
        t = transforms()
        if hasattr(t, "mean") and hasattr(t, "std"):
            return list(t.mean), list(t.std)
    return meta.stats


def _add_norm(dls: Any, stats: Any, n_in: int, who: str) -> None:
    """fastai's `_add_norm`: the pretrained weights' statistics, unless the data normalises already."""
    if stats is None:
        return
    loaders = list(getattr(dls, "loaders", [dls.train, dls.valid]))
    if any(isinstance(f, Normalize) for dl in loaders for f in dl.after_batch.fs):
        return
    if len(stats[0]) != n_in:
        warnings.warn(
            f"{who}: the pretrained weights were normalised with {len(stats[0])}-channel statistics and the "
            f"images have {n_in} channels, so no Normalize is added; add one to batch_tfms "
            f"(Normalize.from_stats(mean, std)) with statistics for your channels",
            stacklevel=3,
        )
        return
    dls.add_tfms([Normalize.from_stats(*stats)], "after_batch")


def _learner(
    dls: Any,
    model: nn.Module,
    meta: ArchMeta,
    pretrained: bool,
    splitter: Callable[[nn.Module], Any] | None,
    channels_last: bool,
    bf16: bool,
    **kwargs: Any,
) -> Learner:
    learn = Learner(dls, model, splitter=splitter if splitter is not None else meta.split, **kwargs)
    if pretrained:
        learn.freeze()
    if channels_last:
        learn.to_channelslast(use_amp=False)
    if bf16:
        learn.to_bf16()
    return learn


def vision_learner(
    dls: Any,
    arch: Arch,
    normalize: bool = True,
    n_out: int | None = None,
    pretrained: bool | str | os.PathLike = True,
    weights: Any = None,
    loss_func: Callable[..., Tensor] | None = None,
    opt_func: Callable[..., Any] = Adam,
    lr: float | slice = 1e-3,
    splitter: Callable[[nn.Module], Any] | None = None,
    cbs: Callback | Sequence[Callback] | None = None,
    metrics: Any = None,
    path: str | Path | None = None,
    model_dir: str | Path = "models",
    wd: float | None = None,
    wd_bn_bias: bool = False,
    train_bn: bool = True,
    moms: tuple[float, ...] = (0.95, 0.85, 0.95),
    cut: int | Callable[[nn.Module], nn.Module] | None = None,
    init: Callable[[Tensor], Any] | None = nn.init.kaiming_normal_,
    custom_head: nn.Module | None = None,
    concat_pool: bool = True,
    pool: bool = True,
    lin_ftrs: Sequence[int] | None = None,
    ps: float | Sequence[float] = 0.5,
    first_bn: bool = True,
    bn_final: bool = False,
    lin_first: bool = False,
    y_range: tuple[float, float] | None = None,
    n_in: int | None = None,
    channels_last: bool = False,
    bf16: bool = False,
) -> Learner:
    """A `Learner` for image classification (or regression) with a pretrained-style body and a new head.

    `arch`: a name (``"resnet34"``, ``"xresnet18"``, ``"timm/convnext_tiny"``) or a function
    (``torchvision.models.resnet34``, ``xresnet18``). `n_out` defaults to ``dls.c``, `n_in` to the
    channels of the data's images. `pretrained` (True, or the path of a weights file) loads local
    weights (`find_weights`; `weights` picks a file, a torchvision weights entry or its name), adds
    their `Normalize` to the data when `normalize` and none is there, and freezes the body
    (`fine_tune` unfreezes it; BatchNorm layers train while frozen when `train_bn`). The model
    arguments are `create_vision_model`'s, the others `Learner`'s. `channels_last` and `bf16` call
    ``learn.to_channelslast()`` and ``learn.to_bf16()``: they speed up training on recent GPUs; on a
    CPU with bfloat16 instructions (avx512_bf16, AMX) `bf16` helps too.
    """
    who = "vision_learner"
    pretrained, weights = _pretrained_args(pretrained, weights, who)
    meta = arch_meta(arch)
    n_out = _n_out(dls, n_out, who)
    if n_in is None:
        n_in = int(_first_input(dls, who).shape[1])
    model = create_vision_model(
        arch, n_out, pretrained=pretrained, weights=weights, cut=cut, n_in=n_in, init=init,
        custom_head=custom_head, concat_pool=concat_pool, pool=pool, lin_ftrs=lin_ftrs, ps=ps,
        first_bn=first_bn, bn_final=bn_final, lin_first=lin_first, y_range=y_range,
    )  # fmt: skip
    if normalize and pretrained:
        _add_norm(dls, _stats(meta, weights), n_in, who)
    return _learner(
        dls, model, meta, pretrained, splitter, channels_last, bf16,
        loss_func=loss_func, opt_func=opt_func, lr=lr, cbs=cbs, metrics=metrics, path=path,
        model_dir=model_dir, wd=wd, wd_bn_bias=wd_bn_bias, train_bn=train_bn, moms=moms,
    )  # fmt: skip


cnn_learner = vision_learner
"""fastai's former name of `vision_learner` (the same function)."""


def unet_learner(
    dls: Any,
    arch: Arch,
    normalize: bool = True,
    n_out: int | None = None,
    pretrained: bool | str | os.PathLike = True,
    weights: Any = None,
    loss_func: Callable[..., Tensor] | None = None,
    opt_func: Callable[..., Any] = Adam,
    lr: float | slice = 1e-3,
    splitter: Callable[[nn.Module], Any] | None = None,
    cbs: Callback | Sequence[Callback] | None = None,
    metrics: Any = None,
    path: str | Path | None = None,
    model_dir: str | Path = "models",
    wd: float | None = None,
    wd_bn_bias: bool = False,
    train_bn: bool = True,
    moms: tuple[float, ...] = (0.95, 0.85, 0.95),
    cut: int | Callable[[nn.Module], nn.Module] | None = None,
    n_in: int | None = None,
    img_size: Sequence[int] | None = None,
    blur: bool = False,
    blur_final: bool = True,
    self_attention: bool = False,
    y_range: tuple[float, float] | None = None,
    last_cross: bool = True,
    bottle: bool = False,
    act_cls: type[nn.Module] = nn.ReLU,
    init: Callable[[Tensor], Any] = nn.init.kaiming_normal_,
    norm_type: NormType | None = None,
    channels_last: bool = False,
    bf16: bool = False,
) -> Learner:
    """A `Learner` for segmentation: a `DynamicUnet` around the body of `arch`.

    `n_out` defaults to ``dls.c`` (the number of mask codes), `n_in` and `img_size` to the channels
    and size of the data's images. Pretrained weights, normalisation, freezing, `channels_last` and
    `bf16` as in `vision_learner`; the U-Net arguments are `create_unet_model`'s. The default loss
    for mask targets is ``CrossEntropyLossFlat(axis=1)``.
    """
    who = "unet_learner"
    pretrained, weights = _pretrained_args(pretrained, weights, who)
    meta = arch_meta(arch)
    n_out = _n_out(dls, n_out, who)
    if n_in is None or img_size is None:
        x = _first_input(dls, who)
        n_in = int(x.shape[1]) if n_in is None else n_in
        img_size = tuple(int(s) for s in x.shape[-2:]) if img_size is None else img_size
    model = create_unet_model(
        arch, n_out, img_size, pretrained=pretrained, weights=weights, cut=cut, n_in=n_in, blur=blur,
        blur_final=blur_final, self_attention=self_attention, y_range=y_range, last_cross=last_cross,
        bottle=bottle, act_cls=act_cls, init=init, norm_type=norm_type,
    )  # fmt: skip
    if normalize and pretrained:
        _add_norm(dls, _stats(meta, weights), n_in, who)
    return _learner(
        dls, model, meta, pretrained, splitter, channels_last, bf16,
        loss_func=loss_func, opt_func=opt_func, lr=lr, cbs=cbs, metrics=metrics, path=path,
        model_dir=model_dir, wd=wd, wd_bn_bias=wd_bn_bias, train_bn=train_bn, moms=moms,
    )  # fmt: skip
