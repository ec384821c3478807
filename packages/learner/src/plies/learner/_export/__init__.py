"""`export_learner` / `load_learner`: a pickle-free file to rebuild a learner for inference.

The file (default ``export.plies``) is a zip archive with exactly these members, stored uncompressed:

- ``config.json``: format marker and version (``"1.1"``; plies 1.0's ``1`` is read too), how to
  rebuild the model (a typecore build spec, or a tree of torch.nn layers, build specs and the
  user's own module classes with their constructor arguments), the loss function and metrics,
  the optimizer and hyper-parameters, the Learner class, the inference callbacks with their
  state, the data pipeline's state (plies.loaders / plies.pipes), `path`, `model_dir`, and
  ``requires``: each registered name used, with its kind and the module that registers it.
- ``model.safetensors``: the model's state dict.
- ``tensors.safetensors``: every tensor referenced by ``config.json`` (``{"__tensor__": key}``),
  e.g. normalisation statistics or class weights of the loss, and bytes (``{"__bytes__": key}``,
  a uint8 tensor), e.g. a tokenizer's model file.

Loading never unpickles, never imports a module, and never calls anything named in the file
except registered objects (`register_builder`, `register_transform`, `register_dataloader`,
`register_dataset`, `register_loss`, `register_metric`, `register_learner`, `register_callback`)
and functions or classes of the right kind that modules already imported by the loading process
define under the recorded ``module:qualname`` (the standard library excluded). Archives with
other members, path-like names, sizes that do not add up, or a safetensors header that lies are
refused with a ValueError naming the file. `pickle=True` (both sides) is the explicit opt-in to
fastai's pickle behaviour, for files you produced yourself.
"""

from ._export import export_learner
from ._load import load_learner

__all__ = ["export_learner", "load_learner"]
