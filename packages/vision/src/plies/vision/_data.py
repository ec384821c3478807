"""DataLoaders factories for vision: `ImageDataLoaders` (classification) and `SegmentationDataLoaders`.

Each factory builds a `DataBlock` (an `ImageBlock` input, a target block, a splitter and getters)
as fastai's of the same name and returns its `DataLoaders`. Keywords beyond a factory's own go to
`DataBlock.dataloaders` (`bs`, `val_bs`, `shuffle`, `device`, `num_workers`...); a misspelled one
raises TypeError suggesting the closest name, before any file is read.

`skip_invalid=True` (a plies option) opens every image first (`verify_images`), leaves out those
that cannot be read and warns listing them; without it, an unreadable image raises when its item
is loaded, naming the file and the item index.
"""

from __future__ import annotations

import csv
import inspect
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from plies.loaders import (
    CategoryBlock,
    ColReader,
    ColSplitter,
    DataBlock,
    DataLoaders,
    Datasets,
    GrandparentSplitter,
    MultiCategoryBlock,
    RandomSplitter,
    RegexLabeller,
    RegressionBlock,
    TfmdDL,
    get_image_files,
    parent_label,
)
from plies.pipes import using_attr
from plies.typecore import L, accepted_kwargs, is_listy, unknown_kwargs_message

from ._blocks import ImageBlock, MaskBlock
from ._core import PILImage, verify_image

__all__ = ["ImageDataLoaders", "SegmentationDataLoaders"]


def _dataloaders_keywords() -> set[str]:
    """The keywords `DataBlock.dataloaders` accepts (its own, the DataLoader's, `val_` ones checked apart)."""
    own = {p for p in inspect.signature(Datasets.dataloaders).parameters if p not in ("self", "kwargs")}
    return own | set(accepted_kwargs(TfmdDL) or ()) | {"verbose"}


def _check_kwargs(who: str, kwargs: dict[str, Any], *factories: Callable[..., Any]) -> None:
    """TypeError for keywords that neither the factories nor `DataBlock.dataloaders` accept."""
    own = {p for f in factories for p in inspect.signature(f).parameters if p not in ("cls", "kwargs")}
    known = own | _dataloaders_keywords()
    unknown = [k for k in kwargs if k not in known and k.removeprefix("val_") not in known]
    if unknown:
        raise TypeError(unknown_kwargs_message(f"{who}()", unknown, known))


