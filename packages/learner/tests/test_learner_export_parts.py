"""Export of the learner's parts through the registries: losses, metrics, Learner class, callbacks,
model classes found by name, data state choices, bytes, and the format versions read."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch
from plies.layers import register_loss
from plies.learner import (
    Callback,
    Dice,
    Learner,
    Metric,
    load_learner,
    register_callback,
    register_metric,
    rmse,
)
from plies.loaders import Categorize, DataLoader, DataLoaders, Datasets, TfmdDL, register_dataset
from plies.pipes import Transform, register_transform
from plies.typecore import TensorBase, register_builder, set_seed
from torch import nn

# ---------------------------------------------------------------- a small task


@register_transform
def features_of(item: dict) -> TensorBase:
    """The two float features of an item."""
    return TensorBase(torch.tensor(item["x"], dtype=torch.float32))


@register_transform
def label_of(item: dict) -> str:
    return item["y"]


def make_items(n: int = 40) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    return [{"x": [a, b], "y": "up" if a > b else "down"} for a, b in torch.randn(n, 2, generator=g).tolist()]


def make_learner(
    tmp_path: Path, x_tfms: list | None = None, model: nn.Module | None = None, **kwargs
) -> Learner:
    set_seed(0)
    dsets = Datasets(
        make_items(), [x_tfms or [features_of], [label_of, Categorize()]], splits=[range(32), range(32, 40)]
    )
    dls = dsets.dataloaders(bs=8, device="cpu")
    return Learner(dls, model if model is not None else nn.Linear(2, 2), path=tmp_path, **kwargs)


def config_of(path: Path) -> dict:
    return json.loads(zipfile.ZipFile(path).read("config.json"))


def preds_on(learn: Learner, items: list[dict]) -> torch.Tensor:
    return learn.get_preds(dl=learn.dls.test_dl(items))[0]


# ---------------------------------------------------------------- losses
@register_loss
def hinge_loss(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
    """A registered loss function."""
    return nn.functional.multi_margin_loss(pred, targ)


@register_loss
class WeightedCE(nn.Module):
    """A registered loss class whose constructor arguments are attributes."""

    def __init__(self, up_weight: float = 1.0, smoothing: float = 0.0) -> None:
        super().__init__()
        self.up_weight, self.smoothing = up_weight, smoothing

    def forward(self, pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        w = torch.tensor([1.0, self.up_weight])
        return nn.functional.cross_entropy(pred, targ, weight=w, label_smoothing=self.smoothing)


def test_registered_loss_function_and_class_round_trip(tmp_path):
    pred, targ = torch.randn(5, 2), torch.tensor([0, 1, 1, 0, 1])
    loaded = load_learner(make_learner(tmp_path, loss_func=hinge_loss).export("f.plies")).loss_func
    assert loaded is hinge_loss
    loss = WeightedCE(up_weight=3.0, smoothing=0.1)
    path = make_learner(tmp_path, loss_func=loss).export("c.plies")
    assert config_of(path)["loss_func"] == {
        "kind": "class", "name": f"{__name__}.WeightedCE", "kwargs": {"up_weight": 3.0, "smoothing": 0.1},
    }  # fmt: skip
    loaded = load_learner(path).loss_func
    assert type(loaded) is WeightedCE and torch.allclose(loaded(pred, targ), loss(pred, targ))


def test_unregistered_loss_warns_how_to_register(tmp_path):
    def my_loss(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(pred, targ)

    with pytest.warns(UserWarning, match=r"loss function .*my_loss.* cannot be described.*register_loss"):
        make_learner(tmp_path, loss_func=my_loss).export()


# ---------------------------------------------------------------- metrics
@register_metric
def up_rate(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
    """A registered metric function: the share of 'up' predictions."""
    return (pred.argmax(-1) == 1).float().mean()


@register_metric
class Threshold(Metric):
    """A registered Metric class with a constructor argument."""

    def __init__(self, thresh: float = 0.5) -> None:
        self.thresh = thresh

    @property
    def value(self) -> float:
        return self.thresh


def test_registered_metrics_round_trip(tmp_path):
    learn = make_learner(tmp_path, metrics=[up_rate, Threshold(0.7), rmse, Dice(axis=-1)])
    path = learn.export()
    assert config_of(path)["metrics"] == [
        {"name": f"{__name__}.up_rate"},
        {"name": f"{__name__}.Threshold", "kwargs": {"thresh": 0.7}},
        {"name": "plies.learner.rmse"},
        {"name": "plies.learner.Dice", "kwargs": {"axis": -1}},
    ]
    metrics = load_learner(path).metrics
    assert metrics[0].func is up_rate and type(metrics[1]) is Threshold and metrics[1].thresh == 0.7
    assert metrics[2] is rmse and type(metrics[3]) is Dice and metrics[3].axis == -1


def test_unregistered_metric_warns_how_to_register(tmp_path):
    def mine(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        return pred.mean()

    with pytest.warns(UserWarning, match=r"metrics \['mine'\] cannot be exported.*register_metric"):
        path = make_learner(tmp_path, metrics=[up_rate, mine]).export()
    assert [m.name for m in load_learner(path).metrics] == ["up_rate"]


# ---------------------------------------------------------------- Learner class and callbacks
class PlainSubclass(Learner):
    """Not registered."""


def test_unregistered_learner_subclass_warns_and_loads_as_learner(tmp_path):
    learn = make_learner(tmp_path)
    learn.__class__ = PlainSubclass
    with pytest.warns(UserWarning, match="learner's class PlainSubclass is not registered.*register_learner"):
        path = learn.export()
    assert type(load_learner(path)) is Learner


@register_callback
class Resetter(Callback):
    """A registered inference callback that does not keep its constructor argument."""

    def __init__(self, every: int) -> None:
        super().__init__()


def test_registered_callback_that_cannot_be_described_warns(tmp_path):
    learn = make_learner(tmp_path, cbs=Resetter(3))
    with pytest.warns(
        UserWarning, match=r"inference callbacks \[\"Resetter \(constructor arguments \['every'\]"
    ):
        path = learn.export()
    assert not any(isinstance(cb, Resetter) for cb in load_learner(path).cbs)


# ---------------------------------------------------------------- models found by name, registered classes
class Head(nn.Module):
    """A user module taking a module and a torch.nn class as arguments."""

    def __init__(self, body: nn.Module, n_out: int, act_cls: type = nn.ReLU) -> None:
        super().__init__()
        self.body, self.n_out, self.act_cls = body, n_out, act_cls
        self.act, self.out = act_cls(), nn.Linear(4, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.body(x)))


@register_builder
class Registered(nn.Module):
    """An nn.Module class registered as a builder: the spec records its arguments."""

    def __init__(self, n_hidden: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(2, n_hidden), nn.Tanh(), nn.Linear(n_hidden, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def test_nested_user_modules_and_registered_classes_round_trip(tmp_path):
    model = Head(nn.Sequential(Registered(4), nn.Linear(2, 4)), n_out=2, act_cls=nn.SiLU)
    learn = make_learner(tmp_path, model=model)
    path = learn.export()
    tree = config_of(path)["model"]["tree"]
    assert tree["class"] == f"{__name__}:Head" and tree["kwargs"]["act_cls"] == {"__nn_class__": "SiLU"}
    assert tree["kwargs"]["body"]["__module__"]["children"][0][1]["type"] == "spec"
    loaded = load_learner(path)
    assert type(loaded.model.body[0]) is Registered and type(loaded.model.act) is nn.SiLU
    items = make_items()[:4]
    assert torch.allclose(preds_on(loaded, items), preds_on(learn, items), atol=1e-6)
    spec_path = make_learner(tmp_path, model=Registered(6)).export("spec.plies")
    assert config_of(spec_path)["model"]["kind"] == "spec"
    assert type(load_learner(spec_path).model) is Registered


def edit_config(path: Path, edit) -> Path:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    out = path.with_name(f"edited-{path.name}")
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


def test_classes_named_by_the_file_are_only_found_in_imported_modules(tmp_path):
    path = make_learner(tmp_path, model=Head(nn.Linear(2, 4), 2)).export()

    def elsewhere(c):
        c["model"]["tree"]["class"] = "plies_app_not_imported.models:Head"

    with pytest.raises(KeyError, match="import plies_app_not_imported.models before loading"):
        load_learner(edit_config(path, elsewhere))

    def stdlib(c):
        c["model"]["tree"] = {"type": "class", "class": "subprocess:Popen", "kwargs": {"args": "touch x"}}

    with pytest.raises(ValueError, match="points into the standard library"):
        load_learner(edit_config(path, stdlib))

    def torch_class(c):
        c["model"]["tree"]["class"] = "torch.nn.parallel.distributed:DistributedDataParallel"

    with pytest.raises(ValueError, match="torch's classes are described as layers, not by reference"):
        load_learner(edit_config(path, torch_class))

    def not_a_module(c):
        c["model"]["tree"]["class"] = f"{__name__}:make_items"

    with pytest.raises(ValueError, match="is not an nn.Module class defined under that name"):
        load_learner(edit_config(path, not_a_module))

    def missing_registration(c):
        c["requires"].append(["transform type", "plies_app_not_imported.Tokenize", "plies_app_not_imported"])

    with pytest.raises(KeyError, match=r"needs the transform type 'plies_app_not_imported.Tokenize'.*"
                       r"import plies_app_not_imported \(where they are registered\)"):  # fmt: skip
        load_learner(edit_config(path, missing_registration))


# ---------------------------------------------------------------- data state choices, bytes
@register_transform
class Vocab(Transform):
    """Keeps a binary model file (bytes) in its state, as a tokenizer would."""

    _state_attrs = ("blob",)

    def __init__(self) -> None:
        super().__init__()
        self.blob = b""

    def setups(self, items) -> None:
        self.blob = bytes(range(256)) * 3

    def encodes(self, x: TensorBase) -> TensorBase:
        return x + len(self.blob) / 1000


def test_bytes_state_travels_as_a_uint8_tensor(tmp_path):
    learn = make_learner(tmp_path, x_tfms=[features_of, Vocab()])
    path = learn.export()
    state = config_of(path)["data"]["tls"][0]["tfms"]["transforms"][1]["state"]
    key = state["blob"]["__bytes__"]
    from safetensors.torch import load

    stored = load(zipfile.ZipFile(path).read("tensors.safetensors"))[key]
    assert stored.dtype == torch.uint8 and stored.shape == (768,)
    loaded = load_learner(path)
    assert loaded.dls.valid_ds.tls[0].tfms[1].blob == bytes(range(256)) * 3
    items = make_items()[:3]
    assert torch.allclose(preds_on(loaded, items), preds_on(learn, items), atol=1e-6)


def test_training_only_transforms_never_block_and_later_unsaveable_ones_are_named(tmp_path):
    def jitter(x: TensorBase) -> TensorBase:  # defined in a function: cannot be saved
        return x + torch.randn_like(x)

    learn = make_learner(tmp_path, x_tfms=[features_of, Transform(jitter, split_idx=0)])
    path = learn.export()  # no warning: a training-only transform is not needed at inference
    items = make_items()[:4]
    assert torch.allclose(preds_on(load_learner(path), items), preds_on(learn, items), atol=1e-6)

    def scale(x: TensorBase) -> TensorBase:
        return x * 2

    learn = make_learner(tmp_path, x_tfms=[features_of, scale])
    with pytest.warns(
        UserWarning, match=r"data pipeline cannot be exported.*transform scale.*register_transform"
    ):
        learn.export("unsaveable.plies")


@register_dataset
class Table:
    """A column table of features (an app's own, DataFrame-like dataset), standardised by its own stats."""

    def __init__(self, rows: list[dict], mean: torch.Tensor | None = None, labels: bool = True) -> None:
        self.rows, self.labels = rows, labels
        x = torch.tensor([r["x"] for r in rows]) if rows else torch.zeros(0, 2)
        self.mean = x.mean(0) if mean is None else mean

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple:
        x = torch.tensor(self.rows[i]["x"]) - self.mean
        return (x, torch.tensor(int(self.rows[i]["y"] == "up"))) if self.labels else (x,)

    def inference_state(self) -> dict:
        return {"mean": self.mean}

    @classmethod
    def from_inference_state(cls, state: dict) -> Table:
        return cls([], state["mean"])

    def test_set(self, items: list[dict], with_labels: bool = False) -> Table:
        return Table(items, self.mean, labels=with_labels)


def test_data_of_a_registered_dataset_class_is_exported(tmp_path):
    items = make_items()
    train = Table(items[:32])
    dls = DataLoaders(TfmdDL(train, bs=8), TfmdDL(Table(items[32:], train.mean), bs=8), device="cpu")
    learn = Learner(dls, nn.Linear(2, 2), loss_func=nn.CrossEntropyLoss(), path=tmp_path)
    loaded = load_learner(learn.export())
    assert type(loaded.dls.valid_ds) is Table and torch.equal(loaded.dls.valid_ds.mean, train.mean)
    assert torch.allclose(preds_on(loaded, items[:5]), preds_on(learn, items[:5]), atol=1e-6)


# ---------------------------------------------------------------- format versions
def as_format_1_0(config: dict) -> dict:
    """The config.json layout plies 1.0 wrote (frozen here): version 1, metric names, a 'torch.nn'
    model tree, a data state of version 1, none of the keys 1.1 added."""
    data = {k: v for k, v in config["data"].items() if k not in ("dl_type", "dataset")} | {"version": 1}
    return {
        "format": "plies-learner-export",
        "version": 1,
        "model": {"kind": "torch.nn", "tree": config["model"]["tree"]},
        "loss_func": config["loss_func"],
        "metrics": [m["name"].rpartition(".")[2] for m in config["metrics"]],
        "opt_func": config["opt_func"],
        "hypers": config["hypers"],
        "data": data,
        "path": config["path"],
        "model_dir": config["model_dir"],
    }


def test_a_file_of_format_1_0_loads(tmp_path):
    from plies.learner import accuracy

    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    learn = make_learner(tmp_path, model=model, metrics=accuracy)
    old = edit_config(
        learn.export(), lambda c: c.clear() or c.update(as_format_1_0(config_of(tmp_path / "export.plies")))
    )
    assert config_of(old)["version"] == 1 and "requires" not in config_of(old)
    loaded = load_learner(old)
    assert type(loaded) is Learner and [m.name for m in loaded.metrics] == ["accuracy"]
    items = make_items()[:5]
    assert torch.allclose(preds_on(loaded, items), preds_on(learn, items), atol=1e-6)


def test_a_newer_minor_version_is_refused(tmp_path):
    path = make_learner(tmp_path).export()
    with pytest.raises(
        ValueError, match=r"format version 1.2, written by a newer plies; this plies reads 1.0 to 1.1"
    ):
        load_learner(edit_config(path, lambda c: c.update(version="1.2")))
    with pytest.raises(ValueError, match=r"format version '2.0'"):
        load_learner(edit_config(path, lambda c: c.update(version="2.0")))


def test_export_on_plain_tensor_data_keeps_the_rest(tmp_path):
    x, y = torch.randn(8, 2), torch.zeros(8, dtype=torch.long)
    dls = DataLoaders(DataLoader((x, y), bs=4), DataLoader((x, y), bs=4), path=tmp_path)
    learn = Learner(dls, nn.Linear(2, 2), loss_func=nn.CrossEntropyLoss())
    with pytest.warns(UserWarning, match="data pipeline cannot be exported.*needs a TfmdDL"):
        path = learn.export()
    assert load_learner(path).dls is None
