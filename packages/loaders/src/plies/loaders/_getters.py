"""Getting items and labels: `get_files`, `get_image_files`, `ColReader`, `RegexLabeller`, `parent_label`."""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from plies.pipes import DisplayedTransform, ItemTransform, register_transform
from plies.typecore import L, listify

__all__ = [
    "get_files",
    "get_image_files",
    "FileGetter",
    "ImageGetter",
    "image_extensions",
    "ColReader",
    "ItemGetter",
    "AttrGetter",
    "RegexLabeller",
    "parent_label",
]

image_extensions: set[str] = {k for k, v in mimetypes.types_map.items() if v.startswith("image/")}


def _matching(folder: Path, names: Iterable[str], extensions: set[str] | None) -> list[Path]:
    res = [folder / n for n in names if not n.startswith(".")]
    if extensions is not None:
        res = [p for p in res if p.suffix.lower() in extensions]
    return res


def get_files(
    path: str | Path,
    extensions: Iterable[str] | str | None = None,
    recurse: bool = True,
    folders: Iterable[str] | str | None = None,
    followlinks: bool = True,
) -> L:
    """All files under `path` (sorted), optionally only those with `extensions` and inside `folders`."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"get_files: {str(path)!r} is not a folder")
    exts = None if extensions is None else {e.lower() for e in listify(extensions)}
    wanted = set(listify(folders)) if folders is not None else None
    found: list[Path] = []
    if recurse:
        for i, (root, dirs, files) in enumerate(os.walk(path, followlinks=followlinks)):
            if wanted is not None and i == 0:
                dirs[:] = [d for d in dirs if d in wanted]
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found += _matching(Path(root), sorted(files), exts)
    else:
        found = _matching(path, sorted(f.name for f in path.iterdir() if f.is_file()), exts)
    return L(found)


def get_image_files(path: str | Path, recurse: bool = True, folders: Iterable[str] | str | None = None) -> L:
    """All image files under `path` (by extension), sorted."""
    return get_files(path, extensions=image_extensions, recurse=recurse, folders=folders)


def FileGetter(
    suf: str = "",
    extensions: Iterable[str] | str | None = None,
    recurse: bool = True,
    folders: Iterable[str] | str | None = None,
) -> Callable[..., L]:
    """A `get_items` function: `get_files(path/suf, ...)` with these settings (keywords override them)."""

    def _inner(
        o: str | Path,
        extensions: Iterable[str] | str | None = extensions,
        recurse: bool = recurse,
        folders: Iterable[str] | str | None = folders,
    ) -> L:
        return get_files(Path(o) / suf, extensions=extensions, recurse=recurse, folders=folders)

    return _inner


def ImageGetter(
    suf: str = "", recurse: bool = True, folders: Iterable[str] | str | None = None
) -> Callable[..., L]:
    """A `get_items` function: `get_image_files(path/suf, ...)` with these settings."""

    def _inner(o: str | Path, recurse: bool = recurse, folders: Iterable[str] | str | None = folders) -> L:
        return get_image_files(Path(o) / suf, recurse=recurse, folders=folders)

    return _inner


@register_transform
def parent_label(o: Any) -> str:
    """Label a file path by the name of its parent folder."""
    return Path(o).parent.name


@register_transform
class RegexLabeller(DisplayedTransform):
    """Label an item by the first group of regex `pat` found in its path (`match=True`: from the start).

    As in fastai, the whole path is searched (as a string with `/` separators); to match the file
    name only, get it first: `Pipeline([attrgetter('name'), RegexLabeller(pat)])`.
    """

    def __init__(self, pat: str = "(.*)", match: bool = False) -> None:
        super().__init__()
        self.pat, self.match = pat, match
        self._re = re.compile(pat)

    def encodes(self, o: Any) -> str:
        text = str(o).replace(os.sep, "/")
        found = self._re.match(text) if self.match else self._re.search(text)
        if found is None or not found.groups():
            raise ValueError(
                f"RegexLabeller: pattern {self.pat!r} does not match {text!r}"
                + ("" if found is None else " with a group")
            )
        return found.group(1)

    def __repr__(self) -> str:
        return f"RegexLabeller({self.pat!r})"


@register_transform
class ColReader(DisplayedTransform):
    """Read column(s) `cols` of a DataFrame row, with optional prefix/suffix and `label_delim` splitting."""

    def __init__(
        self, cols: Any = 0, pref: str | Path = "", suff: str = "", label_delim: str | None = None
    ) -> None:
        super().__init__()
        self.cols, self.suff, self.label_delim = cols, suff, label_delim
        self.pref = str(pref) + os.sep if isinstance(pref, Path) else pref

    def _do_one(self, row: Any, col: Any) -> Any:
        try:
            o = row.iloc[col] if isinstance(col, int) else row[col]
        except (KeyError, IndexError) as e:
            cols = list(getattr(row, "index", []))
            raise KeyError(f"ColReader: no column {col!r} in the row (columns: {cols})") from e
        if not self.pref and not self.suff and self.label_delim is None:
            return o
        if self.label_delim is None:
            return f"{self.pref}{o}{self.suff}"
        return [] if o != o or o == "" else str(o).split(self.label_delim)

    def encodes(self, row: Any):
        if isinstance(self.cols, (list, tuple)):
            return [self._do_one(row, c) for c in self.cols]
        return self._do_one(row, self.cols)

    def __repr__(self) -> str:
        return f"ColReader({self.cols!r})"


@register_transform
class ItemGetter(ItemTransform):
    """Get element `i` of an item (`item[i]`), the item taken whole (a tuple is not split)."""

    def __init__(self, i: Any) -> None:
        super().__init__()
        self.i = i

    def encodes(self, x: Any):
        return x[self.i]

    def __repr__(self) -> str:
        return f"ItemGetter({self.i!r})"


@register_transform
class AttrGetter(ItemTransform):
    """Get attribute `nm` of an item (`default` when the item has no such attribute)."""

    def __init__(self, nm: str, default: Any = None) -> None:
        super().__init__()
        self.nm, self.default = nm, default

    def encodes(self, x: Any):
        return getattr(x, self.nm, self.default)

    def __repr__(self) -> str:
        return f"AttrGetter({self.nm!r})"
