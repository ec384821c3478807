"""plies.learner: `Learner`, two-way callbacks, the Recorder, schedules, `lr_find`, metrics, safe export, distributed training and checkpoints."""

from .__about__ import __version__

__all__: list[str] = ["__version__"]
