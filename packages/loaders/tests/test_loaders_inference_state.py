"""The inference state of DataLoaders: what is kept, what is left out, registered classes, refusals."""

from __future__ import annotations

import enum

import pytest
import torch
from plies.loaders import (
    Categorize,
    DataLoaders,
    Datasets,
    Normalize,
    TfmdDL,
    register_dataloader,
    register_dataset,
)
from plies.pipes import Transform, register_transform
from plies.typecore import TensorBase, TensorImage


def get_x(item: dict) -> TensorImage:
    """Not registered, defined at module level: saved by reference."""
    # a TensorImage (of one row of pixels): the type Normalize acts on
    return TensorImage(torch.tensor(item["x"], dtype=torch.float32))


def get_y(item: dict) -> str:
    return item["y"]


class Precision(enum.IntEnum):
    COARSE = 1
    FINE = 2


@register_transform
class RoundTo(Transform):
    """Rounds to `digits` decimals: an IntEnum argument."""

    def __init__(self, digits: Precision = Precision.COARSE) -> None:
        super().__init__()
        self.digits = digits

    def encodes(self, x: TensorBase) -> TensorBase:
        return torch.round(x, decimals=int(self.digits))


def make_items(n: int = 16) -> list[dict]:
    torch.manual_seed(0)
    return [{"x": [float(a), float(b)], "y": "big" if a + b > 0 else "small"} for a, b in torch.randn(n, 2)]


def dls_of(x_tfms: list, after_batch: list | None = None, dl_type: type = TfmdDL) -> DataLoaders:
    dsets = Datasets(
        make_items(), [x_tfms, [get_y, Categorize()]], splits=[list(range(12)), list(range(12, 16))]
    )
    return dsets.dataloaders(bs=4, after_batch=after_batch or [], device="cpu", dl_type=dl_type)


class Jitter(Transform):
    """A training-only augmentation defined in a function's scope would not be saveable; this one
    is module level but split_idx=0 keeps it out of the state anyway."""

    split_idx = 0

    def encodes(self, x: TensorBase) -> TensorBase:
        return x + 1000


def test_module_level_getters_are_kept_and_training_only_transforms_left_out():
    def local_aug(x: TensorBase) -> TensorBase:  # cannot be saved, but runs on the training split only
        return x * 0

    aug = Transform(local_aug, split_idx=0)
    dls = dls_of([get_x, RoundTo(Precision.FINE), aug], after_batch=[Normalize(axes=(0,)), Jitter()])
    state = dls.inference_state()
    x_state = state["tls"][0]
    assert x_state["dropped"] == [] and [t["type"] for t in x_state["tfms"]["transforms"]] == [
        "plies.pipes.Transform",
        f"{__name__}.RoundTo",
    ]
    assert x_state["tfms"]["transforms"][0]["args"] == [{"__function__": f"{__name__}:get_x"}]
    assert x_state["tfms"]["transforms"][1]["args"] == [{"__enum__": f"{__name__}:Precision", "value": 2}]
    assert [t["type"] for t in state["after_batch"]["transforms"]] == ["plies.loaders.Normalize"]
    rebuilt = DataLoaders.from_inference_state(state, device="cpu")
    items = make_items()[12:]
    (want,) = dls.test_dl(items).one_batch()
    (got,) = rebuilt.test_dl(items).one_batch()  # raw items: the getter came back
    assert torch.allclose(got, want) and rebuilt.valid_ds.tls[0].tfms[1].digits is Precision.FINE


def test_a_transform_that_cannot_be_saved_after_a_kept_one_raises_naming_it():
    def local_scale(x: TensorBase) -> TensorBase:
        return x * 2

    dls = dls_of([get_x, local_scale])  # the registered-by-name getter is never dropped for it
    msg = r"output 0, transform local_scale: .*not registered.*register_transform.*comes after a transform"
    with pytest.raises(KeyError, match=msg):
        dls.inference_state()
    dls = dls_of([get_x], after_batch=[Transform(local_scale)])
    with pytest.raises(KeyError, match="after_batch transform local_scale: .*register_transform"):
        dls.inference_state()


