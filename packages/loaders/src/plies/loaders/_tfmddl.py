"""`TfmdDL`: a DataLoader whose `after_item`, `before_batch` and `after_batch` stages are Pipelines.

It can decode a batch (run the pipelines backwards, down to displayable types) and show it:
`show_batch`/`show_results` dispatch on the types of (x, y), so each app adds its own display.
"""

from __future__ import annotations

from typing import Any, cast

from plies.pipes import Pipeline
from plies.typecore import L, retain_types, to_cpu, to_device

from ._collate import batch_to_samples
from ._dataloader import DataLoader, _detuplify
from ._registries import register_dataloader
from ._show import show_batch, show_results

__all__ = ["TfmdDL"]

_BATCH_TFMS = ("after_item", "before_batch", "after_batch")


def _explode_types(o: Any) -> Any:
    """The nested types of a batch: a tuple of the fields' types for tuples/lists, else the type."""
    if isinstance(o, (tuple, list)):
        return tuple(_explode_types(x) for x in o)
    return type(o)


def _setup_pipeline(pipe: Pipeline, dl: TfmdDL, verbose: bool) -> None:
    """Set up each transform of `pipe` on `dl`, the pipeline holding only the ones before it meanwhile."""
    tfms = list(pipe.fs)
    pipe.fs = L()
    for t in tfms:
        if verbose:
            print(f"Setting up {getattr(t, 'name', t)}")
        t.setup(dl, False)
        pipe.fs = L([*pipe.fs, t])


