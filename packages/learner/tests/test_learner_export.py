"""Pickle-free export / load_learner: round trips on a real pipeline, and malicious files refused."""

from __future__ import annotations

import io
import json
import pickle
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
import torch
from plies.layers import CrossEntropyLossFlat
from plies.learner import Learner, accuracy, load_learner
from plies.loaders import Categorize, Datasets, Normalize
from plies.pipes import register_transform
from plies.typecore import TensorImage, register_builder, set_seed
from torch import nn


@register_transform
def get_features(item: dict) -> TensorImage:
    """The two float features of an item, as a two-pixel image: `Normalize` (exported) acts on images only."""
    return TensorImage(torch.tensor(item["x"], dtype=torch.float32))


@register_transform
def get_label(item: dict) -> str:
    """The label of an item."""
    return item["y"]


def make_items(n: int = 120) -> list[dict]:
    pts = torch.randn(n, 2) * 3 + 5
    return [{"x": [a, b], "y": "big" if a + b > 10 else "small"} for a, b in pts.tolist()]


def make_dls(items: list[dict]):
    n_train = int(len(items) * 0.8)
    dsets = Datasets(
        items,
        tfms=[[get_features], [get_label, Categorize()]],
        splits=[range(n_train), range(n_train, len(items))],
    )
    return dsets.dataloaders(bs=32, after_batch=[Normalize(axes=(0,))], device="cpu")


def trained_learner(tmp_path: Path, model: nn.Module | None = None, **kwargs) -> tuple[Learner, list[dict]]:
    set_seed(0)
    items = make_items()
    dls = make_dls(items)
    if model is None:
        model = nn.Sequential(
            nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2)
        )
    learn = Learner(dls, model, metrics=accuracy, path=tmp_path, **kwargs)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, lr=1e-2)
    return learn, items


def preds_on(learn: Learner, items: list[dict]) -> torch.Tensor:
    return learn.get_preds(dl=learn.dls.test_dl(items))[0]


def test_export_then_load_gives_the_same_predictions(tmp_path):
    learn, items = trained_learner(tmp_path)
    path = learn.export()
    assert path == tmp_path / "export.plies"
    assert sorted(zipfile.ZipFile(path).namelist()) == [
        "config.json",
        "model.safetensors",
        "tensors.safetensors",
    ]
    loaded = load_learner(path)
    assert torch.allclose(preds_on(loaded, items[:10]), preds_on(learn, items[:10]), atol=1e-6)
    assert list(loaded.dls.vocab) == ["big", "small"]
    assert isinstance(loaded.loss_func, CrossEntropyLossFlat)
    assert [m.name for m in loaded.metrics] == ["accuracy"]
    assert next(loaded.model.parameters()).device.type == "cpu"
    assert not loaded.model[1].weight.equal(torch.ones(16))  # trained BatchNorm weights came back


def test_predict_after_load_matches(tmp_path):
    learn, items = trained_learner(tmp_path)
    loaded = load_learner(learn.export("model.plies"))
    label, idx, probs = loaded.predict(items[3])
    label0, idx0, probs0 = learn.predict(items[3])
    assert label == label0 and int(idx) == int(idx0)
    assert torch.allclose(probs, probs0, atol=1e-6)


def test_config_is_readable_plain_json(tmp_path):
    learn, _ = trained_learner(tmp_path)
    config = json.loads(zipfile.ZipFile(learn.export()).read("config.json"))
    assert config["format"] == "plies-learner-export" and config["version"] == "1.1"
    assert config["model"]["kind"] == "tree"
    assert [c[1]["type"] for c in config["model"]["tree"]["children"]] == [
        "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear",
    ]  # fmt: skip
    assert config["loss_func"]["name"] == "plies.layers.CrossEntropyLossFlat"
    assert config["metrics"] == [{"name": "plies.learner.accuracy"}]
    assert (
        config["opt_func"] == {"name": "Adam", "kwargs": {}} and config["learner"] == "plies.learner.Learner"
    )
    assert config["callbacks"] == []
    assert [
        "transform type",
        f"{__name__}.get_label",
        "packages.learner.tests.test_learner_export",
    ] in config["requires"]
    assert ["loss", "plies.layers.CrossEntropyLossFlat", "plies.layers"] in config["requires"]
    assert ["transform type", "plies.loaders.Categorize", "plies.loaders"] in config["requires"]
    assert ["DataLoader class", "plies.loaders.TfmdDL", "plies.loaders"] in config["requires"]