def _readable(who: str, items: Sequence[Any], paths: Callable[[Any], Sequence[Any]]) -> list[bool]:
    """Which of `items` have all their image files (`paths(item)`) readable; warns listing the others."""
    keep, bad = [], []
    for item in items:
        unreadable = [p for p in paths(item) if not verify_image(p)]
        keep.append(not unreadable)
        bad += unreadable
    if bad:
        if not any(keep):
            raise ValueError(f"{who}: none of the {len(items)} items has a readable image (first: {bad[0]})")
        shown = ", ".join(str(p) for p in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        warnings.warn(
            f"{who}: skip_invalid left out {len(keep) - sum(keep)} of {len(items)} items whose image "
            f"cannot be read: {shown}",
            stacklevel=3,
        )
    return keep


def _keep(items: Sequence[Any], keep: list[bool]) -> L:
    return L(o for o, k in zip(items, keep, strict=True) if k)


def _splitter(valid_pct: float, seed: int | None) -> Any:
    return RandomSplitter(valid_pct, seed=seed)


class ImageDataLoaders(DataLoaders):
    """DataLoaders for image classification from folders, file names, a data frame, a csv or lists (fastai's).

    The factories return `DataLoaders` (the training and validation loaders) built by a `DataBlock`
    of `ImageBlock(img_cls)` and a category block.
    """

    @classmethod
    def from_folder(
        cls,
        path: str | os.PathLike,
        train: str = "train",
        valid: str = "valid",
        valid_pct: float | None = None,
        seed: int | None = None,
        vocab: Sequence[Any] | None = None,
        item_tfms: Any = None,
        batch_tfms: Any = None,
        img_cls: type = PILImage,
        skip_invalid: bool = False,
        **kwargs: Any,
    ) -> DataLoaders:
        """Images in `path/train/<label>/` and `path/valid/<label>/` (ImageNet style), labelled by folder.

        With `valid_pct`, every image under `path` is taken and a random `valid_pct` of them (seeded
        by `seed`) is the validation set. `vocab` fixes the labels and their order.
        """
        _check_kwargs("ImageDataLoaders.from_folder", kwargs, cls.from_folder)
        if valid_pct is None:
            splitter = GrandparentSplitter(train_name=train, valid_name=valid)
            items = get_image_files(path, folders=[train, valid])
        else:
            splitter, items = _splitter(valid_pct, seed), get_image_files(path)
        if skip_invalid:
            items = _keep(items, _readable("ImageDataLoaders.from_folder", items, lambda o: [o]))
        dblock = DataBlock(
            blocks=(ImageBlock(img_cls), CategoryBlock(vocab=vocab)),
            splitter=splitter,
            get_y=parent_label,
            item_tfms=item_tfms,
            batch_tfms=batch_tfms,
        )
        return cls.from_dblock(dblock, items, path=path, **kwargs)

    @classmethod
    def from_path_func(
        cls,
        path: str | os.PathLike,
        fnames: Sequence[Any],
        label_func: Callable[[Any], Any],
        valid_pct: float = 0.2,
        seed: int | None = None,
        item_tfms: Any = None,
        batch_tfms: Any = None,
        img_cls: type = PILImage,
        skip_invalid: bool = False,
        **kwargs: Any,
    ) -> DataLoaders:
        """Images `fnames` labelled by `label_func(fname)`; a random `valid_pct` (seeded) for validation."""
        _check_kwargs("ImageDataLoaders.from_path_func", kwargs, cls.from_path_func)
        return cls._from_path_func(
            "ImageDataLoaders.from_path_func",
            path,
            fnames,
            label_func,
            valid_pct=valid_pct,
            seed=seed,
            item_tfms=item_tfms,
            batch_tfms=batch_tfms,
            img_cls=img_cls,
            skip_invalid=skip_invalid,
            **kwargs,
        )

    @classmethod
    def _from_path_func(
        cls,
        who: str,
        path: str | os.PathLike,
        fnames: Sequence[Any],
        label_func: Callable[[Any], Any],
        valid_pct: float = 0.2,
        seed: int | None = None,
        item_tfms: Any = None,
        batch_tfms: Any = None,
        img_cls: type = PILImage,
        skip_invalid: bool = False,
        **kwargs: Any,
    ) -> DataLoaders:
        fnames = L(list(fnames))
        if skip_invalid:
            fnames = _keep(fnames, _readable(who, fnames, lambda o: [o]))
        dblock = DataBlock(
            blocks=(ImageBlock(img_cls), CategoryBlock),
            splitter=_splitter(valid_pct, seed),
            get_y=label_func,
            item_tfms=item_tfms,
            batch_tfms=batch_tfms,
        )
        return cls.from_dblock(dblock, fnames, path=path, **kwargs)

    @classmethod
    def from_name_func(
        cls, path: str | os.PathLike, fnames: Sequence[Any], label_func: Callable[[Any], Any], **kwargs: Any
    ) -> DataLoaders:
        """Images `fnames` labelled by `label_func(fname.name)`; the keywords of `from_path_func`."""
        _check_kwargs("ImageDataLoaders.from_name_func", kwargs, cls.from_name_func, cls.from_path_func)
        return cls._from_path_func(
            "ImageDataLoaders.from_name_func", path, fnames, using_attr(label_func, "name"), **kwargs
        )

    @classmethod
    def from_path_re(
        cls, path: str | os.PathLike, fnames: Sequence[Any], pat: str, **kwargs: Any
    ) -> DataLoaders:
        """Images `fnames` labelled by the first group of regex `pat` searched in the whole path."""
        _check_kwargs("ImageDataLoaders.from_path_re", kwargs, cls.from_path_re, cls.from_path_func)
        return cls._from_path_func(
            "ImageDataLoaders.from_path_re", path, fnames, RegexLabeller(pat), **kwargs
        )

    @classmethod
    def from_name_re(
        cls, path: str | os.PathLike, fnames: Sequence[Any], pat: str, **kwargs: Any
    ) -> DataLoaders:
        """Images `fnames` labelled by the first group of regex `pat` matched in the file name
        (`pat=r'^(.*)_\\d+.jpg$'` for the pets); a pattern with a `/` (the paper's
        `r'/([^/]+)_\\d+.jpg$'`) is matched against the whole path, where the `/` can match."""
        _check_kwargs("ImageDataLoaders.from_name_re", kwargs, cls.from_name_re, cls.from_path_func)
        labeller = RegexLabeller(pat) if "/" in pat else using_attr(RegexLabeller(pat), "name")
        return cls._from_path_func("ImageDataLoaders.from_name_re", path, fnames, labeller, **kwargs)

    @classmethod
    def from_df(
        cls,
        df: Any,
        path: str | os.PathLike = ".",
        valid_pct: float = 0.2,
        seed: int | None = None,
        fn_col: Any = 0,
        folder: str | None = None,
        suff: str = "",
        label_col: Any = 1,
        label_delim: str | None = None,
        y_block: Any = None,
        valid_col: Any = None,
        item_tfms: Any = None,
        batch_tfms: Any = None,
        img_cls: type = PILImage,
        skip_invalid: bool = False,
        **kwargs: Any,
    ) -> DataLoaders:
        """Images named in column `fn_col` of `df` (under `path/folder`, with suffix `suff`), labels in
        `label_col` (several labels split by `label_delim`: multi-label); `valid_col` (booleans) marks
        the validation rows, else a random `valid_pct`."""
        who = "ImageDataLoaders.from_df"
        _check_kwargs(who, kwargs, cls.from_df)
        pref = f"{Path(path) if folder is None else Path(path) / folder}{os.path.sep}"
        if y_block is None:
            is_multi = (is_listy(label_col) and len(label_col) > 1) or label_delim is not None
            y_block = MultiCategoryBlock if is_multi else CategoryBlock
        get_x = ColReader(fn_col, pref=pref, suff=suff)
        if skip_invalid:
            df = df[_readable(who, [row for _, row in df.iterrows()], lambda row: [get_x(row)])]
        dblock = DataBlock(
            blocks=(ImageBlock(img_cls), y_block),
            get_x=get_x,
            get_y=ColReader(label_col, label_delim=label_delim),
            splitter=_splitter(valid_pct, seed) if valid_col is None else ColSplitter(valid_col),
            item_tfms=item_tfms,
            batch_tfms=batch_tfms,
        )
        return cls.from_dblock(dblock, df, path=path, **kwargs)

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike,
        csv_fname: str = "labels.csv",
        header: Any = "infer",
        delimiter: str | None = None,
        quoting: int = csv.QUOTE_MINIMAL,
        **kwargs: Any,
    ) -> DataLoaders:
        """`from_df` on the data frame read from `path/csv_fname` (pandas' `read_csv` with these options)."""
        _check_kwargs("ImageDataLoaders.from_csv", kwargs, cls.from_csv, cls.from_df)
        import pandas as pd

        sep = {} if delimiter is None else {"delimiter": delimiter}  # None: pandas' default, a comma
        df = pd.read_csv(Path(path) / csv_fname, header=header, quoting=quoting, **sep)
        return cls.from_df(df, path=path, **kwargs)

    @classmethod
    def from_lists(
        cls,
        path: str | os.PathLike,
        fnames: Sequence[Any],
        labels: Sequence[Any],
        valid_pct: float = 0.2,
        seed: int | None = None,
        y_block: Any = None,
        item_tfms: Any = None,
        batch_tfms: Any = None,
        img_cls: type = PILImage,
        skip_invalid: bool = False,
        **kwargs: Any,
    ) -> DataLoaders:
        """Images `fnames` with `labels` (one per image): categories, several labels (multi-label) or
        floats (regression) unless `y_block` says which."""
        who = "ImageDataLoaders.from_lists"
        _check_kwargs(who, kwargs, cls.from_lists)
        fnames, labels = list(fnames), list(labels)
        if len(fnames) != len(labels):
            raise ValueError(f"{who}: {len(fnames)} fnames but {len(labels)} labels")
        if not fnames:
            raise ValueError(f"{who}: no fnames given")
        if y_block is None:
            first = labels[0]
            is_multi = is_listy(first) and len(first) > 1
            y_block = (
                MultiCategoryBlock
                if is_multi
                else (RegressionBlock if isinstance(first, float) else CategoryBlock)
            )
        if skip_invalid:
            keep = _readable(who, fnames, lambda o: [o])
            fnames, labels = list(_keep(fnames, keep)), list(_keep(labels, keep))
        dblock = DataBlock.from_columns(
            blocks=(ImageBlock(img_cls), y_block),
            splitter=_splitter(valid_pct, seed),
            item_tfms=item_tfms,
            batch_tfms=batch_tfms,
        )
        return cls.from_dblock(dblock, (fnames, labels), path=path, **kwargs)


