"""plies.tabular: DataFrames for deep learning: `TabularPandas` and its procs, `TabularDataLoaders`,
`TabularModel` and `tabular_learner`, date features and DataFrame helpers."""

from .__about__ import __version__
from ._data import TabDataLoader, TabularDataLoaders
from ._dates import add_datepart, add_elapsed_times, make_date
from ._learner import TabularLearner, tabular_adam, tabular_learner
from ._model import TabularModel, emb_sz_rule, get_emb_sz, tabular_config
from ._procs import Categorify, FillMissing, FillStrategy, Normalize, TabularProc
from ._tabular import TabularPandas
from ._utils import cont_cat_split, df_shrink, df_shrink_dtypes

__all__ = [
    "__version__",
    # the processed table (_tabular, _procs)
    "TabularPandas",
    "TabularProc",
    "Categorify",
    "FillMissing",
    "FillStrategy",
    "Normalize",
    # loaders (_data)
    "TabDataLoader",
    "TabularDataLoaders",
    # model and learner (_model, _learner)
    "TabularModel",
    "tabular_config",
    "emb_sz_rule",
    "get_emb_sz",
    "TabularLearner",
    "tabular_learner",
    "tabular_adam",
    # DataFrame helpers (_dates, _utils)
    "make_date",
    "add_datepart",
    "add_elapsed_times",
    "cont_cat_split",
    "df_shrink_dtypes",
    "df_shrink",
]