class TwoLayer(nn.Module):
    """A user model without a build_spec and without constructor arguments: found by name."""

    def __init__(self) -> None:
        super().__init__()
        self.body, self.head = nn.Linear(2, 8), nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(x)))


class Forgetful(nn.Module):
    """A user model that does not keep its constructor argument: it cannot be rebuilt by name."""

    def __init__(self, n_hidden: int) -> None:
        super().__init__()
        self.body, self.head = nn.Linear(2, n_hidden), nn.Linear(n_hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(x)))


def test_user_model_class_is_rebuilt_by_name(tmp_path):
    learn, items = trained_learner(tmp_path, model=TwoLayer())
    path = learn.export()
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert config["model"] == {
        "kind": "tree",
        "tree": {"type": "class", "class": f"{__name__}:TwoLayer", "kwargs": {}},
    }
    loaded = load_learner(path)
    assert type(loaded.model) is TwoLayer
    assert torch.allclose(preds_on(loaded, items[:5]), preds_on(learn, items[:5]), atol=1e-6)


def test_model_that_cannot_be_rebuilt_needs_model_argument(tmp_path):
    learn, items = trained_learner(tmp_path, model=Forgetful(8))
    msg = r"Forgetful\.__init__ argument 'n_hidden' is not kept as an attribute.*model=.*register_builder"
    with pytest.warns(UserWarning, match=msg):
        path = learn.export()
    with pytest.raises(ValueError, match="'Forgetful' model without a build_spec; pass model="):
        load_learner(path)
    loaded = load_learner(path, model=Forgetful(8))
    assert torch.allclose(preds_on(loaded, items[:5]), preds_on(learn, items[:5]), atol=1e-6)
    with pytest.raises(ValueError, match="do not fit the model"):
        load_learner(path, model=nn.Sequential(nn.Linear(2, 2)))


class Hidden(nn.Module):
    """Keeps its constructor argument, but the attribute is changed after construction."""

    def __init__(self, n_hidden: int) -> None:
        super().__init__()
        self.n_hidden = n_hidden
        self.body, self.head = nn.Linear(2, n_hidden), nn.Linear(n_hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(x)))


def test_a_description_that_does_not_rebuild_the_model_is_not_written(tmp_path):
    model = Hidden(8)
    model.n_hidden = 5  # Hidden(5) would have other shapes: the export must notice
    learn, _ = trained_learner(tmp_path, model=model)
    with pytest.warns(UserWarning, match="recorded constructor arguments gives a different module"):
        path = learn.export()
    with pytest.raises(ValueError, match="'Hidden' model without a build_spec; pass model="):
        load_learner(path)


@register_builder
def tiny_mlp(n_in: int, n_hidden: int, n_out: int) -> nn.Module:
    """A registered model constructor."""
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))


def test_registered_builder_round_trip(tmp_path):
    learn, items = trained_learner(tmp_path, model=tiny_mlp(2, 12, 2))
    path = learn.export()
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert config["model"]["kind"] == "spec"
    assert config["model"]["spec"]["kwargs"] == {"n_in": 2, "n_hidden": 12, "n_out": 2}
    loaded = load_learner(path)
    assert torch.allclose(preds_on(loaded, items[:5]), preds_on(learn, items[:5]), atol=1e-6)