@register_dataloader
class PairDL(TfmdDL):
    """A registered DataLoader subclass."""


class UnlistedDL(TfmdDL):
    """Not registered."""


def test_the_loader_class_is_recorded_and_rebuilt():
    dls = dls_of([get_x], dl_type=PairDL)
    state = dls.inference_state()
    assert state["dl_type"] == f"{__name__}.PairDL"
    rebuilt = DataLoaders.from_inference_state(state, device="cpu")
    assert type(rebuilt.valid) is PairDL and type(rebuilt.test_dl(make_items()[:2])) is PairDL
    with pytest.raises(KeyError, match="DataLoader class UnlistedDL is not registered.*register_dataloader"):
        dls_of([get_x], dl_type=UnlistedDL).inference_state()


def test_state_of_version_1_still_loads():
    state = dls_of([get_x]).inference_state()
    old = {k: v for k, v in state.items() if k not in ("dl_type", "dataset")} | {"version": 1}
    rebuilt = DataLoaders.from_inference_state(old, device="cpu")
    assert type(rebuilt.valid) is TfmdDL and list(rebuilt.vocab) == ["big", "small"]


@register_dataset
class RowsDataset:
    """A dataset of dict rows, standardised with statistics of its own (an app's own dataset class)."""

    def __init__(
        self, rows: list[dict], cols: list[str], mean: torch.Tensor | None = None, labels: bool = True
    ):
        self.rows, self.cols, self.labels = rows, cols, labels
        x = torch.tensor([[r[c] for c in cols] for r in rows]) if rows else torch.zeros(0, len(cols))
        self.mean = x.mean(0) if mean is None else mean

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple:
        x = torch.tensor([self.rows[i][c] for c in self.cols]) - self.mean
        return (x, torch.tensor(self.rows[i]["y"])) if self.labels else (x,)

    def inference_state(self) -> dict:
        return {"cols": self.cols, "mean": self.mean}

    @classmethod
    def from_inference_state(cls, state: dict) -> RowsDataset:
        return cls([], state["cols"], state["mean"])

    def test_set(self, items: list[dict], with_labels: bool = False) -> RowsDataset:
        return type(self)(items, self.cols, self.mean, labels=with_labels)


def test_a_registered_dataset_class_describes_itself():
    rows = [{"a": float(i), "b": float(2 * i), "y": i % 2} for i in range(10)]
    train, valid = RowsDataset(rows[:8], ["a", "b"]), RowsDataset(rows[8:], ["a", "b"])
    valid.mean = train.mean
    dls = DataLoaders(TfmdDL(train, bs=4), TfmdDL(valid, bs=4), device="cpu")
    state = dls.inference_state()
    assert state["dataset"]["type"] == f"{__name__}.RowsDataset" and state["tls"] == []
    rebuilt = DataLoaders.from_inference_state(state, device="cpu")
    new_rows = [{"a": 100.0, "b": 1.0}]
    (got,) = rebuilt.test_dl(new_rows).one_batch()
    assert torch.allclose(got, torch.tensor([[100.0 - 3.5, 1.0 - 7.0]]))  # train mean of a, b: 3.5, 7


def test_unregistered_dataset_and_incomplete_protocol_are_refused():
    class Bare(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 2

        def __getitem__(self, i: int) -> tuple:
            return (torch.zeros(1), torch.tensor(0))

    dls = DataLoaders(TfmdDL(Bare(), bs=2), TfmdDL(Bare(), bs=2), device="cpu")
    with pytest.raises(
        TypeError, match="dataset is a Bare, neither a Datasets nor a registered.*register_dataset"
    ):
        dls.inference_state()
    with pytest.raises(TypeError, match="Bare lacks inference_state, from_inference_state, test_set"):
        register_dataset(Bare)
    with pytest.raises(TypeError, match="expected a TfmdDL subclass, found .*Bare"):
        register_dataloader(Bare)
