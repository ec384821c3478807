"""plies.vision: images, masks, points and boxes; one-interpolation batch augmentation; vision learners.

Importing it registers the image types' displays (`_show`), the transforms and architectures that
exports name, so `load_learner(f).predict(image)` works in a fresh process after `import plies.vision`.
"""

from . import _show  # noqa: F401 - registers the displays of images, masks, points and boxes
from .__about__ import __version__
from ._archs import ArchMeta, arch_meta, arch_names, body_head_split, model_meta, register_arch, split_body_at
from ._aug_transforms import aug_transforms, setup_aug_tfms
from ._augment import (
    AffineCoordTfm,
    Dihedral,
    Flip,
    RandomResizedCropGPU,
    RandTransform,
    Rotate,
    Warp,
    Zoom,
)
from ._bbox import BBoxLabeler, LabeledBBox, bb_pad, clip_remove_empty, get_annotations
from ._blocks import BBoxBlock, BBoxLblBlock, ImageBlock, MaskBlock, PointBlock, imagenet_stats
from ._core import (
    PILBase,
    PILImage,
    PILImageBW,
    PILMask,
    image2tensor,
    load_image,
    to_image,
    verify_image,
    verify_images,
)
from ._data import ImageDataLoaders, SegmentationDataLoaders
from ._data_tfms import AddMaskCodes, PointScaler
from ._geometry import (
    affine_mat,
    dihedral_mat,
    flip_mat,
    homography_grid,
    perspective_mat,
    rotate_mat,
    sample_batch,
    warp_points,
    zoom_mat,
)
from ._interpret import SegmentationInterpretation
from ._item_tfms import CropPad, PadMode, RandomCrop, RandomResizedCrop, Resize, ResizeMethod
from ._learner import cnn_learner, unet_learner, vision_learner
from ._lighting import Brightness, Contrast, Hue, LightingTfm, RandomErasing, Saturation
from ._models import TimmBody, create_unet_model, create_vision_model
from ._pretrained import download_weights, find_weights, read_weights, weights_cache_dir

__all__: list[str] = [
    "__version__",
    # images as items
    "PILBase",
    "PILImage",
    "PILImageBW",
    "PILMask",
    "load_image",
    "image2tensor",
    "to_image",
    "verify_image",
    "verify_images",
    # data: blocks, item transforms of the blocks, boxes, DataLoaders factories
    "ImageBlock",
    "MaskBlock",
    "PointBlock",
    "BBoxBlock",
    "BBoxLblBlock",
    "AddMaskCodes",
    "PointScaler",
    "BBoxLabeler",
    "LabeledBBox",
    "bb_pad",
    "clip_remove_empty",
    "get_annotations",
    "imagenet_stats",
    "ImageDataLoaders",
    "SegmentationDataLoaders",
    # item transforms that change the size
    "Resize",
    "RandomResizedCrop",
    "RandomCrop",
    "CropPad",
    "ResizeMethod",
    "PadMode",
    # batch augmentation
    "RandTransform",
    "AffineCoordTfm",
    "Flip",
    "Dihedral",
    "Rotate",
    "Zoom",
    "Warp",
    "RandomResizedCropGPU",
    "LightingTfm",
    "Brightness",
    "Contrast",
    "Saturation",
    "Hue",
    "RandomErasing",
    "aug_transforms",
    "setup_aug_tfms",
    # the geometry of a batch
    "affine_mat",
    "rotate_mat",
    "zoom_mat",
    "flip_mat",
    "dihedral_mat",
    "perspective_mat",
    "homography_grid",
    "warp_points",
    "sample_batch",
    # learners: architectures by name, pretrained weights, models, interpretation
    "vision_learner",
    "cnn_learner",
    "unet_learner",
    "create_vision_model",
    "create_unet_model",
    "TimmBody",
    "ArchMeta",
    "register_arch",
    "arch_meta",
    "arch_names",
    "model_meta",
    "body_head_split",
    "split_body_at",
    "find_weights",
    "read_weights",
    "download_weights",
    "weights_cache_dir",
    "SegmentationInterpretation",
]
