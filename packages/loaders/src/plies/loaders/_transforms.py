"""Data transforms of the mid-level API: categories (single and multi-label) and regression targets.

Every transform here is registered with pipes' `register_transform` and keeps its state as plain
data (lists, numbers, tensors), so a data pipeline can be exported and rebuilt without pickle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import torch
from plies.pipes import DisplayedTransform, register_transform
from plies.typecore import L, TensorCategory, TensorMultiCategory

from ._show import show_title

__all__ = [
    "Category",
    "MultiCategory",
    "CategoryMap",
    "Categorize",
    "MultiCategorize",
    "OneHotEncode",
    "EncodedMultiCategorize",
    "RegressionSetup",
]


class Category(str):
    """A decoded category label (a `str`) that can show itself as a title."""

    def show(self, ctx: Any = None, **kwargs: Any) -> Any:
        """Show the label on `ctx` (a matplotlib Axes title, or a list of texts; printed when None)."""
        return show_title(str(self), ctx=ctx, **kwargs)


class MultiCategory(L):
    """Decoded multi-label categories (an `L` of labels) that can show themselves as a title."""

    def show(self, ctx: Any = None, sep: str = ";", **kwargs: Any) -> Any:
        """Show the labels joined by `sep` on `ctx` (see `Category.show`)."""
        return show_title(sep.join(str(o) for o in self), ctx=ctx, **kwargs)


def _plain(o: Any) -> Any:
    """A label as a plain Python value (numpy scalars become int/float/bool/str)."""
    return o.item() if isinstance(o, np.generic) else o


class CategoryMap(L):
    """The vocab of a categorical variable: sorted unique labels (`'#na#'` first with `add_na`) and `o2i`.

    A pandas categorical column keeps its categories' order (`strict=True`: only those present).
    """

    def __init__(
        self, col: Iterable[Any], sort: bool = True, add_na: bool = False, strict: bool = False
    ) -> None:
        dtype = getattr(col, "dtype", None)
        if getattr(dtype, "name", None) == "category":
            cats = cast(Any, col).cat
            items = list(cats.categories)
            if strict:  # only the categories that occur
                present = set(cats.remove_unused_categories().cat.categories)
                items = [o for o in items if o in present]
        else:
            seen: dict[Any, None] = {}
            for o in col:
                seen.setdefault(_plain(o), None)
            items = list(seen)
            if sort:
                try:
                    items = sorted(items)
                except TypeError as e:
                    kinds = sorted({type(o).__name__ for o in items})
                    raise TypeError(
                        f"CategoryMap: cannot sort labels of mixed types {kinds}; "
                        "pass sort=False or make them one type"
                    ) from e
        if add_na:
            items = ["#na#"] + [o for o in items if o != "#na#"]
        super().__init__(items)
        self.o2i = {o: i for i, o in enumerate(items)}

    def _new(self, items: Iterable[Any], **kwargs: Any) -> L:
        # a slice, a selection or a sum of a vocab is a list of labels (an L), not a vocab
        return L(items, use_list=True, **kwargs)

    def map_objs(self, objs: Iterable[Any]) -> L:
        """Indices of `objs` in the vocab."""
        return L(self.o2i[o] for o in objs)

    def map_ids(self, ids: Iterable[int]) -> L:
        """Labels of the indices `ids`."""
        return L(self[int(i)] for i in ids)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Iterable) else NotImplemented

    __hash__ = None  # type: ignore[assignment]


class LabelNotInVocab(KeyError):
    """A label missing from a vocab learned on the training set (message names it, its item and the vocab)."""

    def __init__(self, tfm: str, label: Any, vocab: Sequence[Any], item: int | None = None) -> None:
        super().__init__(label)
        self.tfm, self.label, self.vocab, self.item = tfm, label, vocab, item

    def with_item(self, item: int) -> LabelNotInVocab:
        """The same error, naming the item index."""
        return LabelNotInVocab(self.tfm, self.label, self.vocab, item)

    def __str__(self) -> str:
        shown = ", ".join(repr(_plain(o)) for o in list(self.vocab)[:2])
        more = ", ..." if len(self.vocab) > 2 else ""
        where = "" if self.item is None else f" (item {self.item})"
        return (
            f"{self.tfm}: label {self.label!r}{where} not in the vocab learned from the training set "
            f"({len(self.vocab)} labels: {shown}{more})"
        )


class _VocabTransform(DisplayedTransform):
    """Shared plain-data state of the category transforms: the vocab as a list."""

    def state_dict(self) -> dict[str, Any]:
        """vocab (a list of plain labels, or None) and settings."""
        d: dict[str, Any] = {"split_idx": self.split_idx, "order": self.order}
        d["vocab"] = None if self.vocab is None else [_plain(o) for o in self.vocab]
        return {**d, **{k: getattr(self, k) for k in self._settings}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()` output."""
        self.split_idx, self.order = state.get("split_idx"), state.get("order", self.order)
        for k in self._settings:
            setattr(self, k, state[k])
        self.vocab = None if state["vocab"] is None else CategoryMap(state["vocab"], sort=False)
        self.c = None if self.vocab is None else len(self.vocab)

    _settings: tuple[str, ...] = ()

    def _labels(self) -> CategoryMap:
        if self.vocab is None:
            raise ValueError(f"{type(self).__name__}: no vocab to decode with; set it up or pass vocab=")
        return self.vocab

    def _index(self, label: Any) -> int:
        if self.vocab is None:
            raise ValueError(
                f"{type(self).__name__}: no vocab; set it up on training items first (or pass vocab=)"
            )
        try:
            return self.vocab.o2i[_plain(label)]
        except (KeyError, TypeError):
            raise LabelNotInVocab(type(self).__name__, label, self.vocab) from None


