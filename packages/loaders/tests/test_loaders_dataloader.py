"""DataLoader: batching, every replaceable stage, seeded shuffling, sharding, resume, workers."""

from __future__ import annotations

import gc
import random
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from plies.loaders import DataLoader
from torch.utils.data import TensorDataset


def flat(batches):
    return [i for b in batches for i in (b if isinstance(b, torch.Tensor) else b[0]).tolist()]


class Stream:
    """An iterable (not indexable) source of 0..n-1."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


def test_in_memory_tensor_batches_and_len():
    x = torch.arange(10)
    dl = DataLoader(x, bs=4)
    batches = list(dl)
    assert len(dl) == 3 and dl.n == 10
    assert [b.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(DataLoader(x, bs=4, drop_last=True)) == 2 and DataLoader(x, batch_size=5).bs == 5
    assert [b.tolist() for b in DataLoader(x, bs=4, drop_last=True)] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_tuple_of_tensors_and_tensor_dataset_give_tuple_batches():
    x, y = torch.randn(7, 3), torch.arange(7)
    for src in [(x, y), TensorDataset(x, y)]:
        xb, yb = DataLoader(src, bs=5).one_batch()
        assert torch.equal(xb, x[:5]) and yb.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="same length"):
        DataLoader((x, torch.arange(6)))


def test_list_of_items_is_collated_per_field():
    items = [(torch.full((2,), float(i)), i) for i in range(6)]
    xb, yb = DataLoader(items, bs=4).one_batch()
    assert xb.shape == (4, 2) and yb.tolist() == [0, 1, 2, 3] and yb.dtype == torch.int64


def test_bs_none_yields_items_unbatched():
    dl = DataLoader([torch.tensor([i, i]) for i in range(3)], bs=None)
    assert len(dl) == 3 and [b.tolist() for b in dl] == [[0, 0], [1, 1], [2, 2]]


def test_iterable_source_and_n():
    dl = DataLoader(Stream(7), bs=3)
    assert not dl.indexed and dl.n is None
    assert [b.tolist() for b in dl] == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(TypeError, match="unknown"):
        len(dl)
    assert [b.tolist() for b in DataLoader(Stream(7), bs=3, n=5)] == [[0, 1, 2], [3, 4]]
    with pytest.raises(ValueError, match="shuffle=True needs an indexed source"):
        DataLoader(Stream(3), shuffle=True)


def test_typo_in_keyword_raises():
    with pytest.raises(TypeError, match="shufle"):
        DataLoader(torch.arange(3), shufle=True)
    with pytest.raises(ValueError, match="bs must be"):
        DataLoader(torch.arange(3), bs=0)


def test_shuffle_is_reproducible_and_changes_per_epoch():
    x = torch.arange(50)
    a, b = DataLoader(x, bs=8, shuffle=True, seed=3), DataLoader(x, bs=8, shuffle=True, seed=3)
    ea0, ea1 = flat(a), flat(a)
    assert ea0 == flat(b) and ea1 == flat(b)
    assert ea0 != ea1 and sorted(ea0) == list(range(50))
    assert flat(DataLoader(x, bs=8, shuffle=True, seed=4)) != ea0


def test_seed_none_follows_torch_global_rng():
    x = torch.arange(40)
    torch.manual_seed(0)
    first = flat(DataLoader(x, bs=8, shuffle=True))
    torch.manual_seed(0)
    assert flat(DataLoader(x, bs=8, shuffle=True)) == first


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), bs=st.integers(1, 9), drop_last=st.booleans(), seed=st.integers(0, 2**31))
def test_epoch_visits_every_item_once(n, bs, drop_last, seed):
    dl = DataLoader(torch.arange(n), bs=bs, shuffle=True, drop_last=drop_last, seed=seed)
    seen = flat(dl)
    assert len(list(dl)) == len(dl)
    assert len(seen) == (n // bs * bs if drop_last else n) and len(set(seen)) == len(seen)


# ---- every stage can be replaced by a keyword ------------------------------------------------
def test_replace_sample_creation_stages():
    x = torch.arange(10)
    assert flat(DataLoader(x, bs=4, get_idxs=lambda: [9, 8, 7])) == [9, 8, 7]
    assert flat(DataLoader(x, bs=4, shuffle=True, shuffle_fn=lambda idxs: list(reversed(idxs)))) == list(
        range(9, -1, -1)
    )
    assert flat(DataLoader(x, bs=4, sample=lambda: [1, 3, 5])) == [1, 3, 5]
    calls = []
    dl = DataLoader(x, bs=4, shuffle=True, seed=0, randomize=lambda: calls.append(1))
    list(dl), list(dl)
    assert calls == [1, 1]


def test_replace_item_creation_stages():
    x = torch.arange(6)
    assert flat(DataLoader(x, bs=3, create_item=lambda i: torch.tensor(i * 10))) == [0, 10, 20, 30, 40, 50]
    assert flat(DataLoader(x, bs=3, do_item=lambda i: torch.tensor(-i))) == [0, -1, -2, -3, -4, -5]
    assert flat(DataLoader(x, bs=3, after_item=lambda o: o + 100)) == [100, 101, 102, 103, 104, 105]
    assert flat(DataLoader(x, bs=3, before_batch=lambda items: items[::-1])) == [2, 1, 0, 5, 4, 3]


def test_replace_batch_creation_stages():
    x = torch.arange(6)
    dl = DataLoader(x, bs=3, create_batches=lambda samps: iter([torch.tensor(list(samps)).sum()]))
    assert [b.item() for b in dl] == [15]
    assert [b.tolist() for b in DataLoader(x, bs=3, create_batch=lambda items: torch.stack(items) * 2)] == [
        [0, 2, 4],
        [6, 8, 10],
    ]
    assert [b for b in DataLoader(x, bs=3, do_batch=lambda items: len(items))] == [3, 3]
    assert [b.tolist() for b in DataLoader(x, bs=3, after_batch=lambda b: b + 1)] == [[1, 2, 3], [4, 5, 6]]
    seen = []
    DataLoader(x, bs=3, retain=lambda res, b: seen.append(len(b)) or res).one_batch()
    assert seen == [3]


class Tagged(torch.Tensor):
    pass


def test_retain_keeps_semantic_type_of_items():
    items = [torch.tensor([float(i)]).as_subclass(Tagged) for i in range(4)]
    b = DataLoader(items, bs=2).one_batch()
    assert type(b) is Tagged and b.shape == (2, 1)


def test_events_and_subclass_override():
    events = []

    class MyDL(DataLoader):
        def create_item(self, s):
            return torch.tensor(s * s)

        def before_iter(self):
            events.append("before_iter")

        def after_iter(self):
            events.append("after_iter")

    assert flat(MyDL(torch.arange(4), bs=2)) == [0, 1, 4, 9]
    assert events == ["before_iter", "after_iter"]


def test_to_device_and_new_keep_settings():
    calls = []
    dl = DataLoader(torch.arange(8), bs=4, shuffle=True, seed=1, after_batch=lambda b: calls.append(1) or b)
    assert dl.to("cpu") is dl and dl.device == "cpu"
    assert next(iter(dl)).device.type == "cpu"
    dl2 = dl.new(bs=2)
    assert (dl2.bs, dl2.shuffle, dl2.seed, dl2.device) == (2, True, 1, "cpu")
    list(dl2)
    assert len(calls) == 1 + 4
    dl3 = dl.new(torch.arange(3))
    assert dl3.n == 3 and len(dl3) == 1


def test_one_batch_does_not_advance_epoch():
    dl = DataLoader(torch.arange(20), bs=5, shuffle=True, seed=0)
    b = dl.one_batch()
    assert torch.equal(b, next(iter(dl)))
    assert dl.state_dict()["epoch"] == 1
    with pytest.raises(ValueError, match="no batches"):
        DataLoader(torch.arange(3), bs=4, drop_last=True).one_batch()


def test_collate_error_names_the_items():
    items = [torch.zeros(3), torch.zeros(3), torch.zeros(4)]
    with pytest.raises(
        RuntimeError, match=r"could not collate a batch of 3 items.*item 2: Tensor\(shape=\[4\]"
    ):
        DataLoader(items, bs=3).one_batch()


# ---- sharding ----------------------------------------------------------------------------------
@pytest.mark.parametrize("n,ws", [(10, 3), (12, 4), (7, 2)])
def test_shards_are_disjoint_complete_and_equal(n, ws):
    dls = [DataLoader(torch.arange(n), bs=2, shuffle=True, seed=5, rank=r, world_size=ws) for r in range(ws)]
    parts = [flat(dl) for dl in dls]
    assert len({len(dl) for dl in dls}) == 1 and all(len(list(dl)) == len(dls[0]) for dl in dls)
    real = [p[: len(p) - dl.sharded_pad_count] for p, dl in zip(parts, dls, strict=False)]
    everything = sorted(i for p in real for i in p)
    assert everything == list(range(n))
    assert sum(dl.sharded_pad_count for dl in dls) == -n % ws


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 40),
    ws=st.integers(1, 5),
    bs=st.integers(1, 6),
    pad=st.booleans(),
    seed=st.integers(0, 99),
)
def test_shard_property(n, ws, bs, pad, seed):
    dls = [
        DataLoader(torch.arange(n), bs=bs, shuffle=True, seed=seed, rank=r, world_size=ws, pad=pad)
        for r in range(ws)
    ]
    parts = [flat(dl) for dl in dls]
    assert len({len(p) for p in parts}) == 1 and len({len(dl) for dl in dls}) == 1
    real = [i for p, dl in zip(parts, dls, strict=True) for i in p[: len(p) - dl.sharded_pad_count]]
    assert len(set(real)) == len(real)
    assert sorted(real) == (list(range(n)) if pad else sorted(real)) and len(real) == (
        n if pad else n // ws * ws
    )


def test_shards_without_pad_drop_the_remainder_and_need_a_common_seed():
    dls = [DataLoader(torch.arange(10), bs=2, rank=r, world_size=3, pad=False) for r in range(3)]
    assert [flat(dl) for dl in dls] == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    with pytest.raises(ValueError, match="pass seed="):
        list(DataLoader(torch.arange(10), shuffle=True, rank=1, world_size=2))


# ---- resume ------------------------------------------------------------------------------------
def test_resume_replays_interrupted_epoch():
    x = torch.arange(30)
    ref = DataLoader(x, bs=4, shuffle=True, seed=11)
    epochs = [flat(ref) for _ in range(3)]
    dl = DataLoader(x, bs=4, shuffle=True, seed=11)
    list(dl)
    it = iter(dl)
    got = [next(it).tolist() for _ in range(3)]
    state = dl.state_dict()
    assert state == {**state, "seed": 11, "epoch": 1, "batches_done": 3}
    resumed = DataLoader(x, bs=4, shuffle=True)
    resumed.load_state_dict(state)
    rest = flat(resumed)
    assert sum(got, []) + rest == epochs[1]
    assert flat(resumed) == epochs[2]
    with pytest.raises(KeyError, match="batches_done"):
        resumed.load_state_dict({"seed": 1, "epoch": 0})


def test_state_between_epochs_points_to_next_epoch():
    dl = DataLoader(torch.arange(6), bs=2, shuffle=True, seed=2)
    list(dl)
    assert dl.state_dict()["epoch"] == 1 and dl.state_dict()["batches_done"] == 0


# ---- worker processes (slow-ish) ---------------------------------------------------------------
@pytest.mark.slow
def test_workers_give_same_batches_in_same_order():
    items = [(torch.tensor([float(i)]), i) for i in range(23)]
    ref = DataLoader(items, bs=4, shuffle=True, seed=7)
    dl = DataLoader(items, bs=4, shuffle=True, seed=7, num_workers=2)
    for _ in range(2):
        assert [b[1].tolist() for b in dl] == [b[1].tolist() for b in ref]
    tensors = DataLoader(torch.arange(23), bs=4, shuffle=True, seed=7, num_workers=2)
    assert flat(tensors) == flat(DataLoader(torch.arange(23), bs=4, shuffle=True, seed=7))


@pytest.mark.slow
def test_workers_seeding_is_deterministic_and_streams_are_split():
    def noisy(i):
        return torch.tensor(
            [i, np.random.randint(10**6), random.randint(0, 10**6), int(torch.randint(0, 10**6, ()))]
        )

    runs = [
        [b.tolist() for b in DataLoader(list(range(8)), bs=2, num_workers=2, seed=3, create_item=noisy)]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    draws = [row[1:] for b in runs[0] for row in b]
    assert len({tuple(d) for d in draws}) == len(draws)  # workers do not repeat each other's random numbers
    assert [b.tolist() for b in DataLoader(Stream(11), bs=3, num_workers=2)] == [
        [0, 1, 2],
        [3, 4, 5],
        [6, 7, 8],
        [9, 10],
    ]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batches_on_cuda_with_pinned_memory():
    dl = DataLoader((torch.arange(10.0), torch.arange(10)), bs=4, pin_memory=True, device="cuda")
    xb, yb = dl.one_batch()
    assert xb.is_cuda and yb.is_cuda
    assert [b[0].device.type for b in dl.new(num_workers=2)] == ["cuda"] * 3


@pytest.mark.slow
def test_persistent_workers_follow_epochs_and_resume():
    x = torch.arange(20)
    ref = DataLoader(x, bs=3, shuffle=True, seed=9)
    want = [flat(ref) for _ in range(3)]
    dl = DataLoader(x, bs=3, shuffle=True, seed=9, num_workers=2, persistent_workers=True)
    assert flat(dl) == want[0] and flat(dl) == want[1]
    dl.load_state_dict({"seed": 9, "epoch": 2, "batches_done": 2})
    assert flat(dl) == want[2][6:]
    start = time.perf_counter()
    del dl
    gc.collect()
    assert time.perf_counter() - start < 4  # workers shut down at once (not after torch's 5 s timeouts)
    with pytest.raises(ValueError, match="persistent_workers=True needs num_workers > 0"):
        DataLoader(x, persistent_workers=True)


def test_plain_dataloader_decodes_and_shows(capsys):
    dl = DataLoader((torch.arange(4.0), torch.arange(4) % 2), bs=2)
    assert dl.n_inp == 1
    samples = dl.decode_batch(dl.one_batch())
    assert [(s[0].item(), s[1].item()) for s in samples] == [(0.0, 0), (1.0, 1)]
    dl.show_batch(max_n=2)
    assert capsys.readouterr().out.splitlines() == ["0.0 | 0", "1.0 | 1"]
    dl.show_results(dl.one_batch(), torch.tensor([1, 1]), max_n=1)
    assert capsys.readouterr().out.splitlines() == ["0.0 | 0 | pred: 1"]


def test_state_dict_does_not_draw_the_seed():
    # Asking an unseeded, never-iterated loader for its state must not consume torch's RNG.
    dl = DataLoader(torch.arange(20), bs=4, shuffle=True)
    torch.manual_seed(0)
    assert dl.state_dict()["seed"] is None
    after_state = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(after_state, torch.rand(1))
    dl.load_state_dict(dl.state_dict())  # an undrawn state round-trips: still drawn on first use
    torch.manual_seed(0)
    first = [b.tolist() for b in dl]
    torch.manual_seed(0)
    again = DataLoader(torch.arange(20), bs=4, shuffle=True)
    assert first == [b.tolist() for b in again]