def test_loss_that_cannot_be_described_needs_loss_func(tmp_path):
    def my_loss(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(pred, targ)

    learn, _ = trained_learner(tmp_path, loss_func=my_loss)
    with pytest.warns(UserWarning, match="loss function .* cannot be described"):
        path = learn.export()
    with pytest.raises(ValueError, match="holds no loss function.*pass loss_func="):
        load_learner(path)
    assert load_learner(path, loss_func=my_loss).loss_func is my_loss


def test_optimizer_partial_round_trips(tmp_path):
    from functools import partial

    from plies.optim import SGD

    learn, _ = trained_learner(tmp_path, opt_func=partial(SGD, mom=0.8))
    loaded = load_learner(learn.export())
    assert loaded.opt_func.func is SGD and loaded.opt_func.keywords == {"mom": 0.8}


def test_pickle_export_only_on_request(tmp_path):
    learn, items = trained_learner(tmp_path)
    path = learn.export("trusted.pkl", pickle=True)
    with pytest.raises(ValueError, match="pickle.*load_learner\\(\\.\\.\\., pickle=True\\)"):
        load_learner(path)
    loaded = load_learner(path, pickle=True)
    assert torch.allclose(
        loaded.model(torch.ones(3, 2)), learn.model.eval()(torch.ones(3, 2)), atol=1e-6
    )  # dls were emptied before pickling, the model is whole
    safe = learn.export()
    from_safe = load_learner(safe, pickle=True)  # a safe file loads the safe way, pipeline included
    assert list(from_safe.dls.vocab) == ["big", "small"]
    label, idx, probs = from_safe.predict(items[3])
    label0, idx0, probs0 = learn.predict(items[3])
    assert (label, int(idx)) == (label0, int(idx0)) and torch.allclose(probs, probs0, atol=1e-6)


def test_export_on_other_ranks_writes_nothing(tmp_path, monkeypatch):
    learn, _ = trained_learner(tmp_path)
    monkeypatch.setenv("RANK", "1")
    assert learn.export("rank1.plies") is None
    assert not (tmp_path / "rank1.plies").exists()


# ---------------------------------------------------------------- malicious / damaged files
def rewrite(path: Path, out: Path, changes: dict[str, bytes | None]) -> Path:
    """Copy the export at `path` to `out`, replacing (or, with None, removing) members."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    for name, data in changes.items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


def edit_config(path: Path, out: Path, edit) -> Path:
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    edit(config)
    return rewrite(path, out, {"config.json": json.dumps(config).encode()})


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    learn, _ = trained_learner(tmp_path_factory.mktemp("exp"))
    return learn.export()


class Payload:
    """Unpickling this would create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_payload_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    raw = tmp_path / "export.plies"
    raw.write_bytes(pickle.dumps(Payload(marker), protocol=4))
    with pytest.raises(ValueError, match="refusing .*export.plies: it is a pickle file"):
        load_learner(raw)
    torch_file = tmp_path / "torch_saved.plies"
    torch.save({"learner": Payload(marker)}, torch_file)
    with pytest.raises(ValueError, match="pickle-based archive"):
        load_learner(torch_file)
    assert not marker.exists()


def test_config_naming_unregistered_builder_is_refused(exported, tmp_path):
    def edit(c):
        c["model"] = {"kind": "spec", "spec": {"builder": "os.system", "kwargs": {"command": "touch pwned"}}}

    with pytest.raises(KeyError, match=r"unknown builder 'os.system' \(not registered\)"):
        load_learner(edit_config(exported, tmp_path / "a.plies", edit))


def test_config_naming_a_non_whitelisted_layer_is_refused(exported, tmp_path):
    def edit(c):
        c["model"]["tree"]["children"][0][1] = {"type": "os.system", "kwargs": {}}

    with pytest.raises(ValueError, match="layer type 'os.system' is not one of the torch.nn layers"):
        load_learner(edit_config(exported, tmp_path / "b.plies", edit))

    def extra_kwarg(c):
        c["model"]["tree"]["children"][0][1]["kwargs"]["device"] = "meta"

    with pytest.raises(ValueError, match="unexpected constructor argument 'device'"):
        load_learner(edit_config(exported, tmp_path / "c.plies", extra_kwarg))


def test_config_naming_unknown_loss_metric_or_optimizer_is_refused(exported, tmp_path):
    def loss(c):
        c["loss_func"] = {"kind": "function", "name": "builtins.eval"}

    with pytest.raises(KeyError, match=r"unknown loss 'builtins.eval' \(not registered\).*register_loss"):
        load_learner(edit_config(exported, tmp_path / "d.plies", loss))

    def metric(c):
        c["metrics"] = [{"name": "subprocess.call"}]

    with pytest.raises(
        KeyError, match=r"unknown metric 'subprocess.call' \(not registered\).*register_metric"
    ):
        load_learner(edit_config(exported, tmp_path / "e.plies", metric))

    def opt(c):
        c["opt_func"] = {"name": "__import__", "kwargs": {}}

    with pytest.raises(ValueError, match="unknown optimizer '__import__'"):
        load_learner(edit_config(exported, tmp_path / "f.plies", opt))


def test_config_describing_a_huge_model_is_refused_before_allocating(exported, tmp_path):
    def edit(c):
        c["model"]["tree"]["children"][0][1]["kwargs"].update(in_features=10**6, out_features=10**6)

    with pytest.raises(ValueError, match=r"shapes differ for \['0.weight', '0.bias'\]"):
        load_learner(edit_config(exported, tmp_path / "big.plies", edit))  # 4 TB if it were allocated

    config = json.loads(zipfile.ZipFile(exported).read("config.json"))
    config["metrics"] = "DEEP"
    text = json.dumps(config).replace('"DEEP"', "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested too deeply"):
        load_learner(rewrite(exported, tmp_path / "deep.plies", {"config.json": text.encode()}))


def test_loaded_learner_lives_beside_its_file_and_model_dir_cannot_escape(exported, tmp_path):
    copy = tmp_path / "copy.plies"
    copy.write_bytes(exported.read_bytes())
    assert load_learner(copy).path == tmp_path

    def escape(c):
        c["model_dir"] = "../../etc"

    with pytest.raises(ValueError, match="model_dir '../../etc' must be a relative folder"):
        load_learner(edit_config(exported, tmp_path / "q.plies", escape))


def test_unregistered_transform_in_data_state_is_refused(exported, tmp_path):
    def edit(c):
        c["data"]["tls"][0]["tfms"]["transforms"][0]["type"] = "os.system"

    with pytest.raises(KeyError, match="os.system"):
        load_learner(edit_config(exported, tmp_path / "g.plies", edit))


def test_zip_with_path_traversal_or_extra_members_is_refused(exported, tmp_path):
    bad = rewrite(exported, tmp_path / "h.plies", {"../../evil.py": b"import os"})
    with pytest.raises(ValueError, match=r"unexpected member\(s\) \['\.\./\.\./evil\.py'\]"):
        load_learner(bad)
    assert not (tmp_path.parent / "evil.py").exists()
    absolute = rewrite(exported, tmp_path / "i.plies", {"/etc/cron.d/job": b"x"})
    with pytest.raises(ValueError, match="unexpected member.*cron"):
        load_learner(absolute)
    with pytest.raises(ValueError, match=r"missing member\(s\) \['model.safetensors'\]"):
        load_learner(rewrite(exported, tmp_path / "j.plies", {"model.safetensors": None}))


def test_compressed_member_is_refused(exported, tmp_path):
    out = tmp_path / "k.plies"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in zipfile.ZipFile(exported).namelist():
            zf.writestr(name, zipfile.ZipFile(exported).read(name))
    with pytest.raises(ValueError, match="is compressed"):
        load_learner(out)


def lying_safetensors(real: bytes) -> bytes:
    """Same data, but the header claims the first tensor is 1000x bigger than it is."""
    (n,) = struct.unpack("<Q", real[:8])
    header = json.loads(real[8 : 8 + n])
    key = max((k for k in header if k != "__metadata__"), key=lambda k: len(header[k]["shape"]))
    header[key]["shape"] = [s * 1000 for s in header[key]["shape"]]
    new = json.dumps(header).encode()
    return struct.pack("<Q", len(new)) + new + real[8 + n :]


def test_safetensors_header_lying_about_sizes_is_refused(exported, tmp_path):
    real = zipfile.ZipFile(exported).read("model.safetensors")
    bad = rewrite(exported, tmp_path / "l.plies", {"model.safetensors": lying_safetensors(real)})
    with pytest.raises(ValueError, match="model.safetensors: tensor .* claims shape"):
        load_learner(bad)
    huge = struct.pack("<Q", 2**40) + real[8:]
    with pytest.raises(ValueError, match="header length 1099511627776 exceeds"):
        load_learner(rewrite(exported, tmp_path / "m.plies", {"model.safetensors": huge}))


def test_truncated_or_garbage_file_gives_a_clear_error(exported, tmp_path):
    data = exported.read_bytes()
    cut = tmp_path / "cut.plies"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.plies: (it is not a plies export|corrupt or truncated)"):
        load_learner(cut)
    junk = tmp_path / "junk.plies"
    junk.write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not a zip archive"):
        load_learner(junk)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_learner(tmp_path / "missing.plies")


def test_wrong_format_or_version_is_refused(exported, tmp_path):
    def version(c):
        c["version"] = 99

    with pytest.raises(ValueError, match="format version 99"):
        load_learner(edit_config(exported, tmp_path / "n.plies", version))

    def extra(c):
        c["run_me"] = "os.system"

    with pytest.raises(ValueError, match="keys .* differ from the expected"):
        load_learner(edit_config(exported, tmp_path / "o.plies", extra))

    def bad_tensor_ref(c):
        c["data"]["after_batch"]["transforms"][0]["state"]["mean"] = {"__tensor__": "nope"}

    with pytest.raises(ValueError, match="does not name a tensor"):
        load_learner(edit_config(exported, tmp_path / "p.plies", bad_tensor_ref))


def test_export_warns_about_unexportable_metric(tmp_path):
    def my_metric(pred: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        return (pred.argmax(-1) == targ).float().mean()

    learn, _ = trained_learner(tmp_path)
    learn.metrics = [accuracy, my_metric]
    with pytest.warns(UserWarning, match=r"metrics \['my_metric'\] cannot be exported"):
        path = learn.export()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [m.name for m in load_learner(path).metrics] == ["accuracy"]


def test_in_memory_buffer_is_not_needed(exported):
    # load_learner reads from a path only; the archive holds exactly three members, stored
    info = {
        i.filename: i.compress_type for i in zipfile.ZipFile(io.BytesIO(exported.read_bytes())).infolist()
    }
    assert info == {
        n: zipfile.ZIP_STORED for n in ("config.json", "model.safetensors", "tensors.safetensors")
    }


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_export_from_gpu_loads_on_cpu_or_gpu(tmp_path):
    set_seed(0)
    items = make_items()
    dls = make_dls(items)
    dls.cuda()
    learn = Learner(dls, nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2)), path=tmp_path)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, lr=1e-2)
    assert next(learn.model.parameters()).is_cuda
    path = learn.export()
    on_cpu = load_learner(path, cpu=True)
    assert next(on_cpu.model.parameters()).device.type == "cpu"
    on_gpu = load_learner(path, cpu=False)
    assert next(on_gpu.model.parameters()).is_cuda
    expected = preds_on(learn, items[:6]).cpu()
    assert torch.allclose(preds_on(on_cpu, items[:6]).cpu(), expected, atol=1e-5)


