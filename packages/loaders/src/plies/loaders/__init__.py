"""plies.loaders: The mid-level data API: `DataLoader`, `TfmdLists`, `Datasets`, `DataLoaders`, the data block API."""

from .__about__ import __version__

__all__: list[str] = ["__version__"]
