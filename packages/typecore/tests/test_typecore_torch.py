"""Torch utilities: apply, to_device & co, find_bs, default_device, set_seed, rank/num distrib."""

from __future__ import annotations

import random
from collections import namedtuple

import numpy as np
import pytest
import torch
from plies.typecore import (
    TensorImage,
    apply,
    default_device,
    find_bs,
    num_distrib,
    rank_distrib,
    set_seed,
    to_cpu,
    to_detach,
    to_device,
    to_float,
)

Pair = namedtuple("Pair", ["x", "y"])


def test_apply_recurses_and_keeps_container_types() -> None:
    b = (1, [2, {"a": 3}], Pair(4, 5))
    res = apply(lambda o, k: o * k, b, 10)
    assert res == (10, [20, {"a": 30}], Pair(40, 50))
    assert type(res[2]) is Pair and type(res[1]) is list
    assert apply(lambda o: o, None) is None


def test_apply_keeps_semantic_tensor_type() -> None:
    img = TensorImage(torch.ones(2), img_size=(1, 2))
    res = apply(lambda t: t.as_subclass(torch.Tensor) + 1, (img,))
    assert type(res[0]) is TensorImage and res[0].img_size == (1, 2) and res[0].tolist() == [2.0, 2.0]


def test_to_device_and_to_cpu() -> None:
    img = TensorImage(torch.ones(2), img_size=(1, 2))
    b = {"x": (img, torch.zeros(3, dtype=torch.int64)), "n": 3}
    res = to_device(b, "cpu")
    assert res["n"] == 3 and res["x"][0].device.type == "cpu"
    assert type(res["x"][0]) is TensorImage and res["x"][0].img_size == (1, 2)
    assert to_cpu([torch.ones(1)])[0].device == torch.device("cpu")
    Pair = namedtuple("Pair", "x y")
    moved = to_device([Pair(img, "label")], "cpu")
    assert type(moved) is list and type(moved[0]) is Pair and moved[0].y == "label"
    assert moved[0].x.img_size == (1, 2)
    assert to_device(torch.ones(1)).device.type == default_device().type


class _RecordsTo(torch.Tensor):
    """Records the `non_blocking` flag of each `.to` call."""

    calls: list[bool] = []

    def to(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        _RecordsTo.calls.append(kwargs.get("non_blocking", False))
        return super().to(*args, **kwargs)


def test_to_device_blocks_on_copies_to_the_cpu() -> None:
    # a non-blocking copy to the CPU could be read before it lands: only accelerator copies may skip the wait
    t = torch.ones(2).as_subclass(_RecordsTo)
    _RecordsTo.calls.clear()
    to_device((t,), "cpu", non_blocking=True)
    to_device((t,), "meta", non_blocking=True)
    to_device((t,), "meta")
    assert _RecordsTo.calls == [False, True, False]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_to_device_cuda_round_trip() -> None:
    img = TensorImage(torch.ones(2), img_size=(1, 2))
    on_gpu = to_device((img,), "cuda")
    assert on_gpu[0].is_cuda and type(on_gpu[0]) is TensorImage and on_gpu[0].img_size == (1, 2)
    assert to_cpu(on_gpu)[0].device.type == "cpu"


def test_to_detach_and_to_float() -> None:
    w = torch.ones(2, requires_grad=True)
    out = (w * 2, [w.half() if hasattr(w, "half") else w])
    det = to_detach(out)
    assert not det[0].requires_grad and det[0].grad_fn is None and det[0].tolist() == [2.0, 2.0]
    assert to_detach(out, cpu=False)[0].device == w.device
    f = to_float((torch.ones(1, dtype=torch.float16), torch.ones(1, dtype=torch.int64), "s"))
    assert f[0].dtype is torch.float32 and f[1].dtype is torch.int64 and f[2] == "s"


def test_find_bs() -> None:
    assert find_bs(torch.zeros(5, 3)) == 5
    assert find_bs(({"a": [torch.zeros(7)]}, torch.zeros(2))) == 7
    assert find_bs(("text", [torch.zeros(4, 1)])) == 4
    with pytest.raises(ValueError, match="find_bs: no tensor found in the batch \\(a tuple\\)"):
        find_bs((1, "a"))
    with pytest.raises(ValueError, match="scalar"):
        find_bs(torch.tensor(3))


def test_default_device() -> None:
    assert default_device(False) == torch.device("cpu")
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert default_device() == torch.device("cpu")
        with pytest.warns(UserWarning, match="no CUDA or MPS device is available; using the CPU"):
            assert default_device(True) == torch.device("cpu")
    else:
        assert default_device().type in ("cuda", "mps")


def test_set_seed_makes_random_numpy_and_torch_reproducible() -> None:
    set_seed(42)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_seed(42, reproducible=True)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b and torch.backends.cudnn.deterministic
    torch.backends.cudnn.deterministic = False
    torch.backends.cudnn.benchmark = False


def test_rank_and_num_distrib_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert (rank_distrib(), num_distrib()) == (0, 1)
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert (rank_distrib(), num_distrib()) == (3, 4)
    monkeypatch.setenv("WORLD_SIZE", "four")
    with pytest.raises(ValueError, match="WORLD_SIZE must be an integer, found 'four'"):
        num_distrib()


def test_to_detach_does_not_gather_without_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    t = torch.arange(3.0)
    assert to_detach(t).tolist() == [0.0, 1.0, 2.0]