def test_export_without_a_pipeline_state_keeps_model_and_loss(tmp_path):
    from plies.learner import rmse
    from plies.loaders import DataLoader, DataLoaders

    torch.manual_seed(0)
    x = torch.randn(100, 3)
    y = x.sum(1, keepdim=True)
    dls = DataLoaders(DataLoader((x[:80], y[:80]), bs=16), DataLoader((x[80:], y[80:]), bs=16), path=tmp_path)
    learn = Learner(dls, nn.Sequential(nn.Linear(3, 1)), metrics=rmse)
    with pytest.warns(UserWarning, match="data pipeline cannot be exported without pickle"):
        path = learn.export()
    loaded = load_learner(path)
    assert loaded.dls is None and loaded.metrics[0].name == "rmse"
    valid = DataLoader((x[80:], y[80:]), bs=16)
    assert torch.allclose(loaded.get_preds(dl=valid)[0], learn.get_preds(dl=valid)[0])


def export_with(tmp_path: Path, model: nn.Module, loss_func, name: str) -> Path:
    """Export a learner on plain tensor data (no pipeline state: that warning is expected)."""
    from plies.loaders import DataLoader, DataLoaders

    x, y = torch.randn(8, 2), torch.zeros(8, dtype=torch.long)
    dls = DataLoaders(DataLoader((x, y), bs=4), DataLoader((x, y), bs=4), path=tmp_path)
    learn = Learner(dls, model, loss_func=loss_func)
    with pytest.warns(UserWarning, match="data pipeline cannot be exported"):
        return learn.export(name)