@register_transform
class Categorize(_VocabTransform):
    """Map a label to its index in a vocab learned from the training subset; decode back to a `Category`."""

    order = 1
    _settings = ("sort", "add_na")

    def __init__(self, vocab: Any = None, sort: bool = True, add_na: bool = False) -> None:
        super().__init__()
        self.sort, self.add_na = sort, add_na
        self.vocab = None if vocab is None else CategoryMap(vocab, sort=sort, add_na=add_na)
        self.c = None if self.vocab is None else len(self.vocab)

    def setups(self, dsets: Any):
        if self.vocab is None and dsets is not None:
            self.vocab = CategoryMap(dsets, sort=self.sort, add_na=self.add_na)
        self.c = None if self.vocab is None else len(self.vocab)

    def encodes(self, o: Any) -> TensorCategory:
        return torch.tensor(self._index(o)).as_subclass(TensorCategory)

    def decodes(self, o: Any) -> Category:
        return Category(self._labels()[int(o)])


@register_transform
class MultiCategorize(_VocabTransform):
    """Map a list of labels to a `TensorMultiCategory` of vocab indices; decode to a `MultiCategory`."""

    order = 1
    _settings = ("add_na",)

    def __init__(self, vocab: Any = None, add_na: bool = False) -> None:
        super().__init__()
        self.add_na = add_na
        self.vocab = None if vocab is None else CategoryMap(vocab, sort=False, add_na=add_na)
        self.c = None if self.vocab is None else len(self.vocab)

    def setups(self, dsets: Any):
        if self.vocab is None and dsets is not None:
            self.vocab = CategoryMap((label for labels in dsets for label in labels), add_na=self.add_na)
        self.c = None if self.vocab is None else len(self.vocab)

    def encodes(self, o: Any) -> TensorMultiCategory:
        if isinstance(o, (str, bytes)) or not isinstance(o, Iterable):
            raise TypeError(
                f"MultiCategorize: expected a list of labels, got {type(o).__name__} {o!r} "
                "(use label_delim to split a string)"
            )
        return TensorMultiCategory(torch.tensor([self._index(label) for label in o], dtype=torch.long))

    def decodes(self, o: Any) -> MultiCategory:
        return MultiCategory([self._labels()[int(i)] for i in o])


def _one_hot_decode(o: Any) -> torch.Tensor:
    """The indices where a one-hot row (ints, bools or probabilities) is set (above 0.5)."""
    row = torch.as_tensor(o).as_subclass(torch.Tensor)
    return torch.nonzero(row.float() > 0.5).flatten().long()


@register_transform
class OneHotEncode(DisplayedTransform):
    """One-hot encode indices (a `TensorMultiCategory` or a list) into `c` floats; decode back to indices."""

    order = 2

    def __init__(self, c: int | None = None) -> None:
        super().__init__()
        self.c = c

    _state_attrs = ("c",)

    def setups(self, dsets: Any):
        if self.c is not None or dsets is None:
            return
        vocab = getattr(dsets, "vocab", None)
        if vocab is not None:
            self.c = len(vocab)
            return
        top = max((int(o.max()) for o in dsets if len(o)), default=-1)
        if top < 0:
            raise ValueError("OneHotEncode: c not given and no label found in the training items to infer it")
        self.c = top + 1

    def encodes(self, o: Any):
        if isinstance(o, torch.Tensor) and o.is_floating_point():
            return o  # already encoded
        if self.c is None:
            raise ValueError("OneHotEncode: number of classes c unknown; pass c= or set it up on items")
        idxs = torch.as_tensor(o if isinstance(o, torch.Tensor) else list(o), dtype=torch.long)
        res = torch.zeros(self.c, dtype=torch.float32)
        res[idxs] = 1.0
        return TensorMultiCategory(res)

    def decodes(self, o: Any):
        """One-hot (or boolean, or probabilities thresholded at 0.5) → a `TensorMultiCategory` of indices."""
        return TensorMultiCategory(_one_hot_decode(o))


@register_transform
class EncodedMultiCategorize(_VocabTransform):
    """Multi-label targets already one-hot encoded (columns of `vocab`): floats, decoded to labels."""

    order = 1

    def __init__(self, vocab: Any = None) -> None:
        super().__init__()
        self.vocab = None if vocab is None else CategoryMap(vocab, sort=False)
        self.c = None if self.vocab is None else len(self.vocab)

    def encodes(self, o: Any) -> TensorMultiCategory:
        return TensorMultiCategory(torch.as_tensor(np.asarray(o, dtype=np.float32)))

    def decodes(self, o: Any) -> MultiCategory:
        if self.vocab is None:
            raise ValueError("EncodedMultiCategorize: no vocab to decode with; pass vocab=")
        return MultiCategory([self.vocab[i] for i in _one_hot_decode(o).tolist()])


@register_transform
class RegressionSetup(DisplayedTransform):
    """Make regression targets float tensors; `c` (number of outputs) is read from the items at setup."""

    order = 1

    def __init__(self, c: int | None = None) -> None:
        super().__init__()
        self.c = c

    _state_attrs = ("c",)

    def setups(self, dsets: Any):
        if self.c is not None or dsets is None or len(dsets) == 0:
            return
        first = torch.as_tensor(dsets[0])
        self.c = 1 if first.ndim == 0 else int(first.shape[-1])

    def encodes(self, o: Any):
        if isinstance(o, torch.Tensor):
            return o.float()
        if isinstance(o, (str, bytes)) or np.asarray(o).dtype.kind in "OUS":
            raise TypeError(f"RegressionSetup: the target {o!r:.60} is text, not a number")
        return torch.as_tensor(np.asarray(o, dtype=np.float32))
