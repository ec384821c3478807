"""`DataLoaders`: the training, validation (and more) DataLoaders of a task, with their device and path.

It also describes the validation data pipeline as plain data (`inference_state`) and rebuilds an
inference-only `DataLoaders` from it (`from_inference_state`, both in `_inference_state.py`):
this is how an exported model gets its `test_dl(items)` back without pickle.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from plies.pipes import Pipeline
from plies.typecore import to_device

from ._datasets import Datasets, TfmdLists, test_set
from ._inference_state import from_inference_state, inference_state
from ._registries import DATASETS
from ._tfmddl import _BATCH_TFMS, TfmdDL

__all__ = ["DataLoaders"]


class _TorchLoader:
    """A torch `DataLoader` seen as a plies loader: batches moved to `device`, `one_batch`, `new`."""

    def __init__(self, loader: Any, device: Any = None) -> None:
        self.loader, self.device = loader, device

    def __iter__(self) -> Iterator[Any]:
        for b in self.loader:
            # non-blocking: a copy from pinned memory (pin_memory=True) does not wait for the GPU's queue
            yield b if self.device is None else to_device(b, self.device, non_blocking=True)

    def __len__(self) -> int:
        return len(self.loader)

    def to(self, device: Any) -> _TorchLoader:
        self.device = device
        return self

    def one_batch(self) -> Any:
        batches = iter(self)
        try:
            return next(batches)
        finally:
            batches.close()  # let torch shut its workers (or pin-memory thread) down now, not at gc

    @property
    def dataset(self) -> Any:
        return self.loader.dataset

    @property
    def bs(self) -> int | None:
        return self.loader.batch_size

    @property
    def n(self) -> int:
        return len(self.loader.dataset)


def _as_loader(dl: Any) -> Any:
    return _TorchLoader(dl) if isinstance(dl, torch.utils.data.DataLoader) else dl


class DataLoaders:
    """Group DataLoaders (training first, then validation, ...) with the `path` and `device` of a task.

    torch `DataLoader`s are accepted too (wrapped so that they move batches to `device`).
    """

    def __init__(self, *loaders: Any, path: str | Path = ".", device: Any = None) -> None:
        self.loaders = [_as_loader(dl) for dl in loaders]
        self.path = Path(path)
        self._device = None
        if device is not None:
            self.device = device

    def __getitem__(self, i: int) -> Any:
        return self.loaders[i]

    def __getattr__(self, name: str) -> Any:
        # as in fastai, other attributes are the training loader's (dls.bs, dls.decode_batch, ...)
        if name.startswith("_") or name == "loaders":
            raise AttributeError(name)
        if not self.__dict__.get("loaders"):
            raise AttributeError(f"'DataLoaders' object has no attribute {name!r} (and no loaders)")
        try:
            return getattr(self.loaders[0], name)
        except AttributeError:
            raise AttributeError(
                f"'DataLoaders' object has no attribute {name!r}, nor has its training "
                f"loader ({type(self.loaders[0]).__name__})"
            ) from None

    def __len__(self) -> int:
        return len(self.loaders)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.loaders)

    @property
    def train(self) -> Any:
        """The training DataLoader (loader 0)."""
        return self._loader(0, "train")

    @property
    def valid(self) -> Any:
        """The validation DataLoader (loader 1)."""
        return self._loader(1, "valid")

    def _loader(self, i: int, name: str) -> Any:
        if i >= len(self.loaders):
            raise IndexError(f"DataLoaders.{name}: there are only {len(self.loaders)} loaders")
        return self.loaders[i]

    @property
    def train_ds(self) -> Any:
        """The training dataset."""
        return self.train.dataset

    @property
    def valid_ds(self) -> Any:
        """The validation dataset."""
        return self.valid.dataset

    @property
    def device(self) -> Any:
        """The device batches are moved to (setting it moves every loader)."""
        if self._device is not None:
            return self._device
        return getattr(self.loaders[0], "device", None) if self.loaders else None

    @device.setter
    def device(self, device: Any) -> None:
        self._device = device
        for dl in self.loaders:
            dl.to(device)

    def to(self, device: Any) -> DataLoaders:
        """Make every loader yield batches on `device`; returns self."""
        self.device = device
        return self

    def cuda(self) -> DataLoaders:
        """Move batches to the current CUDA device."""
        return self.to(torch.device("cuda", torch.cuda.current_device()))

    def cpu(self) -> DataLoaders:
        """Move batches to the CPU."""
        return self.to(torch.device("cpu"))

    def one_batch(self) -> Any:
        """One batch of the training DataLoader."""
        return self.train.one_batch()

    @property
    def n_inp(self) -> int:
        """Number of inputs in a batch (the rest are targets)."""
        return self.train.n_inp

    @property
    def vocab(self) -> Any:
        """The vocab of the last target with one (e.g. the labels of a Categorize)."""
        return self.train_ds.vocab

    @property
    def c(self) -> int:
        """Number of model outputs the targets call for: the vocab's length, or a regression's `c`."""
        try:
            return len(self.vocab)
        except AttributeError:
            pass
        for tl in reversed(list(getattr(self.train_ds, "tls", []))):
            for f in reversed(list(tl.tfms.fs)):
                if getattr(f, "c", None) is not None:
                    return int(f.c)
        raise AttributeError("DataLoaders.c: no target transform knows the number of outputs (no vocab or c)")

    def test_dl(
        self, test_items: Any, rm_type_tfms: Any = None, with_labels: bool = False, **kwargs: Any
    ) -> Any:
        """A DataLoader over `test_items` with the validation pipelines (inputs only unless `with_labels`)."""
        valid_ds = self.valid_ds
        if isinstance(valid_ds, (Datasets, TfmdLists)):
            test_ds = test_set(valid_ds, test_items, rm_tfms=rm_type_tfms, with_labels=with_labels)
        elif DATASETS.find_name(type(valid_ds)) is not None:  # a registered dataset class
            test_ds = valid_ds.test_set(test_items, with_labels=with_labels)
        else:
            test_ds = test_items
        return self.valid.new(test_ds, **kwargs)

    def show_batch(
        self, b: Any = None, max_n: int = 9, ctxs: Any = None, show: bool = True, **kwargs: Any
    ) -> Any:
        """Show a batch of the training DataLoader (see `TfmdDL.show_batch`)."""
        return self.train.show_batch(b=b, max_n=max_n, ctxs=ctxs, show=show, **kwargs)

    def show_results(
        self, b: Any, out: Any, max_n: int = 9, ctxs: Any = None, show: bool = True, **kwargs: Any
    ) -> Any:
        """Show a validation batch with predictions (see `TfmdDL.show_results`)."""
        return self.valid.show_results(b, out, max_n=max_n, ctxs=ctxs, show=show, **kwargs)

    def new_empty(self) -> DataLoaders:
        """The same loaders and pipelines over no items (what an exported model keeps)."""
        loaders = [dl.new(dl.dataset.new_empty()) for dl in self.loaders]
        return type(self)(*loaders, path=self.path, device=self.device)

    @classmethod
    def from_dsets(
        cls,
        *ds: Any,
        path: str | Path = ".",
        bs: int = 64,
        device: Any = None,
        dl_type: type = TfmdDL,
        **kwargs: Any,
    ) -> DataLoaders:
        """DataLoaders over datasets `ds` (first one shuffled); keywords: one value or one per dataset."""
        first = tuple(i == 0 for i in range(len(ds)))
        per_ds: dict[str, tuple] = {"shuffle": first, "drop_last": first}
        for k, v in kwargs.items():
            if k in _BATCH_TFMS:
                per_ds[k] = tuple(Pipeline(v) for _ in ds)
            else:
                per_ds[k] = tuple(v) if isinstance(v, tuple) and len(v) == len(ds) else (v,) * len(ds)
        loaders = [dl_type(d, bs=bs, **{k: v[i] for k, v in per_ds.items()}) for i, d in enumerate(ds)]
        return cls(*loaders, path=path, device=device)

    @classmethod
    def from_dblock(cls, dblock: Any, source: Any, path: str | Path = ".", **kwargs: Any) -> Any:
        """`dblock.dataloaders(source, path=path, **kwargs)` (the fastai spelling)."""
        return dblock.dataloaders(source, path=path, **kwargs)

    def add_tfms(self, tfms: Any, event_name: str, loaders: Any = None) -> None:
        """Add `tfms` to the `event_name` Pipeline (after_item, before_batch or after_batch) of `loaders`.

        `loaders`: indices or names (`'train'`, `'valid'`); all loaders when None.
        """
        if event_name not in _BATCH_TFMS:
            raise ValueError(
                f"DataLoaders.add_tfms: event_name must be one of {list(_BATCH_TFMS)}, got {event_name!r}"
            )
        names = {"train": 0, "valid": 1}
        targets = self.loaders if loaders is None else [self.loaders[names.get(i, i)] for i in loaders]
        for dl in targets:
            getattr(dl, event_name).add(tfms)

    # ---- plain-data description of the inference pipeline ----------------------------------
    def inference_state(self) -> dict[str, Any]:
        """The validation data pipeline as plain data (no pickle): loader class, dataset, pipelines, bs.

        Training-only transforms are left out. Leading transforms of an output that cannot be saved
        (lambda getters...) are left out and listed under `dropped`: `test_dl` on the rebuilt
        loaders then expects items of the type the first kept transform receives. Any other
        transform that cannot be saved raises KeyError (or TypeError) naming it and how to register it.
        """
        dl = self.valid if len(self.loaders) > 1 else self.train
        return inference_state(dl, str(self.path))

    @classmethod
    def from_inference_state(cls, state: dict[str, Any], device: Any = None) -> DataLoaders:
        """Rebuild (empty) DataLoaders from `inference_state()`; `test_dl(items)` and decoding work on them.

        Only registered classes and functions (`register_transform`, `register_dataloader`,
        `register_dataset`) and those found by name in already imported modules are created.
        Batches go to `device`, by default `default_device()` (a GPU when there is one).
        """
        dl, path = from_inference_state(state, device)
        return cls(dl, dl.new(), path=path, device=dl.device)
