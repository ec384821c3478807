"""The text DataLoaders: `LMDataLoader` (one stream of tokens for language models) and `SortedDL`.

`LMDataLoader` concatenates the documents (in a new random order each epoch when shuffling)
into one stream of tokens, cuts it into `bs` rows and serves windows of `seq_len` tokens: batch
`i` holds columns `i*seq_len ... (i+1)*seq_len` of every row, so row `j` of consecutive batches
continues the same text (a recurrent model keeps its hidden state across batches), and the
target is the input shifted by one token. `SortedDL` batches texts of similar lengths together
(the validation set sorted by length, longest first; the training set shuffled, sorted within
chunks of 50 batches, then the batches shuffled, the longest batch first) so little padding is
needed. Both show batches as DataFrames of decoded texts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from plies.loaders import TfmdDL, batch_to_samples, register_dataloader, show_batch
from plies.pipes import Pipeline
from plies.typecore import L, LMTensorText, TensorText

__all__ = ["LMDataLoader", "SortedDL"]


def _maybe_first(o: Any) -> Any:
    return o[0] if isinstance(o, tuple) else o


def _text_len(item: Any) -> int:
    """The default sort key of `SortedDL`: the length of the item's first field."""
    return len(_maybe_first(item))


class _ShowTexts:
    """show_batch with fully decoded samples (strings), for the text loaders' DataFrame displays."""

    def show_batch(
        self: Any,
        b: Any = None,
        max_n: int = 9,
        ctxs: Any = None,
        show: bool = True,
        unique: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Show `max_n` samples of batch `b` (one drawn when None) as a DataFrame of decoded texts.

        With `show=False` return the decoded `(x, y, samples)` instead.
        """
        if b is None:
            b = self.one_batch()
        decoded = self.decode(b)
        fields = tuple(decoded) if isinstance(decoded, (tuple, list)) else (decoded,)
        samples = self.decode_batch(b, max_n=max_n)
        n_inp = self.n_inp
        x = fields[0] if n_inp == 1 else fields[:n_inp]
        rest = fields[n_inp:]
        y = (rest[0] if len(rest) == 1 else rest) if rest else None
        if not show:
            return x, y, samples
        return show_batch(x, y, samples, ctxs=ctxs, max_n=max_n, **kwargs)


@register_dataloader
class LMDataLoader(_ShowTexts, TfmdDL):
    """Batches of a language model: windows of `seq_len` tokens of `bs` rows of the concatenated texts.

    `lens`: the number of tokens of each text, when known (saves a pass over the data). Items are
    `(LMTensorText input, TensorText target)` with the target shifted by one token; shuffling
    shuffles the order of the texts each epoch (the windows stay in order).
    """

    pad_idx = 1

    def __init__(
        self,
        dataset: Any = None,
        lens: Sequence[int] | None = None,
        bs: int = 64,
        seq_len: int = 72,
        num_workers: int = 0,
        **kwargs: Any,
    ) -> None:
        if not isinstance(seq_len, int) or isinstance(seq_len, bool) or seq_len < 1:
            raise ValueError(f"LMDataLoader: seq_len must be a positive int, got {seq_len!r}")
        if not isinstance(bs, int) or isinstance(bs, bool) or bs < 1:
            raise ValueError(f"LMDataLoader: bs must be a positive int, got {bs!r}")
        if kwargs.get("world_size", 1) != 1:
            raise NotImplementedError(
                f"LMDataLoader: data-parallel loading (world_size={kwargs['world_size']}) is not supported: "
                "sharding the samples would give each process pieces of other rows' streams; train the "
                "language model in one process"
            )
        self.seq_len, self._docs, self._rows = seq_len, cast(list[Any] | None, None), None
        self.dataset = dataset
        n_docs = len(dataset) if dataset is not None else 0
        if lens is None:
            lens = [len(d) for d in self._documents()] if n_docs else []
        elif len(lens) != n_docs:
            raise ValueError(f"LMDataLoader: {len(lens)} lens for {n_docs} texts")
        self.lens = [int(n) for n in lens]
        n_tok = sum(self.lens)
        self.bl = max(n_tok - 1, 0) // bs  # tokens per row (the last token is only a target)
        self.n_batches = -(-self.bl // seq_len)
        self.last_len = self.bl - (self.n_batches - 1) * seq_len if self.n_batches else 0
        kwargs.pop("n", None)  # the number of samples follows from the texts
        super().__init__(dataset, bs=bs, num_workers=num_workers, n=self.n_batches * bs, **kwargs)

    def _documents(self) -> list[Any]:
        """The texts as tensors of ids, read from the dataset once."""
        if self._docs is None:
            ds = self.dataset
            self._docs = [_maybe_first(ds[i]) for i in range(len(ds))] if ds is not None else []
        return self._docs

    def _build_rows(self, order: Sequence[int] | None) -> None:
        docs = self._documents()
        if order is None:
            order = range(len(docs))
        stream = (
            torch.cat([torch.as_tensor(docs[i]).as_subclass(torch.Tensor) for i in order]) if docs else None
        )
        n = self.bs * self.bl
        if stream is None or n == 0:
            self._rows = (torch.zeros(self.bs, 0, dtype=torch.long),) * 2
            return
        self._rows = (stream[:n].view(self.bs, self.bl), stream[1 : n + 1].view(self.bs, self.bl))

    def get_idxs(self) -> range:
        """Order this epoch's texts (shuffled when `shuffle`, by the epoch's generator); cut the stream."""
        docs = self._documents()
        order = torch.randperm(len(docs), generator=self.generator).tolist() if self.shuffle else None
        self._build_rows(order)
        return range(self.n or 0)

    def create_item(self, s: Any) -> tuple[LMTensorText, TensorText]:
        """Sample `s`: row `s % bs` of window `s // bs` (input, target shifted by one)."""
        if self._rows is None:
            self._build_rows(None)
        assert self._rows is not None and self.bs is not None
        i, j = divmod(int(s), self.bs)
        start = i * self.seq_len
        length = self.seq_len if i < self.n_batches - 1 else self.last_len
        xs, ys = self._rows
        return LMTensorText(xs[j, start : start + length]), TensorText(ys[j, start : start + length])

    def new(self, dataset: Any = None, cls: type | None = None, **kwargs: Any) -> Any:
        """An LMDataLoader like this one (`lens` recomputed for another dataset)."""
        if dataset is not None:
            kwargs.setdefault("lens", None)
        return super().new(dataset, cls, **kwargs)

    def decode_batch(self, b: Any, max_n: int = 9, full: bool = True) -> L:
        """Decode batch `b` into at most `max_n` samples: the input and the target texts, decoded alike."""
        decoded = self.decode(b)
        ds = self.dataset
        tl = ds.tls[0] if hasattr(ds, "tls") else ds
        res = []
        for sample in batch_to_samples(decoded, max_n=max_n):
            sample = cast(Pipeline, self.after_item).decode(cast(Pipeline, self.before_batch).decode(sample))
            res.append(tuple(tl.decode(o) for o in sample))
        return L(res)


@register_dataloader
class SortedDL(_ShowTexts, TfmdDL):
    """A DataLoader that batches items of similar lengths (`sort_func`, default: length of the text).

    `res`: the sort key of each item when known (saves a pass over the data). The validation
    order is by decreasing key; the training order is shuffled by chunks (see the module doc).
    """

    pad_idx = 1

    def __init__(
        self,
        dataset: Any = None,
        sort_func: Callable[[Any], Any] | None = None,
        res: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(dataset, **kwargs)
        self.sort_func = _text_len if sort_func is None else sort_func
        n = len(dataset) if dataset is not None else 0
        if res is None:
            res = [self.sort_func(self.do_item(i)) for i in range(n)]
        elif len(res) != n:
            raise ValueError(f"SortedDL: {len(res)} sort keys (res) for {n} items")
        self.res = list(res)
        self.idx_max = max(range(n), key=self.res.__getitem__) if n else 0

    def get_idxs(self) -> list[int]:
        """Items by decreasing key; when shuffling, sorted within random chunks and batches shuffled."""
        n = len(self.res)
        if not self.shuffle:
            return sorted(range(n), key=lambda i: self.res[i], reverse=True)
        g = self.generator
        idxs = torch.randperm(n, generator=g).tolist()
        j = idxs.index(self.idx_max)
        idxs[0], idxs[j] = idxs[j], idxs[0]  # the longest item in the first batch: memory errors show at once
        bs = self.bs or 1
        size = bs * 50
        chunks = [
            sorted(idxs[i : i + size], key=lambda k: self.res[k], reverse=True) for i in range(0, n, size)
        ]
        flat = [k for c in chunks for k in c]
        batches = [flat[i : i + bs] for i in range(0, n, bs)]
        if len(batches) <= 2:
            return flat
        middle = [batches[1 + k] for k in torch.randperm(len(batches) - 2, generator=g).tolist()]
        return [k for b in [batches[0], *middle, batches[-1]] for k in b]

    def new(self, dataset: Any = None, cls: type | None = None, **kwargs: Any) -> Any:
        """A SortedDL like this one (the sort keys recomputed for another dataset)."""
        if dataset is not None:
            kwargs.setdefault("res", None)
        return super().new(dataset, cls, **kwargs)
