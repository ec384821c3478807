"""`TfmdLists` (a pipeline applied lazily to a collection) and `Datasets` (several pipelines → tuples).

The subset index (0 = training, 1 = validation, ...) reaches the transforms as `split_idx`, and
transforms are set up on the training subset only. Errors raised while transforming an item
name the item (index and value) and the step that failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from plies.pipes import Pipeline
from plies.typecore import L, is_listy

from ._errors import describe_item, item_error, label_hint, setup_error, tfm_name, warn_unsplit
from ._sources import item_at, take
from ._subsets import _check_splits, _is_mask, _mask_to_idxs, _RawView, _SplitBase, type_name
from ._tfmddl import TfmdDL
from ._transforms import LabelNotInVocab

__all__ = ["TfmdLists", "Datasets", "test_set"]


class TfmdLists(_SplitBase):
    """A collection of `items` seen through the pipeline `tfms`, lazily; `splits` define subsets.

    Transforms are set up on the training subset (`train_setup=True`) when created; each subset
    passes its index to the transforms as `split_idx`.
    """

    def __init__(
        self,
        items: Any,
        tfms: Any,
        use_list: bool | None = None,
        do_setup: bool = True,
        split_idx: int | None = None,
        train_setup: bool = True,
        splits: Any = None,
        types: Any = None,
        verbose: bool = False,
        dl_type: type | None = None,
    ) -> None:
        if items is None:
            items = []
        if not hasattr(items, "iloc") and not hasattr(items, "__getitem__"):
            items = L(items)
        self.items, self.split_idx = items, split_idx
        self.splits = _check_splits(splits, len(items))
        if is_listy(tfms):  # as in fastai, None entries are no transform (`tfms=[None]`)
            tfms = [t for t in tfms if t is not None]
        self.tfms = (
            tfms if isinstance(tfms, Pipeline) and split_idx is None else Pipeline(tfms, split_idx=split_idx)
        )
        self.types, self.dl_type = types, dl_type or TfmdDL
        if do_setup:
            if verbose:
                print(f"Setting up {self.tfms}")
            self.setup(train_setup)

    def setup(self, train_setup: bool = True) -> None:
        """Set up the transforms in order on the (training) items, and record the type each step receives."""
        planned = list(self.tfms.fs)
        try:
            self.tfms.setup(_RawView(self.items, self.splits), train_setup)
        except Exception as e:
            raise setup_error(self, e, planned, train_setup) from e
        if len(self) == 0:
            return
        first = self.splits[0][0] if self.splits is not None and len(self.splits[0]) else 0
        x = item = item_at(self.items, first)
        fs = list(self.tfms.fs)
        types = [_input_type(fs[0], x) if fs else type(x)]
        for k, f in enumerate(fs):
            hint = label_hint(f, x)  # a target of the wrong kind may convert without an error
            if hint:
                raise TypeError(f"step {k} ({tfm_name(f)}) on item {first} ({describe_item(item)}): {hint}")
            try:
                x = f(x, split_idx=self.split_idx)
            except Exception as e:
                raise item_error(self, e, first, item_at(self.items, first)) from e
            types.append(_input_type(fs[k + 1], x) if k + 1 < len(fs) else type(x))
        self.types = types

    def _new(self, items: Any, split_idx: int | None = None, **kwargs: Any) -> TfmdLists:
        return TfmdLists(
            items,
            self.tfms,
            do_setup=False,
            split_idx=split_idx,
            types=self.types,
            dl_type=self.dl_type,
            **kwargs,
        )

    def new(self, items: Any, split_idx: int | None = None, **kwargs: Any) -> TfmdLists:
        """A TfmdLists over `items` with these (already set up) transforms and this `split_idx` by default."""
        return self._new(items, split_idx=self.split_idx if split_idx is None else split_idx, **kwargs)

    def new_empty(self) -> TfmdLists:
        """The same transforms over no items."""
        return self.new([])

    def _set_split(self, split_idx: int | None) -> None:
        self.split_idx = self.tfms.split_idx = split_idx

    def subset(self, i: int) -> TfmdLists:
        """Subset `i` (0 = training) as a TfmdLists passing `split_idx=i` to the transforms."""
        if self.splits is None:
            if i == 0:
                return self._new(self.items, split_idx=0)
            raise IndexError(f"TfmdLists.subset({i}): no splits were given, so there is only subset 0")
        if not 0 <= i < len(self.splits):
            raise IndexError(f"TfmdLists.subset({i}): there are {len(self.splits)} subsets")
        return self._new(take(self.items, self.splits[i]), split_idx=i)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, idx: Any) -> Any:
        if type(idx) is not int:  # the common case (a DataLoader's index) skips these checks
            if isinstance(idx, slice):
                return L(self[i] for i in range(len(self))[idx])
            if _is_mask(idx):
                return L(self[i] for i in _mask_to_idxs(idx, len(self), "TfmdLists"))
            if is_listy(idx) or (hasattr(idx, "ndim") and idx.ndim > 0):
                return L(self[int(i)] for i in idx)
        i, n = int(idx), len(self.items)
        if not -n <= i < n:
            raise IndexError(f"TfmdLists: index {i} out of range for {n} items")
        item = item_at(self.items, i)
        try:
            return self.tfms(item)
        except LabelNotInVocab as e:
            err = e.with_item(i)
            hint = next((h for f in self.tfms.fs if (h := label_hint(f, e.label))), None)
            if hint:
                err.add_note(hint)
            raise err from None
        except Exception as e:
            raise item_error(self, e, i, item) from e

    def decode(self, o: Any, **kwargs: Any) -> Any:
        """Decode `o` through the pipeline (in reverse)."""
        return self.tfms.decode(o, **kwargs)

    def show(self, o: Any, ctx: Any = None, **kwargs: Any) -> Any:
        """Decode `o` until it can show itself and show it on `ctx`."""
        return self.tfms.show(o, ctx=ctx, **kwargs)

    def infer_idx(self, x: Any) -> int:
        """How many leading transforms to skip for an input like `x` (matched to the types seen at setup)."""
        if not self.types:
            return 0
        for idx, t in enumerate(self.types):
            if _is_instance_by_name(x, t):
                return idx
        for idx, f in enumerate(self.tfms.fs):
            if _declares_input(f, x):
                return idx  # another input a transform is written for (a PIL image for PILImage.create)
        names = ", ".join(_type_names(t) for t in self.types)
        raise TypeError(
            f"TfmdLists.infer_idx: expected an input of one of the types {names}; got {type(x).__name__}"
        )

    def infer(self, x: Any) -> Any:
        """Apply the transforms from the step matching `x`'s type on."""
        fs = self.tfms.fs[self.infer_idx(x) :]
        for f in fs:
            x = f(x, split_idx=self.split_idx)
        return x

    @property
    def vocab(self) -> Any:
        """The vocab of the last transform that has one (AttributeError when none does)."""
        for f in reversed(list(self.tfms.fs)):
            if getattr(f, "vocab", None) is not None:
                return f.vocab
        raise AttributeError(f"TfmdLists: no transform with a vocab in {self.tfms}")

    def __getattr__(self, name: str) -> Any:
        # as in fastai: `tl.categorize` is the transform of that type, `tl.m` an attribute of a transform
        if name.startswith("_") or name in ("tfms", "items", "splits", "types", "split_idx"):
            raise AttributeError(name)
        tfms = self.__dict__.get("tfms")
        if tfms is None:
            raise AttributeError(name)
        try:
            return getattr(tfms, name)
        except AttributeError:
            pass
        found = [getattr(f, name) for f in tfms.fs if getattr(f, name, None) is not None]
        if found:
            return found[0] if len(found) == 1 else L(found)
        raise AttributeError(f"'TfmdLists' object has no attribute {name!r}, nor has any transform of {tfms}")

    def __repr__(self) -> str:
        return f"TfmdLists: {len(self)} items, {self.tfms}"


