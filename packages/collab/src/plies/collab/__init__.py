"""plies.collab: collaborative filtering: `CollabDataLoaders`, the `EmbeddingDotBias` and `EmbeddingNN`
models and `collab_learner`, on top of plies.tabular."""

from .__about__ import __version__
from ._data import CollabDataLoaders, TabularCollab
from ._learner import collab_learner
from ._models import EmbeddingDotBias, EmbeddingNN

__all__ = [
    "__version__",
    "TabularCollab",
    "CollabDataLoaders",
    "EmbeddingDotBias",
    "EmbeddingNN",
    "collab_learner",
]