@pytest.mark.parametrize(
    ("loss_func", "targ"),
    [
        (
            CrossEntropyLossFlat(weight=torch.tensor([0.3, 0.7]), label_smoothing=0.1),
            torch.tensor([0, 1, 1, 0]),
        ),
        (nn.CrossEntropyLoss(ignore_index=1, reduction="sum"), torch.tensor([0, 1, 1, 0])),
        (nn.HuberLoss(delta=0.5), torch.randn(4, 2)),
        (nn.functional.mse_loss, torch.randn(4, 2)),
    ],
)
def test_losses_round_trip_with_their_arguments(tmp_path, loss_func, targ):
    path = export_with(tmp_path, nn.Sequential(nn.Linear(2, 2)), loss_func, "loss.plies")
    loaded = load_learner(path).loss_func
    pred = torch.randn(4, 2)
    assert type(loaded) is type(loss_func)
    assert torch.allclose(loaded(pred, targ), loss_func(pred, targ))


def test_plies_losses_round_trip(tmp_path):
    from plies.layers import BCEWithLogitsLossFlat, FocalLossFlat, LabelSmoothingCrossEntropyFlat, MSELossFlat

    pred, labels, multi = torch.randn(4, 3), torch.tensor([0, 2, 1, 2]), (torch.rand(4, 3) > 0.5).float()
    cases = [
        (BCEWithLogitsLossFlat(thresh=0.3), multi),
        (FocalLossFlat(gamma=3.0), labels),
        (LabelSmoothingCrossEntropyFlat(eps=0.2), labels),
        (MSELossFlat(reduction="sum"), torch.randn(4, 3)),
    ]
    for i, (loss_func, targ) in enumerate(cases):
        loaded = load_learner(export_with(tmp_path, nn.Linear(2, 3), loss_func, f"l{i}.plies")).loss_func
        assert torch.allclose(loaded(pred, targ), loss_func(pred, targ)), loss_func
        assert torch.equal(loaded.decodes(pred), loss_func.decodes(pred))