@register_dataloader
class TfmdDL(DataLoader):
    """A DataLoader whose `after_item`, `before_batch` and `after_batch` are Pipelines of transforms.

    Batch transforms are set up on this DataLoader when it is created (`do_setup`), in order, so
    e.g. `Normalize` computes its statistics from one batch passed through the transforms before it.
    """

    _new_handles = DataLoader._new_handles | {"verbose", "do_setup"}

    def __init__(
        self,
        dataset: Any = None,
        bs: int | None = 64,
        shuffle: bool = False,
        num_workers: int = 0,
        verbose: bool = False,
        do_setup: bool = True,
        **kwargs: Any,
    ) -> None:
        for name in _BATCH_TFMS:
            kwargs[name] = Pipeline(kwargs.get(name))
        super().__init__(dataset, bs=bs, shuffle=shuffle, num_workers=num_workers, **kwargs)
        self._set_split_idx()
        if do_setup:
            for name in _BATCH_TFMS:
                _setup_pipeline(getattr(self, name), self, verbose)

    def _set_split_idx(self) -> None:
        split_idx = getattr(self.dataset, "split_idx", None)
        for name in _BATCH_TFMS:
            f = getattr(self, name)
            if isinstance(f, Pipeline):
                f.split_idx = split_idx

    def before_iter(self) -> None:
        """Pass the dataset's subset index to the batch pipelines (so e.g. augmentations skip validation)."""
        self._set_split_idx()

    def new(self, dataset: Any = None, cls: type | None = None, **kwargs: Any) -> TfmdDL:
        """A TfmdDL like this one (same pipelines, already set up) with `kwargs` changed."""
        kwargs.setdefault("do_setup", False)
        res = cast(TfmdDL, super().new(dataset, cls, **kwargs))
        if "_types" not in self.__dict__ and self.n:
            self._one_pass()
        if "_types" in self.__dict__:  # a test loader's batches (and predictions) get this loader's types
            res._types = self._types
        return res

    # ---- types, decoding, display ----------------------------------------------------------
    @property
    def n_inp(self) -> int:
        """Number of inputs in a batch (the rest are targets): from the dataset, else from one batch."""
        n = getattr(self.dataset, "n_inp", None)
        if n is not None:
            return int(n)
        b = self._one_pass()
        return 1 if not isinstance(b, (tuple, list)) or len(b) == 1 else len(b) - 1

    def _one_pass(self) -> Any:
        """Build one batch of one item, recording the batch's nested types (to re-type model outputs)."""
        if not self.indexed:  # a stream has no item 0: use its first batch
            its = self.one_batch()
        else:
            b = self.do_batch([self.do_item(0)]) if self.bs is not None else self.do_batch(self.do_item(0))
            if self.device is not None:
                b = to_device(b, self.device)
            its = self.after_batch(b)
        self._types = _explode_types(its)
        return its

    def _retain_dl(self, b: Any) -> Any:
        """`b` with the semantic types of this loader's batches (model outputs lose them); fields beyond
        those of a batch (e.g. predictions added to a test batch) are left as they are."""
        if "_types" not in self.__dict__:
            if self.n == 0:
                return b
            self._one_pass()
        types = self._types
        if isinstance(b, (tuple, list)) and isinstance(types, tuple):
            kept = [retain_types(x, typs=t) for x, t in zip(b, types, strict=False)]
            return type(b)([*kept, *b[len(kept) :]])
        return retain_types(b, typs=types)

    def decode(self, b: Any) -> Any:
        """Undo `after_batch` on batch `b` (types restored first) and move it to the CPU."""
        return to_cpu(cast(Pipeline, self.after_batch).decode(self._retain_dl(b)))

    def decode_batch(self, b: Any, max_n: int = 9, full: bool = True) -> L:
        """Decode batch `b` into at most `max_n` samples, each run back through every pipeline."""
        return self._decode_batch(self.decode(b), max_n, full)

    def _decode_batch(self, b: Any, max_n: int = 9, full: bool = True) -> L:
        ds_decode = getattr(self.dataset, "decode", None)

        def _decode(sample: Any) -> Any:
            sample = cast(Pipeline, self.after_item).decode(cast(Pipeline, self.before_batch).decode(sample))
            return ds_decode(sample, full=full) if ds_decode is not None else sample

        return L(_decode(s) for s in batch_to_samples(b, max_n=max_n))

    def _pre_show_batch(self, b: Any, max_n: int = 9) -> tuple[Any, Any, Any]:
        b = self.decode(b)
        if hasattr(b, "show"):
            return b, None, None
        its = self._decode_batch(b, max_n, full=False)
        if not isinstance(b, (tuple, list)):
            b, its = [b], L((o,) for o in its)
        n_inp = self.n_inp
        return _detuplify(b[:n_inp]), _detuplify(b[n_inp:]), its

    def show_batch(
        self,
        b: Any = None,
        max_n: int = 9,
        ctxs: Any = None,
        show: bool = True,
        unique: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Show `max_n` samples of batch `b` (one drawn when None) with the `show_batch` for its types.

        `unique=True` draws a batch of the first item repeated (to see what random transforms do
        to one item). With `show=False` return the decoded `(x, y, samples)` instead.
        """
        if b is None:
            b = self.one_batch() if not unique else self._unique_batch()
        x, y, its = self._pre_show_batch(b, max_n=max_n)
        if not show:
            return x, y, its
        return show_batch(x, y, its, ctxs=ctxs, max_n=max_n, **kwargs)

    def _unique_batch(self) -> Any:
        """One batch made of item 0 repeated (get_idxs replaced for the call)."""
        had = "get_idxs" in self.__dict__
        old = self.__dict__.get("get_idxs")
        self.get_idxs = lambda: [0] * (self.n or 1)  # type: ignore[method-assign]
        try:
            return self.one_batch()
        finally:
            if had:
                self.get_idxs = old  # type: ignore[method-assign,assignment]
            else:
                del self.get_idxs

    def show_results(
        self, b: Any, out: Any, max_n: int = 9, ctxs: Any = None, show: bool = True, **kwargs: Any
    ) -> Any:
        """Show inputs and targets of batch `b` with the decoded predictions `out` beside them."""
        x, y, its = self.show_batch(b, max_n=max_n, show=False)
        n_inp = self.n_inp
        b_out = type(b)(tuple(b[:n_inp]) + (tuple(out) if isinstance(out, (tuple, list)) else (out,)))
        _, _, outs = self.show_batch(b_out, max_n=max_n, show=False)
        res = (x, y, its, L(o[n_inp:] for o in outs))
        if not show:
            return res
        return show_results(*res, ctxs=ctxs, max_n=max_n, **kwargs)

    @property
    def vocab(self) -> Any:
        """The dataset's vocab (from its last target pipeline with a Categorize-like transform)."""
        try:
            return self.dataset.vocab
        except AttributeError:
            raise AttributeError(
                f"{type(self).__name__}: the dataset ({type(self.dataset).__name__}) has no vocab"
            ) from None
