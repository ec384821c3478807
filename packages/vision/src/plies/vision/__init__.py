"""plies.vision: (planned) computer vision.

It will hold: image blocks, GPU augmentation, `vision_learner`, `unet_learner`.
"""

from .__about__ import __version__

__all__: list[str] = ["__version__"]
