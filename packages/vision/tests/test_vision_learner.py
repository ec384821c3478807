"""vision_learner and unet_learner: n_out and n_in from the data, splits, freezing, normalisation."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.models as tvm
from PIL import Image
from plies.layers import SigmoidRange, xresnet18
from plies.learner import ChannelsLast, MixedPrecision, accuracy
from plies.loaders import (
    CategoryBlock,
    ColReader,
    ColSplitter,
    DataBlock,
    GrandparentSplitter,
    Normalize,
    get_image_files,
    parent_label,
)
from plies.typecore import build_from_spec
from plies.vision import (
    ImageBlock,
    MaskBlock,
    PILImageBW,
    cnn_learner,
    imagenet_stats,
    unet_learner,
    vision_learner,
)
from torch import nn


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def stripes(horizontal: bool, seed: int, size: int = 16) -> np.ndarray:
    """An RGB image of stripes (horizontal or vertical) with noise: two classes a CNN learns at once."""
    rng = np.random.default_rng(seed)
    line = (np.arange(size) // 2 % 2 * 200 + 30).astype(np.float64)
    img = np.broadcast_to(line[:, None] if horizontal else line[None, :], (size, size))
    noisy = img + rng.normal(0, 20, (size, size))
    return np.clip(np.repeat(noisy[:, :, None], 3, axis=2), 0, 255).astype(np.uint8)


def write_stripes(root: Path, n: int = 24) -> Path:
    for split, offset in (("train", 0), ("valid", 1000)):
        for label, horizontal in (("h", True), ("v", False)):
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(stripes(horizontal, offset + i + (0 if horizontal else 500))).save(
                    folder / f"{i}.png"
                )
    return root


@pytest.fixture(scope="module")
def stripes_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_stripes(tmp_path_factory.mktemp("stripes"))


def stripes_dls(path: Path, bw: bool = False, **kwargs):
    block = ImageBlock(PILImageBW) if bw else ImageBlock()
    dblock = DataBlock(
        blocks=(block, CategoryBlock),
        get_items=get_image_files,
        splitter=GrandparentSplitter(train_name="train", valid_name="valid"),
        get_y=parent_label,
        **kwargs,
    )
    return dblock.dataloaders(path, bs=8)


def save_state(model: nn.Module, path: Path) -> Path:
    torch.save(model.state_dict(), path)
    return path


# ---------------------------------------------------------------- the model the learner builds
def test_n_out_and_n_in_come_from_the_data(stripes_path: Path) -> None:
    dls = stripes_dls(stripes_path, bw=True)
    learn = vision_learner(dls, xresnet18, pretrained=False)
    first_conv = next(m for m in learn.model.modules() if isinstance(m, nn.Conv2d))
    last_linear = [m for m in learn.model.modules() if isinstance(m, nn.Linear)][-1]
    assert first_conv.in_channels == 1  # greyscale images
    assert last_linear.out_features == 2  # the vocab: h, v
    assert learn.model(torch.zeros(2, 1, 16, 16)).shape == (2, 2)
    assert learn.model.build_spec == {
        "builder": "plies.vision.create_vision_model",
        "kwargs": {"arch": "xresnet18", "n_out": 2, "pretrained": False, "n_in": 1},
    }


def test_arch_by_function_or_name_records_the_name(stripes_path: Path) -> None:
    dls = stripes_dls(stripes_path)
    by_fn = vision_learner(dls, tvm.resnet18, pretrained=False).model.build_spec
    by_name = vision_learner(dls, "resnet18", pretrained=False).model.build_spec
    assert by_fn == by_name and by_fn["kwargs"]["arch"] == "resnet18"
    with torch.device("meta"):
        rebuilt = build_from_spec(by_fn)
    assert isinstance(rebuilt[0][0], nn.Conv2d) and rebuilt[0][0].out_channels == 64


def test_explicit_n_out_and_head_arguments(stripes_path: Path) -> None:
    dls = stripes_dls(stripes_path)
    learn = vision_learner(dls, "xresnet18", pretrained=False, n_out=5, lin_ftrs=[32], y_range=(0, 3))
    linears = [m for m in learn.model[1].modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(1024, 32), (32, 5)]  # concat pool: 2 x 512
    assert isinstance(learn.model[1][-1], SigmoidRange)
    out = learn.model(torch.zeros(3, 3, 16, 16))
    assert out.shape == (3, 5) and bool(((out >= 0) & (out <= 3)).all())


def test_custom_head_replaces_the_head(stripes_path: Path) -> None:
    dls = stripes_dls(stripes_path)
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 2))
    learn = vision_learner(dls, "xresnet18", pretrained=False, custom_head=head)
    assert learn.model[1] is head


def test_cnn_learner_is_vision_learner() -> None:
    assert cnn_learner is vision_learner


def test_no_n_out_in_the_data_is_an_error(stripes_path: Path) -> None:
    dblock = DataBlock(blocks=(ImageBlock(), ImageBlock()), get_items=get_image_files)
    dls = dblock.dataloaders(stripes_path, bs=4)
    with pytest.raises(ValueError, match="vision_learner: n_out not given.*pass n_out="):
        vision_learner(dls, "xresnet18", pretrained=False)


def test_unknown_arch_name_is_a_key_error(stripes_path: Path) -> None:
    with pytest.raises(KeyError, match="no architecture named 'resnet19'.*resnet18"):
        vision_learner(stripes_dls(stripes_path), "resnet19", pretrained=False)


# ---------------------------------------------------------------- splits and freezing
def test_resnet_split_in_three_groups_covering_every_parameter(stripes_path: Path) -> None:
    learn = vision_learner(stripes_dls(stripes_path), "resnet18", pretrained=False)
    groups = learn.splitter(learn.model)
    body = learn.model[0]
    assert len(groups) == 3
    assert (
        [len(g) for g in groups]
        == [
            len(list(body[:6].parameters())),  # conv1, bn1, relu, maxpool, layer1, layer2
            len(list(body[6:].parameters())),  # layer3, layer4
            len(list(learn.model[1].parameters())),
        ]
    )
    ids = [id(p) for g in groups for p in g]
    assert sorted(ids) == sorted(id(p) for p in learn.model.parameters())


def test_pretrained_freezes_the_body_but_not_its_batchnorm(stripes_path: Path, tmp_path: Path) -> None:
    weights = save_state(tvm.resnet18(weights=None), tmp_path / "my_resnet18.pth")
    learn = vision_learner(stripes_dls(stripes_path), "resnet18", weights=weights, normalize=False)
    body, head = learn.model[0], learn.model[1]
    conv_w = body[0].weight.detach().clone()
    bn_w = body[1].weight.detach().clone()
    assert not body[0].weight.requires_grad and body[1].weight.requires_grad
    assert all(p.requires_grad for p in head.parameters())
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-2)
    assert torch.equal(body[0].weight, conv_w)  # frozen conv
    assert not torch.equal(body[1].weight, bn_w)  # BatchNorm trains (train_bn)
    learn.unfreeze()
    assert all(p.requires_grad for p in learn.model.parameters())


def test_from_scratch_is_not_frozen(stripes_path: Path) -> None:
    learn = vision_learner(stripes_dls(stripes_path), "resnet18", pretrained=False)
    learn.create_opt()
    assert all(p.requires_grad for p in learn.model.parameters())
    assert not any(isinstance(f, Normalize) for f in learn.dls.train.after_batch.fs)


def test_pretrained_weights_are_loaded_and_adapted_to_one_channel(stripes_path: Path, tmp_path: Path) -> None:
    torch.manual_seed(1)
    source = tvm.resnet18(weights=None)
    weights = save_state(source, tmp_path / "r18.pth")
    learn = vision_learner(stripes_dls(stripes_path, bw=True), "resnet18", weights=weights, normalize=False)
    body = learn.model[0]
    assert torch.equal(body[4][0].conv1.weight, source.layer1[0].conv1.weight)
    # one input channel: the three pretrained channels summed (the same response to a grey image)
    assert torch.allclose(body[0].weight, source.conv1.weight.sum(dim=1, keepdim=True))


def test_pretrained_adds_the_weights_normalisation_once(stripes_path: Path, tmp_path: Path) -> None:
    weights = save_state(tvm.resnet18(weights=None), tmp_path / "r18.pth")
    dls = stripes_dls(stripes_path)
    vision_learner(dls, "resnet18", weights=weights)
    vision_learner(dls, "resnet18", pretrained=str(weights))  # pretrained= may be the file itself
    for dl in (dls.train, dls.valid):
        norms = [f for f in dl.after_batch.fs if isinstance(f, Normalize)]
        assert len(norms) == 1
        assert torch.allclose(norms[0].mean.flatten(), torch.tensor(imagenet_stats[0]))
        assert torch.allclose(norms[0].std.flatten(), torch.tensor(imagenet_stats[1]))
    x = dls.valid.one_batch()[0][0].as_subclass(torch.Tensor)  # the first validation image
    raw = torch.from_numpy(np.array(dls.valid.dataset[0][0])).permute(2, 0, 1).float() / 255
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in imagenet_stats)
    assert torch.allclose(x, (raw - mean) / std, atol=1e-5)


def test_a_normalize_already_there_is_kept(stripes_path: Path, tmp_path: Path) -> None:
    weights = save_state(tvm.resnet18(weights=None), tmp_path / "r18.pth")
    dls = stripes_dls(stripes_path, batch_tfms=[Normalize.from_stats([0.5] * 3, [0.25] * 3)])
    vision_learner(dls, "resnet18", weights=weights)
    norms = [f for f in dls.train.after_batch.fs if isinstance(f, Normalize)]
    assert len(norms) == 1 and float(norms[0].mean.flatten()[0]) == 0.5


def test_greyscale_with_three_channel_stats_warns(stripes_path: Path, tmp_path: Path) -> None:
    weights = save_state(tvm.resnet18(weights=None), tmp_path / "r18.pth")
    dls = stripes_dls(stripes_path, bw=True)
    with pytest.warns(UserWarning, match="3-channel statistics and the images have 1 channels"):
        vision_learner(dls, "resnet18", weights=weights)
    assert not any(isinstance(f, Normalize) for f in dls.train.after_batch.fs)


def test_pretrained_and_weights_both_given_is_an_error(stripes_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        vision_learner(stripes_dls(stripes_path), "resnet18", pretrained="a.pth", weights="b.pth")


def test_channels_last_and_bf16_options(stripes_path: Path) -> None:
    learn = vision_learner(
        stripes_dls(stripes_path), "xresnet18", pretrained=False, channels_last=True, bf16=True
    )
    assert any(isinstance(cb, ChannelsLast) for cb in learn.cbs)
    mp = [cb for cb in learn.cbs if isinstance(cb, MixedPrecision)]
    assert len(mp) == 1 and mp[0].amp_mode == "bf16"
    plain = vision_learner(stripes_dls(stripes_path), "xresnet18", pretrained=False)
    assert not any(isinstance(cb, (ChannelsLast, MixedPrecision)) for cb in plain.cbs)


def test_trains_on_the_stripes(stripes_path: Path) -> None:
    torch.manual_seed(0)
    learn = vision_learner(stripes_dls(stripes_path), "xresnet18", pretrained=False, metrics=accuracy)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(3, 5e-3)
    assert learn.recorder.values[-1][2] >= 0.9  # accuracy on the validation stripes


# ---------------------------------------------------------------- unet_learner
def write_squares(root: Path, n: int = 8, size: int = 24) -> Path:
    """Images with one bright square on noise and masks (1 in the square): a U-Net learns it quickly."""
    import pandas as pd

    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        img = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
        mask = np.zeros((size, size), np.uint8)
        y, x = rng.integers(2, size - 10, 2)
        img[y : y + 8, x : x + 8] = 220
        mask[y : y + 8, x : x + 8] = 1
        Image.fromarray(img).save(root / "images" / f"{i}.png")
        Image.fromarray(mask).save(root / "labels" / f"{i}.png")
        rows.append({"image": f"images/{i}.png", "mask": f"labels/{i}.png", "is_valid": i % 4 == 0})
    pd.DataFrame(rows).to_csv(root / "items.csv", index=False)
    return root


@pytest.fixture(scope="module")
def squares_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_squares(tmp_path_factory.mktemp("squares"))


def squares_dls(path: Path):
    import pandas as pd

    dblock = DataBlock(
        blocks=(ImageBlock(), MaskBlock(codes=["background", "square"])),
        get_x=ColReader("image", pref=f"{path}/"),
        get_y=ColReader("mask", pref=f"{path}/"),
        splitter=ColSplitter("is_valid"),
    )
    return dblock.dataloaders(pd.read_csv(path / "items.csv"), bs=4, path=path)


def test_unet_learner_sizes_from_the_data(squares_path: Path) -> None:
    dls = squares_dls(squares_path)
    learn = unet_learner(dls, "xresnet18", pretrained=False)
    x = dls.one_batch()[0]
    assert learn.model(x.as_subclass(torch.Tensor)).shape == (4, 2, 24, 24)  # n_out = the 2 codes
    spec = learn.model.build_spec
    assert spec["builder"] == "plies.vision.create_unet_model"
    assert spec["kwargs"] == {"arch": "xresnet18", "n_out": 2, "img_size": [24, 24], "pretrained": False}
    assert len(learn.splitter(learn.model)) == 3


def test_unet_learner_pretrained_freezes_the_encoder(squares_path: Path, tmp_path: Path) -> None:
    weights = save_state(tvm.resnet18(weights=None), tmp_path / "r18.pth")
    learn = unet_learner(squares_dls(squares_path), tvm.resnet18, weights=weights)
    learn.create_opt()
    encoder = learn.model[0]
    assert not encoder[0].weight.requires_grad and encoder[1].weight.requires_grad
    assert all(p.requires_grad for layer in list(learn.model)[1:] for p in layer.parameters())
    assert any(isinstance(f, Normalize) for f in learn.dls.train.after_batch.fs)


def test_unet_refuses_timm_models(squares_path: Path) -> None:
    pytest.importorskip("timm")
    with pytest.raises(ValueError, match="timm model; a U-Net needs an encoder"):
        unet_learner(squares_dls(squares_path), "timm/resnet18", pretrained=False)


# ---------------------------------------------------------------- timm (optional)
def test_timm_model_by_name(stripes_path: Path, tmp_path: Path) -> None:
    timm = pytest.importorskip("timm")
    dls = stripes_dls(stripes_path)
    learn = vision_learner(dls, "timm/resnet18", pretrained=False)
    spec = learn.model.build_spec
    assert spec["kwargs"]["arch"] == "timm/resnet18" and spec["kwargs"]["pretrained"] is False
    assert learn.model(torch.zeros(2, 3, 32, 32)).shape == (2, 2)
    rebuilt = build_from_spec(spec)
    assert rebuilt.state_dict().keys() == learn.model.state_dict().keys()
    # pretrained from a local file: the full timm model's state dict (classifier included)
    source = timm.create_model("resnet18", pretrained=False)
    weights = save_state(source, tmp_path / "timm_r18.pth")
    learn = vision_learner(dls, "timm/resnet18", weights=weights)
    assert torch.equal(learn.model[0].model.conv1.weight, source.conv1.weight)
    assert not learn.model[0].model.conv1.weight.requires_grad


def test_split_partial_is_picklable_for_pickle_exports() -> None:
    from plies.vision import arch_meta

    split = arch_meta("resnet18").split
    assert isinstance(split, functools.partial)
    import pickle

    assert pickle.loads(pickle.dumps(split)).keywords == {"at": 6}


# ---------------------------------------------------------------- export, then predict in a fresh process
PREDICT_SCRIPT = """
import json, sys
import numpy as np
from PIL import Image
import plies.vision  # registers the builders and transforms the files name
from plies.learner import load_learner
out = {}
for name, fname, item in json.loads(sys.argv[1]):
    learn = load_learner(fname)
    with Image.open(item) as im:
        pil = im.convert("RGB")
    out[name] = [learn.predict(x)[2].flatten().tolist() for x in (item, pil, np.array(pil))]
