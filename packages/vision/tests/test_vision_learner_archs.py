"""Each registered arch builds, runs on a tiny input and splits into groups covering its parameters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
import torchvision.models as tvm
from plies.layers import xresnet18
from plies.typecore import build_from_spec
from plies.vision import ArchMeta, arch_meta, arch_names, create_vision_model, model_meta, register_arch

# small enough to build and run on real numbers in well under a second; the others run on the meta
# device (every layer built and shape-checked, no allocation). RegNets compute their widths with
# tensors, which the meta device cannot read: they are built for real (the four smaller sizes only).
REAL = {
    "xresnet18", "xresnext18", "resnet18", "squeezenet1_1", "mobilenet_v3_small", "shufflenet_v2_x0_5",
    "mnasnet0_5", "alexnet", "efficientnet_b0", "regnet_x_400mf", "regnet_y_400mf", "mobilenet_v2",
}  # fmt: skip
THREE_GROUPS = ("resnet", "resnext", "wide_resnet", "densenet", "vgg", "squeezenet", "alexnet", "x")


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_the_registry_holds_torchvision_and_plies_families() -> None:
    names = arch_names()
    for name in ("resnet18", "resnet152", "resnext50_32x4d", "wide_resnet50_2", "densenet121", "vgg16_bn",
                 "squeezenet1_0", "alexnet", "mobilenet_v3_large", "efficientnet_b3", "convnext_tiny",
                 "swin_t", "xresnet18", "xresnet50", "xse_resnext50"):  # fmt: skip
        assert name in names, name
    assert set(arch_names("torchvision")) | set(arch_names("plies")) | set(arch_names("user")) == set(names)
    # torchvision's 80 classifiers less GoogLeNet, Inception v3, MaxViT, the 5 ViTs and 7 large RegNets
    assert len(arch_names("torchvision")) == 80 - 8 - 7


@pytest.mark.parametrize("name", arch_names())
def test_every_arch_builds_runs_and_splits(name: str) -> None:
    meta = arch_meta(name)
    kind = "real" if name in REAL or name.startswith("regnet") else "meta"
    if kind == "real":
        model = create_vision_model(name, 3, pretrained=False, n_in=1).eval()
        with torch.no_grad():
            out = model(torch.rand(2, 1, 64, 64))
        assert bool(torch.isfinite(out).all())
    else:
        with torch.device("meta"):
            model = create_vision_model(name, 3, pretrained=False, n_in=1).eval()
            out = model(torch.rand(2, 1, 64, 64))
    assert out.shape == (2, 3)
    groups = meta.split(model)
    expected = 3 if any(name.startswith(f) for f in THREE_GROUPS) else 2
    assert len(groups) == expected and all(len(g) > 0 for g in groups)
    ids = [id(p) for g in groups for p in g]
    assert len(ids) == len(set(ids)) and set(ids) == {id(p) for p in model.parameters()}
    assert model.build_spec["kwargs"]["arch"] == name


def test_lookup_by_function_and_model_meta() -> None:
    assert arch_meta(tvm.resnet34).name == "resnet34"
    assert arch_meta(xresnet18).name == "xresnet18"
    entry = model_meta[tvm.resnet34]
    assert entry["cut"] == -2 and entry["stats"] == arch_meta("resnet34").stats
    with pytest.raises(TypeError):
        entry["cut"] = 0  # read-only: register_arch adds entries
    assert tvm.resnet34 in model_meta and len(model_meta) == len(arch_names())


def test_an_unregistered_function_gets_a_default_entry_and_no_spec() -> None:
    def tiny(pretrained: bool = False) -> torch.nn.Module:
        return torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
        )

    meta = arch_meta(tiny)
    assert meta.family == "unregistered" and meta.cut is None
    model = create_vision_model(tiny, 4, pretrained=False)
    assert model.eval()(torch.zeros(1, 3, 8, 8)).shape == (1, 4)
    assert not hasattr(model, "build_spec")  # a local function cannot be rebuilt by name


def _tiny_net() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3, stride=2),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 10),
    )  # fmt: skip


def test_register_arch_makes_a_name_buildable_and_rebuildable() -> None:
    meta = register_arch("test_tiny_net", _tiny_net, cut=-3)
    assert isinstance(meta, ArchMeta) and arch_meta(_tiny_net) is meta
    model = create_vision_model("test_tiny_net", 2, pretrained=False, lin_ftrs=[])
    assert [type(m).__name__ for m in model[0]] == ["Conv2d", "ReLU", "Conv2d"]
    rebuilt = build_from_spec(model.build_spec)
    assert rebuilt.state_dict().keys() == model.state_dict().keys()
    with pytest.raises(ValueError, match="'test_tiny_net' is taken"):
        register_arch("test_tiny_net", tvm.resnet18)
    with pytest.raises(ValueError, match="not starting with 'timm/'"):
        register_arch("timm/mine", _tiny_net)
