"""The data block API: `DataBlock` and the blocks (`TransformBlock`, `CategoryBlock`, ...).

A DataBlock states the steps of getting data ready for a model, in their fixed order: get the
source items, split them, label them (getters), apply the type transforms of each block, then
item and batch transforms. `summary(source)` walks one item through every step.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch
from plies.pipes import ItemTransform, Pipeline, Transform
from plies.typecore import L, accepted_kwargs, check_kwargs, noop, unknown_kwargs_message

from ._datasets import Datasets, TfmdLists
from ._errors import describe_item, item_error, tfm_name, warn_unsplit
from ._getters import ItemGetter
from ._splitters import RandomSplitter
from ._subsets import _SplitBase
from ._tensor_tfms import ToTensor
from ._tfmddl import TfmdDL
from ._transforms import (
    Categorize,
    EncodedMultiCategorize,
    MultiCategorize,
    OneHotEncode,
    RegressionSetup,
)

__all__ = ["TransformBlock", "CategoryBlock", "MultiCategoryBlock", "RegressionBlock", "DataBlock"]


class TransformBlock:
    """A block: type transforms turning a raw value into a model-ready one, plus default item/batch tfms."""

    def __init__(
        self,
        type_tfms: Any = None,
        item_tfms: Any = None,
        batch_tfms: Any = None,
        dl_type: type | None = None,
        dls_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.type_tfms = L(type_tfms)
        self.item_tfms = L([ToTensor]) + L(item_tfms)
        self.batch_tfms = L(batch_tfms)
        self.dl_type, self.dls_kwargs = dl_type, dict(dls_kwargs or {})

    def __repr__(self) -> str:
        return f"TransformBlock(type_tfms={list(self.type_tfms)})"


def CategoryBlock(
    vocab: Sequence[Any] | None = None, sort: bool = True, add_na: bool = False
) -> TransformBlock:
    """Block for single-label classification targets (`Categorize`; vocab from training unless given)."""
    return TransformBlock(type_tfms=Categorize(vocab=vocab, sort=sort, add_na=add_na))


def MultiCategoryBlock(
    encoded: bool = False,
    vocab: Sequence[Any] | None = None,
    add_na: bool = False,
) -> TransformBlock:
    """Block for multi-label targets: lists of labels (`MultiCategorize`, `OneHotEncode`) or one-hot rows."""
    if encoded:
        return TransformBlock(type_tfms=EncodedMultiCategorize(vocab=vocab))
    c = None if vocab is None else len(vocab) + int(add_na)
    return TransformBlock(type_tfms=[MultiCategorize(vocab=vocab, add_na=add_na), OneHotEncode(c=c)])


def RegressionBlock(n_out: int | None = None) -> TransformBlock:
    """Block for regression targets (float tensors; `n_out` outputs, read from the data when None)."""
    return TransformBlock(type_tfms=RegressionSetup(c=n_out))


def _merge_key(o: Any) -> Any:
    if isinstance(o, type):
        return o
    if isinstance(o, Transform):
        return type(o) if type(o) is not Transform else id(o)
    return id(o)


def _merge_tfms(*tfm_lists: Any) -> L:
    """All transforms of the lists in one L, one per class (the last given wins), classes instantiated."""
    groups: dict[Any, Any] = {}
    for tfms in tfm_lists:
        for t in L(tfms):
            groups[_merge_key(t)] = t
    return L(t() if isinstance(t, type) else t for t in groups.values())


def _or_class(obj: Any, name: str, value: Any) -> Any:
    """`value`, or when None what the class body defines under `name`: a `def f(self, ...)` is bound,
    any other callable (e.g. `splitter = GrandparentSplitter()`) is used as it is."""
    if value is not None:
        return value
    raw = inspect.getattr_static(obj, name, None)
    if inspect.isfunction(raw) and next(iter(inspect.signature(raw).parameters), None) == "self":
        return getattr(obj, name)
    return raw


def _as_block(b: Any) -> TransformBlock:
    block = b() if callable(b) and not isinstance(b, TransformBlock) else b
    if not isinstance(block, TransformBlock):
        raise TypeError(
            f"DataBlock: each block must be a TransformBlock (or a function returning one), "
            f"got {type(block).__name__} {block!r}"
        )
    return block


class DataBlock:
    """A recipe for DataLoaders: `blocks` (one per input/target), how to get, split and label items.

    `getters` (one per block) or `get_x`/`get_y` turn an item into each block's raw value; the
    first `n_inp` blocks are inputs (default: all but the last). `item_tfms`/`batch_tfms` are
    added to the blocks' own (one transform per class, the user's winning).
    """

    blocks: Any = None
    n_inp: int | None = None
    get_items: Any = None
    splitter: Any = None
    get_x: Any = None
    get_y: Any = None

    @check_kwargs
    def __init__(
        self,
        blocks: Sequence[Any] | None = None,
        dl_type: type | None = None,
        getters: Sequence[Callable[..., Any] | None] | None = None,
        n_inp: int | None = None,
        item_tfms: Any = None,
        batch_tfms: Any = None,
        get_items: Callable[..., Any] | None = None,
        splitter: Callable[..., Any] | None = None,
        get_y: Any = None,
        get_x: Any = None,
    ) -> None:
        # a subclass may set blocks, n_inp and get_items/splitter/get_x/get_y (as methods) in its body
        blocks = blocks if blocks is not None else getattr(type(self), "blocks", None)
        blocks = L(blocks if blocks is not None else [TransformBlock, TransformBlock])
        self.blocks = L(_as_block(b) for b in blocks)
        if not self.blocks:
            raise ValueError("DataBlock: blocks is empty; give one block per input and target")
        self.type_tfms = L(b.type_tfms for b in self.blocks)
        self.default_item_tfms = _merge_tfms(*[b.item_tfms for b in self.blocks])
        self.default_batch_tfms = _merge_tfms(*[b.batch_tfms for b in self.blocks])
        self.dl_type: type = TfmdDL
        for b in self.blocks:
            if b.dl_type is not None:
                self.dl_type = b.dl_type
        if dl_type is not None:
            self.dl_type = dl_type
        self.dls_kwargs = {k: v for b in self.blocks for k, v in b.dls_kwargs.items()}
        n_blocks = len(self.blocks)
        n_inp = n_inp if n_inp is not None else getattr(type(self), "n_inp", None)
        self.n_inp = n_inp if n_inp is not None else max(1, n_blocks - 1)
        if not 0 < self.n_inp <= n_blocks:
            raise ValueError(f"DataBlock: n_inp={self.n_inp} but there are {n_blocks} blocks")
        if getters is not None and len(getters) != n_blocks:
            raise ValueError(
                f"DataBlock: {len(getters)} getters for {n_blocks} blocks; give one getter per block"
            )
        self.getters = list(getters) if getters is not None else [None] * n_blocks
        get_items, splitter = _or_class(self, "get_items", get_items), _or_class(self, "splitter", splitter)
        get_x, get_y = _or_class(self, "get_x", get_x), _or_class(self, "get_y", get_y)
        self.get_items, self.splitter, self.get_x, self.get_y = get_items, splitter, get_x, get_y
        if get_x is not None:
            xs = list(get_x) if isinstance(get_x, (list, tuple, L)) else [get_x]
            if len(xs) != self.n_inp:
                raise ValueError(f"DataBlock: get_x has {len(xs)} functions for {self.n_inp} inputs (n_inp)")
            self.getters[: self.n_inp] = xs
        if get_y is not None:
            ys = list(get_y) if isinstance(get_y, (list, tuple, L)) else [get_y]
            n_targets = n_blocks - self.n_inp
            if len(ys) != n_targets:
                raise ValueError(
                    f"DataBlock: get_y has {len(ys)} functions for {n_targets} targets "
                    f"({n_blocks} blocks, n_inp={self.n_inp})"
                )
            self.getters[self.n_inp :] = ys
        self.new(item_tfms, batch_tfms)

    @classmethod
    def from_columns(
        cls,
        blocks: Sequence[Any] | None = None,
        getters: Sequence[Callable[..., Any] | None] | None = None,
        get_items: Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> DataBlock:
        """A DataBlock whose source is a tuple of columns (`(xs, ys)`): item `i` is `(xs[i], ys[i])`.

        `getters` default to one `ItemGetter(k)` per block (column `k`); `get_x`/`get_y` replace
        them for the inputs/targets. `get_items`, when given, turns the source into the columns.
        Other keywords go to `DataBlock`.
        """
        n_blocks = 2 if blocks is None else len(L(blocks))
        if getters is None:
            getters = [ItemGetter(k) for k in range(n_blocks)]
        return cls(blocks=blocks, getters=getters, get_items=_ZipColumns(get_items), **kwargs)

    def new(self, item_tfms: Any = None, batch_tfms: Any = None) -> DataBlock:
        """Set the item and batch transforms (added to the blocks' defaults); returns self."""
        self.item_tfms = _merge_tfms(self.default_item_tfms, item_tfms)
        self.batch_tfms = _merge_tfms(self.default_batch_tfms, batch_tfms)
        return self

    def _combine_type_tfms(self) -> list[list[Any]]:
        """Per block: its getter (a plain function sees the whole item, even a tuple), its type transforms."""
        res = []
        for getter, tfms in zip(self.getters, self.type_tfms, strict=False):
            if getter is None or getter is noop:
                fs = []
            elif isinstance(getter, Pipeline):
                fs = list(getter.fs)
            elif isinstance(getter, Transform) or isinstance(getter, type):
                fs = [getter]
            else:
                fs = [ItemTransform(getter)]
            res.append(fs + list(tfms))
        return res

    def _items(self, source: Any, verbose: bool) -> Any:
        if verbose:
            print(f"Collecting items from {source}")
        items = self.get_items(source) if self.get_items is not None else source
        try:
            n = len(items)
        except TypeError:
            raise TypeError(
                f"DataBlock: the items must be a sized collection; get_items returned a "
                f"{type(items).__name__}"
            ) from None
        if n == 0:
            how = (
                f"get_items ({getattr(self.get_items, '__name__', self.get_items)})"
                if self.get_items
                else "the source"
            )
            raise ValueError(f"DataBlock: {how} gave no items from {source!r}")
        if verbose:
            print(f"Found {n} items")
        return items

    def _splits(self, items: Any, verbose: bool) -> Any:
        splits = (self.splitter or RandomSplitter())(items)
        warn_unsplit("DataBlock", items, splits, stacklevel=3)
        if verbose:
            print(f"{len(splits)} datasets of sizes {','.join(str(len(s)) for s in splits)}")
        return splits

    def datasets(self, source: Any, verbose: bool = False) -> Datasets:
        """The `Datasets` for `source`: items collected, split, and passed through each block's pipeline."""
        self.source = source
        items = self._items(source, verbose)
        splits = self._splits(items, verbose)  # warns about items in no split, so Datasets need not
        tls = [TfmdLists(items, tfms, splits=splits, verbose=verbose) for tfms in self._combine_type_tfms()]
        return Datasets(tls=tls, dl_type=self.dl_type, n_inp=self.n_inp)

    def dataloaders(self, source: Any, path: Any = ".", verbose: bool = False, **kwargs: Any) -> Any:
        """The `DataLoaders` for `source` (keywords such as `bs`, `device` go to `Datasets.dataloaders`).

        A keyword that neither `Datasets.dataloaders` nor the DataLoader class accepts raises
        TypeError (suggesting the closest name) before any item is read.
        """
        self._check_dataloaders_kwargs(kwargs)
        dsets = self.datasets(source, verbose=verbose)
        kwargs = {**self.dls_kwargs, **kwargs, "verbose": verbose}
        return dsets.dataloaders(path=path, after_item=self.item_tfms, after_batch=self.batch_tfms, **kwargs)

    def _check_dataloaders_kwargs(self, kwargs: dict[str, Any]) -> None:
        """TypeError for keywords of `dataloaders` that no step accepts (`val_` prefixes allowed)."""
        dl_type = kwargs.get("dl_type") or self.dl_type
        for_dl = accepted_kwargs(dl_type)
        if for_dl is None:  # the DataLoader class takes any keyword: nothing to check against
            return
        own = {p for p in inspect.signature(_SplitBase.dataloaders).parameters if p not in ("self", "kwargs")}
        known = own | for_dl | {"verbose"}
        unknown = [k for k in kwargs if k not in known and k.removeprefix("val_") not in for_dl]
        if unknown:
            raise TypeError(unknown_kwargs_message("DataBlock.dataloaders()", unknown, known))

    def summary(self, source: Any, bs: int = 4, show_batch: bool = False, **kwargs: Any) -> None:
        """Print each step of building a batch from `source`; on failure say which step, which item and why.

        The failure is printed and the exception re-raised (same builtin type, message naming the
        step and item).
        """
        print("Setting-up type transforms pipelines")
        try:
            dsets = self.datasets(source, verbose=True)
        except Exception as e:
            print(
                "\nFailed while collecting, splitting or setting up the type transforms:\n"
                f"  {type(e).__name__}: {e}"
            )
            raise
        train = dsets.train
        idx = int(dsets.splits[0][0]) if dsets.splits is not None and len(dsets.splits[0]) else 0
        item = train.items.iloc[0] if hasattr(train.items, "iloc") else train.items[0]
        print(f"\nBuilding one sample (item {idx}: {describe_item(item)})")
        sample = []
        for k, tl in enumerate(train.tls):
            print(f"  Pipeline {k}: {' -> '.join(tfm_name(f) for f in tl.tfms.fs) or '(empty)'}")
            x = item
            print(f"    starting from\n      {_show_value(x)}")
            for step, f in enumerate(tl.tfms.fs):
                try:
                    x = f(x, split_idx=0)
                except Exception as e:
                    _report(f"type transform {step} ({tfm_name(f)}) of pipeline {k}", idx, item, e)
                    raise item_error(tl, e, idx, item) from e
                print(f"    applying {tfm_name(f)} gives\n      {_show_value(x)}")
            sample.append(x)
        sample_t = tuple(sample)
        print(f"\nFinal sample: {_show_value(sample_t)}")
        print("\nSetting up after_item and after_batch, building the DataLoaders")
        dls = dsets.dataloaders(
            bs=bs, after_item=self.item_tfms, after_batch=self.batch_tfms, **{**self.dls_kwargs, **kwargs}
        )
        dl = dls.train
        print(f"\nApplying item_tfms to the first sample:\n  {dl.after_item}")
        x = sample_t
        for step, f in enumerate(dl.after_item.fs):
            try:
                x = f(x, split_idx=0)
            except Exception as e:
                _report(f"item transform {step} ({tfm_name(f)})", idx, item, e)
                raise
            print(f"    applying {tfm_name(f)} gives\n      {_show_value(x)}")
        print(f"\nCollating items in a batch of {bs}")
        b = dl.do_batch([dl.do_item(i) for i in range(min(bs, len(dl.dataset)))])
        print(f"  {_show_value(b)}")
        print(f"\nApplying batch_tfms to the batch built\n  {dl.after_batch}")
        for step, f in enumerate(dl.after_batch.fs):
            try:
                b = f(b, split_idx=0)
            except Exception as e:
                _report(f"batch transform {step} ({tfm_name(f)})", None, None, e)
                raise
            print(f"    applying {tfm_name(f)} gives\n      {_show_value(b)}")
        if show_batch:
            dls.show_batch()


class _ZipColumns:
    """`get_items` of `DataBlock.from_columns`: the source's columns (after `get_items`) zipped into items."""

    def __init__(self, get_items: Callable[..., Any] | None) -> None:
        self.get_items = get_items
        # how DataBlock names get_items in its messages
        self.__name__ = "from_columns" if get_items is None else f"from_columns({get_items})"

    def __call__(self, source: Any) -> L:
        columns = self.get_items(source) if self.get_items is not None else source
        columns = list(columns)
        lengths = {len(c) for c in columns}
        if len(lengths) > 1:
            raise ValueError(
                f"DataBlock.from_columns: the columns have different lengths {[len(c) for c in columns]}"
            )
        return L(zip(*columns, strict=True))


def _report(step: str, idx: int | None, item: Any, err: Exception) -> None:
    where = "" if idx is None else f" on item {idx} ({describe_item(item)})"
    print(f"\nFailed at {step}{where}:\n  {type(err).__name__}: {err}")


def _show_value(x: Any) -> str:
    """A compact, readable rendering of a value at one step: tensors as type, shape and dtype."""
    if isinstance(x, torch.Tensor):
        head = f"{type(x).__name__} of shape {tuple(x.shape)} and dtype {x.dtype}"
        return head if x.numel() > 8 else f"{head}: {x.tolist()}"
    if isinstance(x, tuple):
        return "(" + ", ".join(_show_value(o) for o in x) + ")"
    return describe_item(x, width=100)
