"""The registries of DataLoader classes and dataset classes an exported data pipeline may name.

An export records the validation loader's class and, for data not backed by `Datasets`, the
dataset's class by registered name; loading looks them up here (never importing anything).
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from plies.typecore import NamedRegistry

__all__ = ["register_dataloader", "register_dataset"]

T = TypeVar("T", bound=type)

DATALOADERS = NamedRegistry("DataLoader class", "decorate the class with @plies.loaders.register_dataloader")
DATASETS = NamedRegistry("dataset class", "decorate the class with @plies.loaders.register_dataset")
DATASET_PROTOCOL = ("inference_state", "from_inference_state", "test_set")


def register_dataloader(cls: T) -> T:
    """Class decorator: register a `TfmdDL` subclass so exports record it and `load_learner` rebuilds it.

    The class is rebuilt with TfmdDL's arguments (`dataset`, `bs`, `device`, the three batch
    pipelines, `do_setup=False`): it must accept them.
    """
    from ._dataloader import DataLoader  # this registry sits below the loader modules

    if not (inspect.isclass(cls) and issubclass(cls, DataLoader)):
        raise TypeError(f"register_dataloader: expected a TfmdDL subclass, found {_label(cls)}")
    DATALOADERS.register(cls)
    return cls


def register_dataset(cls: T) -> T:
    """Class decorator: register a dataset class (not `Datasets`) whose pipeline an export can keep.

    The class describes itself for inference: ``inference_state()`` returns plain data,
    the classmethod ``from_inference_state(state)`` rebuilds an empty dataset from it, and
    ``test_set(items, with_labels=False)`` gives a dataset over new items (what `test_dl` uses).
    A rebuilt dataset that defines no `n_inp` gets the number of inputs the exported loader had.
    """
    if not inspect.isclass(cls):
        raise TypeError(f"register_dataset: expected a class, found {_label(cls)}")
    missing = [m for m in DATASET_PROTOCOL if not callable(getattr(cls, m, None))]
    if missing:
        raise TypeError(
            f"register_dataset: {cls.__qualname__} lacks {', '.join(missing)} (a registered dataset "
            f"defines inference_state(), the classmethod from_inference_state(state) and test_set(items))"
        )
    DATASETS.register(cls)
    return cls


def _label(obj: Any) -> str:
    return getattr(obj, "__qualname__", type(obj).__name__)
