"""Item transforms of the vision blocks: mask codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plies.pipes import DisplayedTransform, register_transform
from plies.typecore import TensorMask

from ._core import PILMask

__all__ = ["AddMaskCodes"]


@register_transform
class AddMaskCodes(DisplayedTransform):
    """Attach the class names `codes` to masks (metadata `codes`), so they show with a legend and decode."""

    order = 0

    def __init__(self, codes: Sequence[Any] | None = None) -> None:
        super().__init__()
        self.codes = None if codes is None else [str(c) for c in codes]
        self.c = None if codes is None else len(self.codes)

    _state_attrs = ("codes", "c")

    def decodes(self, o: TensorMask) -> TensorMask:
        if self.codes is not None:
            o.codes = self.codes
        return o

    def encodes(self, o: PILMask) -> PILMask:
        return o
