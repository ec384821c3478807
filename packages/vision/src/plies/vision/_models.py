"""`create_vision_model` (body + classifier head) and `create_unet_model` (DynamicUnet around a body).

Both take the architecture as a name or a function (see `_archs.py`), load its pretrained weights
from a local file when asked (`_pretrained.py`), cut its body, adapt the first convolution to `n_in`
channels, and return a model whose `build_spec` names the architecture by NAME with plain arguments
and ``pretrained=False``: `load_learner` rebuilds the network in another process without weights
files (the export holds the trained weights) and without pickle.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from plies.layers import DynamicUnet, NormType, apply_init, create_body, create_head, num_features_model
from plies.typecore import register_builder
from torch import Tensor, nn

from ._archs import ArchMeta, arch_meta
from ._pretrained import load_pretrained

__all__ = ["create_vision_model", "create_unet_model", "TimmBody"]

Arch = str | Callable[..., nn.Module]


class TimmBody(nn.Module):
    """The feature extractor of a timm model: ``forward_features`` (maps before pooling).

    Models without a spatial feature map (``pretrained_cfg['pool_size']`` unset: ViTs...) use their
    own pooled output (the model built with no classifier), and the head then does not pool.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.needs_pool = getattr(model, "pretrained_cfg", {}).get("pool_size") is not None

    def forward(self, x: Tensor) -> Tensor:
        return self.model.forward_features(x) if self.needs_pool else self.model(x)


def _whole_model(m: nn.Module) -> nn.Module:
    return m


def _network(meta: ArchMeta, pretrained: bool, weights: Any) -> nn.Module:
    """The full network of `meta`, with its pretrained weights loaded strictly when `pretrained`."""
    unregistered = meta.family == "unregistered"  # a function called as arch(pretrained=...), as fastai
    if unregistered and weights is None:
        return meta.build(pretrained=pretrained)  # type: ignore[call-arg]  # its own weights mechanism
    model = meta.build(pretrained=False) if unregistered else meta.build()  # type: ignore[call-arg]
    if pretrained:
        load_pretrained(model, meta.fn if unregistered else meta.name, weights)
    return model


def _body(meta: ArchMeta, pretrained: bool, weights: Any, cut: Any, n_in: int) -> nn.Module:
    model = _network(meta, pretrained, weights)
    if meta.family == "timm":
        if cut is not None:
            raise ValueError(f"cut: timm models are cut at forward_features; {meta.name} takes no cut=")
        model.reset_classifier(0)
        return TimmBody(create_body(model, n_in, pretrained, cut=_whole_model))
    return create_body(model, n_in, pretrained, cut if cut is not None else meta.cut)


def _plain_arch(arch: Arch) -> tuple[ArchMeta, Arch]:
    """The arch's meta and what the build spec records: its registered (or timm) NAME when it has one."""
    meta = arch_meta(arch)
    return meta, (meta.name if meta.family != "unregistered" else arch)


def _plain_weights(weights: Any) -> Any:
    """Weights as plain data: a torchvision weights entry by name, a path as a string."""
    if weights is None or isinstance(weights, str):
        return weights
    if hasattr(weights, "url") and hasattr(weights, "name"):
        return weights.name
    if hasattr(weights, "__fspath__"):
        return str(weights)
    raise TypeError(
        f"weights: expected a path, a torchvision weights entry or its name, or None; "
        f"found {type(weights).__name__}"
    )


def _given(fn: Callable[..., Any], values: dict[str, Any]) -> dict[str, Any]:
    """The arguments among `values` that differ from `fn`'s defaults (so the build spec records only them)."""
    out = {}
    for name, p in inspect.signature(fn).parameters.items():
        v = values[name]
        d = p.default
        if d is p.empty or not (
            v is d or (type(v) is type(d) and isinstance(v, (int, float, str)) and v == d)
        ):
            out[name] = v
    return out


def _weights_free_spec(model: nn.Module) -> nn.Module:
    """Record ``pretrained=False`` and no `weights` in the spec: a rebuild takes the exported weights."""
    spec = getattr(model, "build_spec", None)
    if isinstance(spec, dict):
        spec["kwargs"].pop("weights", None)
        spec["kwargs"]["pretrained"] = False
    return model


