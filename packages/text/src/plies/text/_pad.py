"""Padding the texts of a batch to one length: `pad_input` and its transform `Pad_Input`; `reverse_text`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from plies.pipes import Transform, register_transform
from plies.typecore import TensorText, retain_type

__all__ = ["pad_input", "Pad_Input", "reverse_text"]


def pad_input(
    samples: Sequence[Any],
    pad_idx: int = 1,
    pad_fields: int | Sequence[int] = 0,
    pad_first: bool = False,
    backwards: bool = False,
) -> list[Any]:
    """Pad the fields `pad_fields` of every sample (tuples) with `pad_idx` to the longest in `samples`.

    Padding goes at the end (`pad_first=False`) or the start; `backwards` flips the texts first.
    The tensors keep their types (e.g. `TensorText`).
    """
    fields = [pad_fields] if isinstance(pad_fields, int) else list(pad_fields)
    if not samples:
        return list(samples)
    n_fields = len(samples[0])
    for f in fields:
        if not -n_fields <= f < n_fields:
            raise IndexError(f"pad_input: pad_fields holds {f}, but the samples have {n_fields} fields")
    max_len = {f: max(len(s[f]) for s in samples) for f in fields}

    def _pad(x: Any, f: int) -> Any:
        if backwards:
            x = x.flip(0)
        n = max_len[f] - len(x)
        if n == 0:
            return x
        pad = x.new_full((n,), pad_idx)
        return retain_type(torch.cat([pad, x] if pad_first else [x, pad]), x)

    return [
        tuple(_pad(x, i) if i in fields or i - n_fields in fields else x for i, x in enumerate(s))
        for s in samples
    ]


@register_transform(name="plies.text.Pad_Input")
class Pad_Input(Transform):
    """`pad_input` as a `before_batch` transform; decoding removes the padding from a `TensorText`."""

    def __init__(
        self,
        pad_idx: int = 1,
        pad_fields: int | Sequence[int] = 0,
        pad_first: bool = False,
        backwards: bool = False,
    ) -> None:
        super().__init__()
        self.pad_idx, self.pad_fields, self.pad_first, self.backwards = (
            pad_idx,
            pad_fields,
            pad_first,
            backwards,
        )

    def encodes(self, samples: list) -> list:
        """Pad the list of samples of a batch."""
        return pad_input(samples, self.pad_idx, self.pad_fields, self.pad_first, self.backwards)

    def decodes(self, o: TensorText) -> TensorText:
        """The text without its padding (flipped back when `backwards`)."""
        res = o[o != self.pad_idx]
        return res.flip(0) if self.backwards else res


@register_transform(name="plies.text.reverse_text")
class reverse_text(Transform):  # noqa: N801  (fastai's name for a function-like transform)
    """Reverse the order of the tokens of a text (to train a backwards language model); its own inverse."""

    def encodes(self, x: TensorText) -> TensorText:
        """The text reversed."""
        return x.flip(0)

    def decodes(self, x: TensorText) -> TensorText:
        """The text put back in order."""
        return x.flip(0)