def _input_type(f: Any, x: Any) -> Any:
    """What transform `f` takes, as `infer_idx` matches it: its `input_types` (a tuple of classes) when it
    declares them (fastai's attribute: a tokenizer takes texts, token lists, paths...), else `type(x)`."""
    declared = getattr(f, "input_types", None)
    return tuple(declared) if declared else type(x)


def _type_names(t: Any) -> str:
    """A recorded type (a class, a name, or several of either) for messages."""
    if isinstance(t, (tuple, list)):
        return "(" + " | ".join(_type_names(o) for o in t) + ")"
    return t if isinstance(t, str) else type_name(t)


def _declares_input(f: Any, x: Any) -> bool:
    """Whether transform `f` has an `encodes` annotated for `x`'s type (a catch-all `object` excluded)."""
    encodes = getattr(f, "encodes", None)
    signatures = getattr(encodes, "signatures", None)
    if signatures is None:
        return False
    return any(t1 is not object and isinstance(x, t1) for (t1, _), _f in signatures())


def _is_instance_by_name(x: Any, t: Any) -> bool:
    """`isinstance(x, t)`, `t` a class, (after a plain-data export) a class's qualified name, or a tuple or
    list of either."""
    if isinstance(t, (tuple, list)):
        return any(_is_instance_by_name(x, o) for o in t)
    if isinstance(t, type):
        return isinstance(x, t)
    return any(type_name(k) == t for k in type(x).__mro__)


