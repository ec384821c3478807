"""Error messages that name the failing step and item (index and value) of a pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._sources import item_at

if TYPE_CHECKING:
    from ._datasets import TfmdLists


def describe_item(o: Any, width: int = 80) -> str:
    """A short one-line description of a raw item for error messages (paths in full)."""
    if hasattr(o, "to_dict") and hasattr(o, "name"):
        text = f"row {o.name!r}: {o.to_dict()!r}"
    else:
        text = str(o) if hasattr(o, "__fspath__") else repr(o)
    return text if len(text) <= width else text[: width - 3] + "..."


def tfm_name(f: Any) -> str:
    """A transform's short name for messages: its function's or class's name, without arguments."""
    return str(getattr(f, "name", type(f).__name__)).split(" -- ")[0]


def _failing_step(tl: TfmdLists, item: Any) -> str:
    """Name of the first transform of `tl` that raises on `item` (re-running the steps one by one)."""
    x = item
    for k, f in enumerate(tl.tfms.fs):
        try:
            x = f(x, split_idx=tl.split_idx)
        except Exception:
            return f"step {k} ({tfm_name(f)})"
    return "a step (it did not fail again when re-run)"


def item_error(tl: TfmdLists, err: Exception, i: int, item: Any) -> Exception:
    """`err` re-raised with the failing step and item named (same builtin exception type)."""
    msg = f"{_failing_step(tl, item)} failed on item {i} ({describe_item(item)}): {type(err).__name__}: {err}"
    return _with_message(err, msg)


def setup_error(tl: TfmdLists, err: Exception, planned: list[Any], train_setup: bool) -> Exception:
    """`err` from a pipeline's setup, naming the transform being set up and, when an earlier step raised
    on an item, that item and step."""
    done = len(tl.tfms.fs)
    name = tfm_name(planned[done]) if done < len(planned) else "?"
    idxs = tl.splits[0] if train_setup and tl.splits is not None else range(len(tl))
    for i in idxs:
        x = item = item_at(tl.items, i)
        for k, f in enumerate(planned[:done]):
            try:
                x = f(x, split_idx=tl.split_idx)
            except Exception:
                label = tfm_name(f)
                return _with_message(
                    err,
                    f"step {k} ({label}) failed on item {i} ({describe_item(item)}) while "
                    f"setting up {name}: {type(err).__name__}: {err}",
                )
    return _with_message(err, f"setting up step {done} ({name}) failed: {type(err).__name__}: {err}")


def _with_message(err: Exception, msg: str) -> Exception:
    """An exception of `err`'s builtin type carrying `msg`; a non-builtin `err` gets `msg` as a note."""
    kind = type(err)
    if kind.__module__ == "builtins":
        try:
            return kind(msg)
        except TypeError:
            pass
    err.add_note(msg)
    return err
