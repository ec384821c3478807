"""plies.loaders: mid-level data API: `DataLoader`, `TfmdLists`, `Datasets`, `DataLoaders`, `DataBlock`."""

from .__about__ import __version__
from ._block import CategoryBlock, DataBlock, MultiCategoryBlock, RegressionBlock, TransformBlock
from ._collate import batch_to_samples, fa_collate, fa_convert
from ._dataloader import DataLoader
from ._dataloaders import DataLoaders
from ._datasets import Datasets, TfmdLists, test_set
from ._external import download_url, register_checksum, untar_data
from ._getters import (
    AttrGetter,
    ColReader,
    FileGetter,
    ImageGetter,
    ItemGetter,
    RegexLabeller,
    get_files,
    get_image_files,
    image_extensions,
    parent_label,
)
from ._plot import get_grid, show_image, subplots
from ._registries import register_dataloader, register_dataset
from ._show import show_at, show_batch, show_results, show_title
from ._splitters import (
    ColSplitter,
    EndSplitter,
    FileSplitter,
    FuncSplitter,
    GrandparentSplitter,
    IndexSplitter,
    MaskSplitter,
    RandomSplitter,
    RandomSubsetSplitter,
    TrainTestSplitter,
)
from ._tensor_tfms import IntToFloatTensor, Normalize, ToTensor, broadcast_vec
from ._tfmddl import TfmdDL
from ._transforms import (
    Categorize,
    Category,
    CategoryMap,
    EncodedMultiCategorize,
    MultiCategorize,
    MultiCategory,
    OneHotEncode,
    RegressionSetup,
)
from ._urls import URLs

__all__: list[str] = [
    "__version__",
    "DataLoader",
    "fa_collate",
    "fa_convert",
    "TfmdDL",
    "batch_to_samples",
    "TfmdLists",
    "Datasets",
    "test_set",
    "DataLoaders",
    "register_dataloader",
    "register_dataset",
    "show_batch",
    "show_results",
    "show_title",
    "show_at",
    "show_image",
    "subplots",
    "get_grid",
    "ToTensor",
    "IntToFloatTensor",
    "Normalize",
    "broadcast_vec",
    "Category",
    "MultiCategory",
    "CategoryMap",
    "Categorize",
    "MultiCategorize",
    "OneHotEncode",
    "EncodedMultiCategorize",
    "RegressionSetup",
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
    "RandomSplitter",
    "RandomSubsetSplitter",
    "IndexSplitter",
    "EndSplitter",
    "GrandparentSplitter",
    "FileSplitter",
    "FuncSplitter",
    "MaskSplitter",
    "ColSplitter",
    "TrainTestSplitter",
    "TransformBlock",
    "CategoryBlock",
    "MultiCategoryBlock",
    "RegressionBlock",
    "DataBlock",
    "URLs",
    "untar_data",
    "download_url",
    "register_checksum",
]
