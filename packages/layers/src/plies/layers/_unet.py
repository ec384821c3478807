"""DynamicUnet: a U-Net built around any encoder, with cross connections found by a dummy forward pass."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from plies.typecore import register_builder
from torch import nn

from ._activations import SigmoidRange
from ._blocks import MergeLayer, PixelShuffle_ICNR, ResBlock, SelfAttention, SequentialEx
from ._conv import BatchNorm, ConvLayer, NormType
from ._hooks import Hook, Hooks, dummy_eval, hook_outputs, in_channels, model_sizes
from ._init import apply_init
from ._module import Module, ToTensorBase

__all__ = ["DynamicUnet", "UnetBlock", "ResizeToOrig"]


def _size_change_idxs(sizes: Sequence[torch.Size]) -> list[int]:
    """Indices of the layers after which the spatial size changes (the outputs to cross-connect)."""
    return [i for i in range(len(sizes) - 1) if sizes[i][-1] != sizes[i + 1][-1]]


class UnetBlock(Module):
    """One decoder step: upsample the incoming features, concatenate the hooked encoder features, two convs.

    When the upsampled size differs from the encoder features (odd input sizes), it is resized to match.
    """

    def __init__(
        self,
        up_in_c: int,
        x_in_c: int,
        hook: Hook,
        final_div: bool = True,
        blur: bool = False,
        act_cls: type[nn.Module] = nn.ReLU,
        self_attention: bool = False,
        init: Callable[[torch.Tensor], Any] = nn.init.kaiming_normal_,
        norm_type: NormType | None = None,
        **kwargs: Any,
    ) -> None:
        self.hook = hook
        self.shuf = PixelShuffle_ICNR(up_in_c, up_in_c // 2, blur=blur, act_cls=act_cls, norm_type=norm_type)
        self.bn = BatchNorm(x_in_c)
        ni = up_in_c // 2 + x_in_c
        nf = ni if final_div else ni // 2
        self.conv1 = ConvLayer(ni, nf, act_cls=act_cls, norm_type=norm_type, **kwargs)
        self.conv2 = ConvLayer(
            nf,
            nf,
            act_cls=act_cls,
            norm_type=norm_type,
            xtra=SelfAttention(nf) if self_attention else None,
            **kwargs,
        )
        self.relu = act_cls()
        apply_init(nn.Sequential(self.conv1, self.conv2), init)

    def forward(self, up_in: torch.Tensor) -> torch.Tensor:
        s = self.hook.stored
        self.hook.stored = None  # hold no activation between calls (keeps the model deep-copyable)
        if s is None:
            raise RuntimeError(
                "UnetBlock: no stored encoder features; call the DynamicUnet, not a block alone"
            )
        up_out = self.shuf(up_in)
        if s.shape[-2:] != up_out.shape[-2:]:
            up_out = F.interpolate(up_out, s.shape[-2:], mode="nearest")
        cat_x = self.relu(torch.cat([up_out, self.bn(s)], dim=1))
        return self.conv2(self.conv1(cat_x))


class ResizeToOrig(Module):
    """Resize `x` to the spatial size of the block input `x.orig` (inside a `SequentialEx`)."""

    def __init__(self, mode: str = "nearest") -> None:
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        orig = x.orig  # type: ignore[attr-defined]
        if orig.shape[-2:] != x.shape[-2:]:
            x = F.interpolate(x, orig.shape[-2:], mode=self.mode)
        return x


class DynamicUnet(SequentialEx):
    """A U-Net around `encoder` (a body such as `create_body(xresnet34())`) for inputs of `img_size`.

    A dummy pass finds the encoder layers after which the spatial size changes; their outputs are
    hooked and fed to `UnetBlock`s (PixelShuffle_ICNR upsampling, optional `blur` — `blur_final` for
    the last one — and `self_attention` in the third block from the end). The output has the input's
    spatial size, odd sizes included. `last_cross` concatenates the input and adds a ResBlock
    (`bottle` halves its width); `y_range` adds a SigmoidRange. Index 0 is the encoder.
    """

    def __init__(
        self,
        encoder: nn.Module,
        n_out: int,
        img_size: Sequence[int],
        blur: bool = False,
        blur_final: bool = True,
        self_attention: bool = False,
        y_range: tuple[float, float] | None = None,
        last_cross: bool = True,
        bottle: bool = False,
        act_cls: type[nn.Module] = nn.ReLU,
        init: Callable[[torch.Tensor], Any] = nn.init.kaiming_normal_,
        norm_type: NormType | None = None,
        **kwargs: Any,
    ) -> None:
        img_size = tuple(img_size)
        if len(img_size) != 2:
            raise ValueError(f"DynamicUnet: img_size must be (height, width), got {img_size!r}")
        children = list(encoder.children())
        sizes = model_sizes(encoder, size=img_size)
        idxs = list(reversed(_size_change_idxs(sizes)))
        if not idxs:
            raise ValueError(
                f"DynamicUnet: the encoder never changes the spatial size of a {img_size} input; "
                f"it needs downsampling layers as direct children"
            )
        self.sfs: Hooks = hook_outputs([children[i] for i in idxs], detach=False)
        x = dummy_eval(encoder, img_size).detach()
        ni = sizes[-1][1]
        middle_conv = nn.Sequential(
            ConvLayer(ni, ni * 2, act_cls=act_cls, norm_type=norm_type, **kwargs),
            ConvLayer(ni * 2, ni, act_cls=act_cls, norm_type=norm_type, **kwargs),
        ).eval()
        with torch.no_grad():
            x = middle_conv(x)
        layers: list[nn.Module] = [encoder, BatchNorm(ni), nn.ReLU(), middle_conv]
        for i, idx in enumerate(idxs):
            not_final = i != len(idxs) - 1
            up_in_c, x_in_c = int(x.shape[1]), int(sizes[idx][1])
            block = UnetBlock(
                up_in_c,
                x_in_c,
                self.sfs[i],
                final_div=not_final,
                blur=blur and (not_final or blur_final),
                self_attention=self_attention and i == len(idxs) - 3,
                act_cls=act_cls,
                init=init,
                norm_type=norm_type,
                **kwargs,
            ).eval()
            layers.append(block)
            with torch.no_grad():
                x = block(x)
        ni = int(x.shape[1])
        if img_size != tuple(sizes[0][-2:]):
            layers.append(PixelShuffle_ICNR(ni, act_cls=act_cls, norm_type=norm_type))
        layers.append(ResizeToOrig())
        if last_cross:
            layers.append(MergeLayer(dense=True))
            ni += in_channels(encoder)
            nf = ni // 2 if bottle else ni
            layers.append(ResBlock(1, ni, nf, act_cls=act_cls, norm_type=norm_type, **kwargs))
            ni = nf
        layers.append(ConvLayer(ni, n_out, ks=1, act_cls=None, norm_type=norm_type, **kwargs))
        apply_init(nn.Sequential(layers[3], layers[-2]), init)
        if y_range is not None:
            layers.append(SigmoidRange(*y_range))
        layers.append(ToTensorBase())
        super().__init__(*layers)
        self.train()
        spec = _unet_spec(
            encoder=encoder,
            n_out=n_out,
            img_size=img_size,
            blur=blur,
            blur_final=blur_final,
            self_attention=self_attention,
            y_range=y_range,
            last_cross=last_cross,
            bottle=bottle,
            act_cls=act_cls,
            init=init,
            norm_type=norm_type,
            **kwargs,
        )
        if spec is not None:
            self.build_spec = spec

    def __del__(self) -> None:
        sfs = self.__dict__.get("sfs")
        if sfs is not None:
            sfs.remove()


_UNET_DEFAULTS = {
    k: p.default
    for k, p in inspect.signature(DynamicUnet.__init__).parameters.items()
    if p.default is not p.empty
}


@register_builder
def _dynamic_unet_arguments(**kwargs: Any) -> nn.Module:
    """Stand-in builder: its `build_spec` records DynamicUnet arguments as plain data (typecore rules)."""
    return nn.Identity()


@register_builder
def _rebuild_dynamic_unet(**kwargs: Any) -> DynamicUnet:
    """Rebuild a DynamicUnet from the arguments in its `build_spec` (the builder its spec names)."""
    return DynamicUnet(**kwargs)


def _unet_spec(**kwargs: Any) -> dict | None:
    """The build spec of a DynamicUnet, or None when an argument (the encoder...) is not plain data."""
    passed = {k: v for k, v in kwargs.items() if k not in _UNET_DEFAULTS or v is not _UNET_DEFAULTS[k]}
    if isinstance(passed.get("img_size"), tuple):
        passed["img_size"] = list(passed["img_size"])
    spec = getattr(_dynamic_unet_arguments(**passed), "build_spec", None)
    if spec is None:
        return None
    return {**spec, "builder": _rebuild_dynamic_unet.__module__ + "." + _rebuild_dynamic_unet.__qualname__}