class Datasets(_SplitBase):
    """Several pipelines applied in parallel to one collection: item `i` is the tuple of their results.

    `tfms`: one list of transforms per output (the first `n_inp` are inputs, the rest targets),
    or `tls`: ready TfmdLists. Other keywords (`splits`, ...) go to each TfmdLists. Items in no
    split are reported with a warning (they are in no subset, so no DataLoader loads them).
    """

    def __init__(
        self,
        items: Any = None,
        tfms: Any = None,
        tls: Any = None,
        n_inp: int | None = None,
        dl_type: type | None = None,
        **kwargs: Any,
    ) -> None:
        if tls is not None:
            self.tls = L(tls)
        else:
            tfms = [None] if tfms is None else (tfms if is_listy(tfms) else [tfms])
            self.tls = L(TfmdLists(items, t, **kwargs) for t in tfms)
            if self.tls and self.tls[0].splits is not None:
                warn_unsplit("Datasets", self.tls[0].items, self.tls[0].splits, stacklevel=2)
        lengths = [len(tl) for tl in self.tls]
        if len(set(lengths)) > 1:
            raise ValueError(f"Datasets: the pipelines see collections of different lengths {lengths}")
        self.n_inp = n_inp if n_inp is not None else max(1, len(self.tls) - 1)
        if not 0 < self.n_inp <= len(self.tls):
            raise ValueError(f"Datasets: n_inp={self.n_inp} but there are {len(self.tls)} pipelines")
        self.dl_type = dl_type or self.tls[0].dl_type

    @property
    def items(self) -> Any:
        """The raw items."""
        return self.tls[0].items

    @property
    def splits(self) -> L | None:  # type: ignore[override]
        """The split indices (one list per subset), or None."""
        return self.tls[0].splits

    @property
    def split_idx(self) -> int | None:  # type: ignore[override]
        """The subset index passed to the transforms (None for the whole collection)."""
        return self.tls[0].split_idx

    def _set_split(self, split_idx: int | None) -> None:
        for tl in self.tls:
            tl._set_split(split_idx)

    def subset(self, i: int) -> Datasets:
        """Subset `i` (0 = training) of every pipeline."""
        return Datasets(tls=[tl.subset(i) for tl in self.tls], n_inp=self.n_inp, dl_type=self.dl_type)

    def __len__(self) -> int:
        return len(self.tls[0])

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, idx: Any) -> Any:
        if type(idx) is not int and (isinstance(idx, slice) or is_listy(idx)):
            return L(zip(*[tl[idx] for tl in self.tls], strict=False))
        return tuple([tl[idx] for tl in self.tls])

    def decode(self, o: Any, full: bool = True) -> tuple:
        """Decode each element of the tuple `o` with its pipeline."""
        return tuple(tl.decode(x, full=full) for x, tl in zip(o, self.tls, strict=False))

    def show(self, o: Any, ctx: Any = None, **kwargs: Any) -> Any:
        """Show each element of `o` that can show itself once decoded, with its pipeline, on one ctx.

        Elements that cannot (e.g. a plain tensor target) are left out; TypeError when none can.
        """
        shown = False
        for x, tl in zip(o, self.tls, strict=False):
            d = tl.tfms.decode(x, full=False)
            if hasattr(d, "show") or (isinstance(d, tuple) and any(hasattr(e, "show") for e in d)):
                ctx, shown = tl.show(x, ctx=ctx, **kwargs), True
        if not shown:
            raise TypeError(
                f"Datasets.show: no element of the decoded item {tuple(type(x).__name__ for x in o)} "
                "has a show method; decode it with .decode(o) and display it yourself"
            )
        return ctx

    def new_empty(self) -> Datasets:
        """The same pipelines over no items (what an exported model keeps)."""
        return Datasets(
            tls=[tl._new([], split_idx=tl.split_idx) for tl in self.tls],
            n_inp=self.n_inp,
            dl_type=self.dl_type,
        )

    @property
    def vocab(self) -> Any:
        """The vocab of the last target pipeline that has one."""
        for tl in reversed(list(self.tls)):
            try:
                return tl.vocab
            except AttributeError:
                continue
        raise AttributeError("Datasets: no pipeline has a transform with a vocab")

    def __getattr__(self, name: str) -> Any:
        # as in fastai: an attribute found in exactly one pipeline (`dsets.norm`, `dsets.c`); several: an L
        if name.startswith("_") or name == "tls":
            raise AttributeError(name)
        found = []
        for tl in self.__dict__.get("tls", ()):
            try:
                found.append(getattr(tl, name))
            except AttributeError:
                continue
        if found:
            return found[0] if len(found) == 1 else L(found)
        raise AttributeError(f"'Datasets' object has no attribute {name!r}, nor has any of its pipelines")

    def __repr__(self) -> str:
        return f"Datasets: {len(self)} items, {len(self.tls)} pipelines (n_inp={self.n_inp})"


