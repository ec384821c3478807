"""plies.loaders: The mid-level data API: `DataLoader`, `TfmdLists`, `Datasets`, `DataLoaders`, the data block API."""

from ._collate import fa_collate, fa_convert
from ._dataloader import DataLoader
from .__about__ import __version__

__all__: list[str] = [
    "__version__",
    "DataLoader",
    "fa_collate",
    "fa_convert",
]