def test_many_torch_layers_round_trip_without_registration(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Unflatten(1, (2, 1, 1)),
        nn.Upsample(scale_factor=8),
        nn.Conv2d(2, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4, momentum=0.3),
        nn.GELU(approximate="tanh"),
        nn.MaxPool2d(2),
        nn.Sequential(nn.Conv2d(4, 6, 3, stride=2, padding="valid", padding_mode="zeros"), nn.LeakyReLU(0.1)),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.LayerNorm(6, eps=1e-3),
        nn.Linear(6, 2),
    )
    model.eval()
    x = torch.randn(3, 2)
    loaded = load_learner(export_with(tmp_path, model, nn.CrossEntropyLoss(), "net.plies")).model.eval()
    assert repr(loaded) == repr(model)
    assert torch.allclose(loaded(x), model(x), atol=1e-6)


def test_subclassed_layer_is_not_described(tmp_path):
    class MyLinear(nn.Linear):
        pass

    from plies.loaders import DataLoader, DataLoaders

    x, y = torch.randn(8, 2), torch.zeros(8, dtype=torch.long)
    dls = DataLoaders(DataLoader((x, y), bs=4), DataLoader((x, y), bs=4), path=tmp_path)
    learn = Learner(dls, nn.Sequential(MyLinear(2, 2)), loss_func=nn.CrossEntropyLoss())
    with pytest.warns(UserWarning) as record:
        path = learn.export()
    assert any("no build_spec" in str(w.message) for w in record)
    with pytest.raises(ValueError, match="'Sequential' model without a build_spec"):
        load_learner(path)


class TiedLM(nn.Module):
    """Embedding and output layer share their weight; a non-persistent buffer scales the output."""

    def __init__(self, vocab: int, dim: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.out = nn.Linear(dim, vocab, bias=False)
        self.out.weight = self.emb.weight
        self.register_buffer("scale", torch.full((1,), 0.5), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.emb(x)) * self.scale


@register_builder
def tied_lm(vocab: int, dim: int) -> nn.Module:
    """A registered model with tied weights and a non-persistent buffer."""
    return TiedLM(vocab, dim)


def test_tied_weights_and_non_persistent_buffers_survive(tmp_path):
    torch.manual_seed(0)
    model = tied_lm(7, 4)
    with torch.no_grad():
        model.emb.weight.mul_(3)
    path = export_with(tmp_path, model, nn.CrossEntropyLoss(), "tied.plies")
    loaded = load_learner(path).model
    assert loaded.out.weight is loaded.emb.weight
    assert torch.equal(loaded.scale, torch.full((1,), 0.5))
    x = torch.tensor([0, 3, 6])
    assert torch.allclose(loaded(x), model(x))


def test_hyper_parameters_of_the_wrong_type_are_refused(exported, tmp_path):
    def edit(c):
        c["hypers"]["lr"] = "os.system('x')"

    with pytest.raises(ValueError, match="hyper-parameter 'lr' has an unexpected value"):
        load_learner(edit_config(exported, tmp_path / "r.plies", edit))
    loaded = load_learner(exported)
    assert loaded.moms == (0.95, 0.85, 0.95) and loaded.train_bn is True