@register_builder(name="plies.vision.create_vision_model")
def _vision_model(
    arch: Arch,
    n_out: int,
    pretrained: bool = True,
    weights: Any = None,
    cut: int | Callable[[nn.Module], nn.Module] | None = None,
    n_in: int = 3,
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
) -> nn.Module:
    meta = arch_meta(arch)
    body = _body(meta, pretrained, weights, cut, n_in)
    if custom_head is None:
        if isinstance(body, TimmBody):
            nf, pool = int(body.model.num_features), pool and body.needs_pool
        else:
            nf = num_features_model(body)
        custom_head = create_head(
            nf, n_out, lin_ftrs, ps, pool, concat_pool, first_bn, bn_final, lin_first, y_range
        )
    model = nn.Sequential(body, custom_head)
    if init is not None:
        apply_init(model[1], init)
    return model


def create_vision_model(
    arch: Arch,
    n_out: int,
    pretrained: bool = True,
    weights: Any = None,
    cut: int | Callable[[nn.Module], nn.Module] | None = None,
    n_in: int = 3,
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
) -> nn.Sequential:
    """A classifier ``Sequential(body, head)`` for `n_out` classes from the architecture `arch`.

    `arch`: a registered name (``"resnet34"``, ``"xresnet18"``, see `arch_names`), a timm name
    (``"timm/convnext_tiny"``) or a function (``torchvision.models.resnet34``, ``xresnet18``; an
    unregistered one is called as ``arch(pretrained=...)``). `pretrained` loads the weights from a
    local file (`find_weights`: `weights` a path, a torchvision weights entry or name, or None for
    the default ones). The body is cut at `cut` (the arch's own cut by default) and its first conv
    adapted to `n_in` channels; the head is `create_head` with the other arguments (`custom_head`
    replaces it) and is initialised with `init`. The model's `build_spec` records the arch by name
    (pickle-free export) with ``pretrained=False``; an unregistered arch function, a `cut` function
    or a custom `init` leave the model without one (export then saves the weights only).
    """
    meta, plain = _plain_arch(arch)
    args = _given(create_vision_model, dict(locals(), arch=plain, weights=_plain_weights(weights)))
    return _weights_free_spec(_vision_model(**args))


@register_builder(name="plies.vision.create_unet_model")
def _unet_model(
    arch: Arch,
    n_out: int,
    img_size: Sequence[int],
    pretrained: bool = True,
    weights: Any = None,
    cut: int | Callable[[nn.Module], nn.Module] | None = None,
    n_in: int = 3,
    blur: bool = False,
    blur_final: bool = True,
    self_attention: bool = False,
    y_range: tuple[float, float] | None = None,
    last_cross: bool = True,
    bottle: bool = False,
    act_cls: type[nn.Module] = nn.ReLU,
    init: Callable[[Tensor], Any] = nn.init.kaiming_normal_,
    norm_type: NormType | None = None,
) -> DynamicUnet:
    meta = arch_meta(arch)
    if meta.family == "timm":
        raise ValueError(
            f"create_unet_model: {meta.name} is a timm model; a U-Net needs an encoder whose children "
            f"downsample one after another: use a torchvision or plies arch (resnet34, xresnet34...)"
        )
    body = _body(meta, pretrained, weights, cut, n_in)
    return DynamicUnet(
        body,
        n_out,
        tuple(img_size),
        blur=blur,
        blur_final=blur_final,
        self_attention=self_attention,
        y_range=y_range,
        last_cross=last_cross,
        bottle=bottle,
        act_cls=act_cls,
        init=init,
        norm_type=norm_type,
    )


def create_unet_model(
    arch: Arch,
    n_out: int,
    img_size: Sequence[int],
    pretrained: bool = True,
    weights: Any = None,
    cut: int | Callable[[nn.Module], nn.Module] | None = None,
    n_in: int = 3,
    blur: bool = False,
    blur_final: bool = True,
    self_attention: bool = False,
    y_range: tuple[float, float] | None = None,
    last_cross: bool = True,
    bottle: bool = False,
    act_cls: type[nn.Module] = nn.ReLU,
    init: Callable[[Tensor], Any] = nn.init.kaiming_normal_,
    norm_type: NormType | None = None,
) -> DynamicUnet:
    """A `DynamicUnet` for `n_out` classes per pixel on images of `img_size` (height, width), around the
    body of `arch` (as in `create_vision_model`: name or function, local pretrained weights, `cut`,
    `n_in`). The other arguments are DynamicUnet's. The `build_spec` records the arch by name with
    ``pretrained=False``, so exports rebuild it without pickle.
    """
    meta, plain = _plain_arch(arch)
    values = dict(locals(), arch=plain, weights=_plain_weights(weights))
    values["img_size"] = [int(s) for s in img_size]
    args = _given(create_unet_model, values)
    return _weights_free_spec(_unet_model(**args))