print(json.dumps(out))
"""


@pytest.mark.slow  # a second Python process (about 10 s of imports and loading on 2 busy cores)
def test_exported_learners_predict_the_same_in_a_fresh_process(
    stripes_path: Path, squares_path: Path, tmp_path: Path
) -> None:
    import json
    import subprocess
    import sys

    torch.manual_seed(0)
    clf = vision_learner(stripes_dls(stripes_path), "xresnet18", pretrained=False, path=tmp_path)
    seg = unet_learner(squares_dls(squares_path), "resnet18", pretrained=False, path=tmp_path)
    for learn in (clf, seg):
        with learn.no_bar(), learn.no_logging():
            learn.fit(1, 1e-3)
    jobs = [
        ("vision", str(clf.export("clf.plies")), str(stripes_path / "valid" / "v" / "3.png")),
        ("unet", str(seg.export("seg.plies")), str(squares_path / "images" / "0.png")),
    ]
    expected = {
        "vision": clf.predict(Path(jobs[0][2]))[2].flatten(),
        "unet": seg.predict(Path(jobs[1][2]))[2].flatten(),
    }
    assert expected["vision"].shape == (2,) and expected["unet"].shape == (2 * 24 * 24,)
    res = subprocess.run(
        [sys.executable, "-c", PREDICT_SCRIPT, json.dumps(jobs)], capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    for name, probs in got.items():
        for p in probs:  # a path, a PIL image, a numpy array
            assert torch.allclose(torch.tensor(p), expected[name], atol=1e-5), name
