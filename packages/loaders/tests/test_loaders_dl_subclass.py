"""A DataLoader subclass with constructor arguments of its own survives `new()`: the validation loader,
`test_dl`, `new_empty` and the data-parallel sharding (`new(rank=, world_size=)` + `load_state_dict`,
as the learner's DistributedTrainer does); `TransformBlock(dl_type=, dls_kwargs=)` reaches it."""

from __future__ import annotations

import torch
from plies.loaders import DataBlock, DataLoader, IndexSplitter, RegressionBlock, TfmdDL, TransformBlock


class ScaledDL(TfmdDL):
    """Multiplies the inputs of each batch by `scale` (an argument DataLoader does not know)."""

    def __init__(self, dataset=None, scale: float = 1.0, tag: str = "", **kwargs) -> None:
        self.scale, self.tag = scale, tag
        super().__init__(dataset, **kwargs)

    def do_batch(self, b):
        x, *rest = super().do_batch(b)  # a test batch has no targets
        return (x * self.scale, *rest)


class Named(ScaledDL):
    """A subclass of a subclass, without an __init__ of its own."""


def item_x(i: int) -> torch.Tensor:
    return torch.tensor([float(i)])


def item_y(i: int) -> float:
    return float(2 * i)


def scaled_block(**dls_kwargs) -> DataBlock:
    x_block = TransformBlock(dl_type=ScaledDL, dls_kwargs=dls_kwargs)
    return DataBlock(
        blocks=(x_block, RegressionBlock),
        get_x=item_x,
        get_y=item_y,
        splitter=IndexSplitter(list(range(8, 12))),
    )


def test_transform_block_dl_type_and_dls_kwargs_reach_every_loader():
    dls = scaled_block(scale=10.0, tag="t").dataloaders(list(range(12)), bs=4, shuffle=False)
    assert type(dls.train) is ScaledDL and type(dls.valid) is ScaledDL
    assert (dls.train.scale, dls.valid.scale, dls.valid.tag) == (10.0, 10.0, "t")
    xb, yb = dls.valid.one_batch()
    assert xb.flatten().tolist() == [80.0, 90.0, 100.0, 110.0]  # items 8..11, times 10
    assert yb.flatten().tolist() == [16.0, 18.0, 20.0, 22.0]  # targets untouched


def test_the_validation_loader_keeps_the_subclass_argument_without_dls_kwargs():
    # the argument given to the training loader only (dl_kwargs) must survive `train.new(...)`
    dls = (
        scaled_block()
        .datasets(list(range(12)))
        .dataloaders(bs=4, shuffle=False, dl_kwargs=[{"scale": 3.0}, {}])
    )
    assert dls.train.scale == 3.0 and dls.valid.scale == 3.0
    assert dls.valid.one_batch()[0].flatten().tolist() == [24.0, 27.0, 30.0, 33.0]
    assert dls.valid.new(scale=5.0).scale == 5.0  # an argument given to new() wins


def test_test_dl_and_new_empty_keep_the_subclass_and_its_arguments():
    dls = scaled_block(scale=10.0).dataloaders(list(range(12)), bs=4, shuffle=False)
    tdl = dls.test_dl([1, 2, 3])
    assert type(tdl) is ScaledDL and tdl.scale == 10.0
    assert tdl.one_batch()[0].flatten().tolist() == [10.0, 20.0, 30.0]
    empty = dls.new_empty()
    assert type(empty.valid) is ScaledDL and empty.valid.scale == 10.0


def test_the_data_parallel_sharding_keeps_the_subclass_argument():
    dl = ScaledDL(list(range(8)), scale=10.0, bs=2, shuffle=True, seed=3, after_item=lambda i: (item_x(i), i))
    whole = torch.cat([b[1] for b in dl.new()])  # one rank: the epoch's order
    state = dl.state_dict()
    shards = []
    for rank in range(2):  # what DistributedTrainer does on each rank
        sharded = dl.new(rank=rank, world_size=2)
        sharded.load_state_dict(state)
        assert type(sharded) is ScaledDL and sharded.scale == 10.0 and len(sharded) == 2
        batches = list(sharded)
        assert all(torch.equal(x.flatten(), 10.0 * y.float()) for x, y in batches)
        shards.append(torch.cat([y for _, y in batches]))
    assert sorted(torch.cat(shards).tolist()) == sorted(whole.tolist()) == list(range(8))


def test_a_sub_subclass_and_a_plain_dataloader_are_rebuilt_as_they_were():
    dl = Named(list(range(4)), scale=2.0, bs=2, after_item=lambda i: (item_x(i), i))
    again = dl.new(bs=4)
    assert type(again) is Named and again.scale == 2.0 and again.bs == 4
    plain = DataLoader(list(range(4)), bs=2).new(shuffle=True)
    assert type(plain) is DataLoader and plain.shuffle
    as_base = dl.new(cls=TfmdDL)  # another class: the subclass's arguments are not passed to it
    assert type(as_base) is TfmdDL and not hasattr(as_base, "scale")
