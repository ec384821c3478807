"""plies.pipes: `Transform` (encodes/decodes, setup, split_idx, order), `Pipeline`, plain-data state."""

from .__about__ import __version__
from ._pipeline import Pipeline, compose_tfms, mk_transform
from ._state import check_plain_data, register_transform
from ._transform import DisplayedTransform, InplaceTransform, ItemTransform, Transform
from ._using_attr import using_attr

__all__ = [
    "__version__",
    "Transform",
    "InplaceTransform",
    "DisplayedTransform",
    "ItemTransform",
    "Pipeline",
    "compose_tfms",
    "mk_transform",
    "register_transform",
    "check_plain_data",
    "using_attr",
]