def test_set(
    dsets: Datasets | TfmdLists, test_items: Any, rm_tfms: Any = None, with_labels: bool = False
) -> Any:
    """A Datasets/TfmdLists over `test_items` with the validation transforms of `dsets`.

    Without labels only the input pipelines are kept. `rm_tfms`: how many leading transforms to
    skip per pipeline (inferred from the type of the first test item when None).
    """
    if isinstance(dsets, Datasets):
        tls = list(dsets.tls) if with_labels else list(dsets.tls)[: dsets.n_inp]
        test_tls = [tl._new(test_items, split_idx=1) for tl in tls]
        first = item_at(test_tls[0].items, 0) if len(test_tls[0]) else None
        if rm_tfms is None:
            rm_tfms = [tl.infer_idx(first) if first is not None else 0 for tl in test_tls]
        elif not is_listy(rm_tfms):
            rm_tfms = [rm_tfms] * len(test_tls)
        for tl, j in zip(test_tls, rm_tfms, strict=False):
            tl.tfms = Pipeline(list(tl.tfms.fs)[j:], split_idx=1)
        return Datasets(tls=test_tls, n_inp=min(dsets.n_inp, len(test_tls)), dl_type=dsets.dl_type)
    if isinstance(dsets, TfmdLists):
        tl = dsets._new(test_items, split_idx=1)
        j = rm_tfms if rm_tfms is not None else (tl.infer_idx(item_at(tl.items, 0)) if len(tl) else 0)
        tl.tfms = Pipeline(list(tl.tfms.fs)[j:], split_idx=1)
        return tl
    raise TypeError(f"test_set: expected Datasets or TfmdLists, got {type(dsets).__name__}")


test_set.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name
