"""A small app whose learner exercises every part of an export; imported by the export tests, in the
test process and in a fresh Python process (the deployment side).

Registered: a transform with an enum argument and NumPy state, a DataLoader subclass, a Learner
subclass, an inference callback (temperature scaling: predictions change if it is lost). Found by
name (not registered): the getters and the model class.
"""

from __future__ import annotations

import enum
from pathlib import Path

import numpy as np
import torch
from plies.learner import Callback, Learner, accuracy, register_callback, register_learner
from plies.loaders import Categorize, Datasets, TfmdDL, register_dataloader
from plies.pipes import Transform, register_transform
from plies.typecore import TensorBase, set_seed
from torch import nn


class Unit(enum.IntEnum):
    """The unit the raw features are given in."""

    METRES = 1
    CENTIMETRES = 100


@register_transform
class ToMetres(Transform):
    """Divides the features by their unit; keeps a NumPy scalar offset learned at setup."""

    _state_attrs = ("offset",)

    def __init__(self, unit: Unit = Unit.METRES) -> None:
        super().__init__()
        self.unit, self.offset = unit, np.float32(0.0)

    def setups(self, items) -> None:
        self.offset = np.float32(0.25)

    def encodes(self, x: TensorBase) -> TensorBase:
        return x / int(self.unit) + float(self.offset)


class TensorFeatures(TensorBase):
    """The app's own semantic type for its feature vectors."""


@register_transform
class Centre(Transform):
    """A batch transform: subtracts the mean features of one training batch (learned at setup)."""

    order = 99
    _state_attrs = ("mean",)

    def __init__(self) -> None:
        super().__init__()
        self.mean: torch.Tensor | None = None

    def setups(self, dl) -> None:
        self.mean = dl.one_batch()[0].as_subclass(torch.Tensor).mean(0)

    def encodes(self, x: TensorFeatures) -> TensorFeatures:
        return x - self.mean


def get_x(item: dict) -> TensorFeatures:
    """The features of an item (a module-level getter: found by name after an import)."""
    return TensorFeatures(torch.tensor(item["x"], dtype=torch.float32))


def get_y(item: dict) -> str:
    return item["y"]


@register_dataloader
class AppDL(TfmdDL):
    """The app's own DataLoader class."""


@register_learner
class AppLearner(Learner):
    """The app's own Learner class."""

    def label_of(self, item: dict) -> str:
        """The predicted label of one raw item."""
        return self.predict(item)[0]


@register_callback
class Temperature(Callback):
    """Divides the predictions by a temperature at inference (calibration)."""

    run_train = False

    def __init__(self, temperature: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature
        self.calls = 0

    def after_pred(self) -> None:
        self.learn.pred = self.learn.pred / self.temperature
        self.calls += 1

    def state_dict(self) -> dict:
        return {"calls": self.calls}

    def load_state_dict(self, state: dict) -> None:
        self.calls = state["calls"]


class TinyNet(nn.Module):
    """The app's model: not registered, rebuilt from the attributes its constructor keeps."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, act_cls: type = nn.ReLU) -> None:
        super().__init__()
        self.n_in, self.n_hidden, self.n_out, self.act_cls = n_in, n_hidden, n_out, act_cls
        self.body = nn.Sequential(nn.Linear(n_in, n_hidden), act_cls())
        self.head = nn.Linear(n_hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def make_items(n: int = 64) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(n, 2, generator=g) * 200  # centimetres
    labels = ["cat", "dog", "fish"]
    return [{"x": [a, b], "y": labels[int(a + b) // 134]} for a, b in pts.tolist()]


def make_learner(path: Path) -> AppLearner:
    """A trained AppLearner on `make_items()` (one quick epoch)."""
    set_seed(0)
    items = make_items()
    dsets = Datasets(
        items, [[get_x, ToMetres(Unit.CENTIMETRES)], [get_y, Categorize()]], splits=[range(48), range(48, 64)]
    )
    dls = dsets.dataloaders(bs=16, after_batch=[Centre()], device="cpu", dl_type=AppDL)
    learn = AppLearner(
        dls, TinyNet(2, 8, 3, act_cls=nn.GELU), metrics=accuracy, path=path, cbs=Temperature(2.5)
    )
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, lr=1e-2)
    return learn