class SegmentationDataLoaders(DataLoaders):
    """DataLoaders for segmentation: images and their masks (fastai's)."""

    @classmethod
    def from_label_func(
        cls,
        path: str | os.PathLike,
        fnames: Sequence[Any],
        label_func: Callable[[Any], Any],
        valid_pct: float = 0.2,
        seed: int | None = None,
        codes: Sequence[Any] | None = None,
        item_tfms: Any = None,
        batch_tfms: Any = None,
        img_cls: type = PILImage,
        skip_invalid: bool = False,
        **kwargs: Any,
    ) -> DataLoaders:
        """Images `fnames` with the masks `label_func(fname)` (files of class codes, named by `codes`).

        `label_func` gets only the targets: a lambda is fine, an exported learner does not need it.
        With `skip_invalid`, an item is left out when its image or its mask cannot be read.
        """
        who = "SegmentationDataLoaders.from_label_func"
        _check_kwargs(who, kwargs, cls.from_label_func)
        fnames = L(list(fnames))
        if skip_invalid:
            fnames = _keep(fnames, _readable(who, fnames, lambda o: [o, label_func(o)]))
        dblock = DataBlock(
            blocks=(ImageBlock(img_cls), MaskBlock(codes=codes)),
            splitter=_splitter(valid_pct, seed),
            get_y=label_func,
            item_tfms=item_tfms,
            batch_tfms=batch_tfms,
        )
        return cls.from_dblock(dblock, fnames, path=path, **kwargs)
