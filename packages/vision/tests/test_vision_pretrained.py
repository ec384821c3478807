"""Pretrained weights from local files only: the paths searched, sha256 prefixes, tensors-only loading."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from plies.vision import (
    create_vision_model,
    download_weights,
    find_weights,
    read_weights,
    register_arch,
    weights_cache_dir,
)
from torch import nn


def _probe_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 10),
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checkpoint(folder: Path, stem: str, seed: int = 0, with_hash: bool = True) -> tuple[Path, dict]:
    """A state dict of `_probe_net` saved as `<stem>-<sha256 prefix>.pth` (torch hub's naming)."""
    torch.manual_seed(seed)
    state = _probe_net().state_dict()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "tmp.pth"
    torch.save(state, tmp)
    path = folder / (f"{stem}-{sha256(tmp)[:8]}.pth" if with_hash else f"{stem}.pth")
    tmp.rename(path)
    return path, state


@pytest.fixture()
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert weights_cache_dir() == tmp_path / "torch" / "hub" / "checkpoints"
    return weights_cache_dir()


def test_a_file_in_the_hub_cache_is_found_checked_and_loaded(torch_home: Path) -> None:
    path, state = checkpoint(torch_home, "probe")
    register_arch("test_probe", _probe_net, cut=-3, url=f"https://example.invalid/models/{path.name}")
    assert find_weights("test_probe") == path
    model = create_vision_model("test_probe", 2, pretrained=True, lin_ftrs=[])
    assert torch.equal(model[0][0].weight, state["0.weight"]) and torch.equal(
        model[0][1].running_mean, state["1.running_mean"]
    )
    assert model.build_spec["kwargs"]["pretrained"] is False  # a rebuild takes the exported weights instead


def test_missing_weights_name_the_paths_searched(torch_home: Path) -> None:
    expected = torch_home / "resnet18-f37072fd.pth"
    with pytest.raises(FileNotFoundError) as err:
        find_weights("resnet18")
    msg = str(err.value)
    assert str(expected) in msg and "https://download.pytorch.org/models/resnet18-f37072fd.pth" in msg
    assert (
        "weights='path/to/checkpoint.pth'" in msg
        and "download_weights('resnet18')" in msg
        and "pretrained=False" in msg
    )
    with pytest.raises(
        FileNotFoundError, match="no pretrained weights for xresnet18.*plies knows no published"
    ):
        create_vision_model("xresnet18", 2, pretrained=True)
    with pytest.raises(
        FileNotFoundError, match="the weights file .*nothere.pth given for resnet18 does not exist"
    ):
        find_weights("resnet18", weights=torch_home / "nothere.pth")


def test_torchvision_weights_by_name(torch_home: Path) -> None:
    with pytest.raises(FileNotFoundError, match="resnet50-11ad3fa6.pth"):  # IMAGENET1K_V2's file
        find_weights("resnet50", weights="IMAGENET1K_V2")
    import torchvision.models as tvm

    with pytest.raises(FileNotFoundError, match="resnet50-0676ba61.pth"):
        find_weights("resnet50", weights=tvm.ResNet50_Weights.IMAGENET1K_V1)
    with pytest.raises(
        ValueError, match=r"'IMAGENET9K' is neither a file .* \(IMAGENET1K_V1, IMAGENET1K_V2\)"
    ):
        find_weights("resnet50", weights="IMAGENET9K")


def test_a_corrupt_cached_file_is_refused_with_both_hashes(torch_home: Path) -> None:
    bad = torch_home / "resnet18-f37072fd.pth"
    bad.parent.mkdir(parents=True)
    torch.save({"w": torch.zeros(3)}, bad)
    assert find_weights("resnet18") == bad
    with pytest.raises(ValueError) as err:
        read_weights(bad)
    msg = str(err.value)
    assert str(bad) in msg and "sha256 f37072fd..." in msg and sha256(bad) in msg


def test_a_user_file_with_a_hash_in_its_name_is_checked(tmp_path: Path) -> None:
    path, state = checkpoint(tmp_path, "mine")
    assert read_weights(path).keys() == state.keys()
    wrong = path.with_name("mine-0123abcd.pth")
    path.rename(wrong)
    with pytest.raises(ValueError, match="its name says sha256 0123abcd"):
        read_weights(wrong)
    plain, _ = checkpoint(tmp_path, "mine-final", with_hash=False)  # 'final' is not a hash: not checked
    assert set(read_weights(plain)) == set(state)


class Payload:
    """Not a tensor: a pickle of it would need this code to load."""


def test_only_tensors_are_loaded(tmp_path: Path) -> None:
    path = tmp_path / "code.pth"
    torch.save({"w": torch.zeros(2), "obj": Payload()}, path)
    with pytest.raises(ValueError, match="cannot load .*code.pth as tensors only"):
        read_weights(path)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}, "epoch": 3}, wrapped)
    assert torch.equal(read_weights(wrapped)["w"], torch.ones(2))
    not_state = tmp_path / "list.pth"
    torch.save([torch.ones(2)], not_state)
    with pytest.raises(ValueError, match="does not hold a state dict"):
        read_weights(not_state)


def test_safetensors_files(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "w.safetensors"
    save_file({"w": torch.arange(3.0)}, str(path))
    assert torch.equal(read_weights(path)["w"], torch.arange(3.0))


def test_weights_that_do_not_fit_name_the_file(tmp_path: Path) -> None:
    path, _ = checkpoint(tmp_path, "probe")
    with pytest.raises(ValueError, match=r"the weights in .*probe-.*\.pth do not fit resnet18"):
        create_vision_model("resnet18", 2, weights=path)


def test_download_weights_fetches_into_the_cache_with_the_hash_checked(
    torch_home: Path, tmp_path: Path
) -> None:
    source, state = checkpoint(tmp_path / "mirror", "probe", seed=3)
    register_arch("test_probe_dl", _probe_net, cut=-3)
    dest = download_weights(
        "test_probe_dl", url=source.as_uri()
    )  # a file:// mirror: nothing leaves the machine
    assert dest == torch_home / source.name and sha256(dest) == sha256(source)
    assert torch.equal(read_weights(dest)["0.weight"], state["0.weight"])
    liar = source.with_name("probe-00000000.pth")
    liar.write_bytes(source.read_bytes())
    with pytest.raises(RuntimeError, match="invalid hash value"):
        download_weights("test_probe_dl", url=liar.as_uri())
    with pytest.raises(ValueError, match="plies knows no published weights for test_probe_dl; pass url="):
        download_weights("test_probe_dl")


def test_timm_weights_from_the_hugging_face_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    timm = pytest.importorskip("timm")
    from huggingface_hub import constants
    from safetensors.torch import save_file

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(
        FileNotFoundError, match=r"Hugging Face cache \(timm/resnet18.a1_in1k/model.safetensors\)"
    ):
        find_weights("timm/resnet18")
    snapshot = tmp_path / "hf" / "models--timm--resnet18.a1_in1k" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc123")
    torch.manual_seed(0)
    source = timm.create_model("resnet18", pretrained=False)
    save_file(source.state_dict(), str(snapshot / "model.safetensors"))
    assert find_weights("timm/resnet18") == snapshot / "model.safetensors"
    model = create_vision_model("timm/resnet18", 2)
    assert torch.equal(model[0].model.layer1[0].conv1.weight, source.layer1[0].conv1.weight)
