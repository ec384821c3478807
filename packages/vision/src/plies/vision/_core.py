"""Images as items: `PILImage`, `PILImageBW`, `PILMask` (Pillow images that know their tensor type).

`PILImage.create(x)` opens a path, bytes, a numpy array, a tensor or a PIL image, applies the
EXIF orientation and converts to the class's mode (RGB, L). `ToTensor` turns them into
`TensorImage` / `TensorImageBW` (C, H, W uint8) and `TensorMask` (H, W int64).
A file that cannot be read raises an `OSError` naming it (the data pipeline adds the item index);
`verify_images` lists the unreadable files of a folder ahead of training.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from plies.loaders import ToTensor
from plies.pipes import register_transform
from plies.typecore import L, TensorImage, TensorImageBW, TensorMask
from torch import Tensor

__all__ = [
    "PILBase",
    "PILImage",
    "PILImageBW",
    "PILMask",
    "load_image",
    "image2tensor",
    "to_image",
    "verify_image",
    "verify_images",
]


def load_image(fn: Any, mode: str | None = None) -> Image.Image:
    """Open `fn` (path or bytes) with Pillow, apply its EXIF orientation, convert to `mode`; load the pixels.

    Raises OSError naming the file when it is missing, truncated or not an image.
    """
    src = io.BytesIO(fn) if isinstance(fn, (bytes, bytearray)) else fn
    name = "<bytes>" if isinstance(fn, (bytes, bytearray)) else os.fspath(fn)
    try:
        with Image.open(src) as im:
            im = ImageOps.exif_transpose(im) or im
            im = im.convert(mode) if mode is not None and im.mode != mode else im.copy()
            im.load()
    except FileNotFoundError:
        raise FileNotFoundError(f"load_image: no such file: {name}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise OSError(f"load_image: cannot read {name} as an image ({type(e).__name__}: {e})") from None
    return im


def image2tensor(img: Any) -> Tensor:
    """A PIL image or HWC array as a CHW uint8 (or original dtype) tensor (greyscale gets C=1)."""
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
    return torch.from_numpy(chw if chw.flags.writeable else chw.copy())  # PIL's buffer is read-only


def to_image(x: Any) -> Image.Image:
    """A PIL image from a CHW/HW tensor or an HWC/HW array (floats in [0, 1] are scaled to bytes)."""
    if isinstance(x, Image.Image):
        return x
    if isinstance(x, Tensor):
        t = x.detach().cpu().as_subclass(Tensor)
        if t.ndim == 3:
            t = t.permute(1, 2, 0)
        x = t.numpy()
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        arr = (np.clip(arr, 0, 1) * 255).round().astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = arr.astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return Image.fromarray(arr)


class _stable_classmethod(classmethod):
    """A classmethod whose bound method is one object per class at every access.

    `PILImage.create` is a transform of the data pipeline, and export finds registered transforms
    by identity: a plain classmethod makes a new bound method at each attribute access.
    """

    def __init__(self, f: Any) -> None:
        super().__init__(f)
        self._bound: dict[type, Any] = {}

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        cls = type(obj) if cls is None else cls
        bound = self._bound.get(cls)
        if bound is None:
            bound = self._bound[cls] = super().__get__(obj, cls)
        return bound


class PILBase(Image.Image):
    """A Pillow image that knows its mode and tensor type; `create` opens anything image-like."""

    _open_mode: ClassVar[str | None] = "RGB"
    _tensor_cls: ClassVar[type] = TensorImage

    @_stable_classmethod
    def create(
        cls, fn: str | os.PathLike | bytes | bytearray | Image.Image | np.ndarray | Tensor, **kwargs: Any
    ) -> Any:
        """Open a path / bytes, or wrap a PIL image, numpy array or tensor, as this class (mode converted).

        The annotation is what the data pipeline dispatches on: `predict` and `test_dl` take any of
        these types (a path, a PIL image, an array) through this step.
        """
        if isinstance(fn, (str, os.PathLike, bytes, bytearray)):
            im = load_image(fn, cls._open_mode)
        elif isinstance(fn, (Image.Image, np.ndarray, Tensor)):
            im = to_image(fn)
            if cls._open_mode is not None and im.mode != cls._open_mode:
                im = im.convert(cls._open_mode)
            elif im is fn:
                im = im.copy()
        else:
            raise TypeError(
                f"{cls.__name__}.create: expected a path, bytes, PIL image, numpy array or tensor, "
                f"found {type(fn).__name__}"
            )
        im.__class__ = cls
        return im

    def show(self, ctx: Any = None, **kwargs: Any) -> Any:
        """Draw the image on `ctx` (a matplotlib Axes; a new one when None)."""
        from plies.loaders import show_image

        return show_image(self, ctx=ctx, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__} mode={self.mode} size={self.size[0]}x{self.size[1]}"


class PILImage(PILBase):
    """An RGB image item (to `TensorImage`)."""


class PILImageBW(PILImage):
    """A greyscale image item (mode L, to `TensorImageBW`); shown with the 'Greys' colour map."""

    _open_mode = "L"
    _tensor_cls = TensorImageBW

    def show(self, ctx: Any = None, **kwargs: Any) -> Any:
        """Draw the image on `ctx` with the 'Greys' colour map (as a `TensorImageBW` draws)."""
        return super().show(ctx=ctx, **{"cmap": "Greys", **kwargs})


class PILMask(PILBase):
    """A segmentation mask item: mode L, one class index per pixel (to `TensorMask`, H x W int64)."""

    _open_mode = "L"
    _tensor_cls = TensorMask

    def show(self, ctx: Any = None, **kwargs: Any) -> Any:
        """Draw the mask with a qualitative colour map over `ctx` (alpha 0.5 when drawn on an image)."""
        from plies.loaders import show_image

        kwargs = {"cmap": "tab20", "alpha": 0.5, **kwargs}
        return show_image(self, ctx=ctx, **kwargs)


# opening an image is a type transform of the data pipeline: export records it by name
for _cls in (PILImage, PILImageBW, PILMask):
    register_transform(_cls.create, name=f"plies.vision.{_cls.__name__}.create")


@ToTensor
def encodes(self: ToTensor, o: PILBase) -> Any:  # noqa: F811 - adds an implementation to ToTensor
    return type(o)._tensor_cls(image2tensor(o))


@ToTensor
def encodes(self: ToTensor, o: PILMask) -> Any:  # noqa: F811
    return TensorMask(image2tensor(o)[0].long())


def verify_image(fn: Any) -> bool:
    """Whether `fn` opens and decodes as an image."""
    try:
        load_image(fn)
    except OSError:
        return False
    return True


def verify_images(fns: Iterable[Any]) -> L:
    """The files among `fns` that cannot be read as images (fastai's `verify_images`)."""
    return L(Path(f) for f in fns if not verify_image(f))
