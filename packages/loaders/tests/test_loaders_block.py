"""DataBlock over real images (mnist_tiny subset) and a DataFrame; bad input errors; summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from plies.loaders import (
    CategoryBlock,
    ColReader,
    DataBlock,
    DataLoaders,
    GrandparentSplitter,
    IntToFloatTensor,
    MultiCategoryBlock,
    Normalize,
    RandomSplitter,
    RegressionBlock,
    TransformBlock,
    get_image_files,
    parent_label,
)
from plies.pipes import Transform
from plies.typecore import TensorCategory, TensorImage, TensorMultiCategory

DATA = Path(__file__).parent / "data" / "mnist_tiny"


class OpenDigit(Transform):
    """Open a PNG with PIL as a 1×28×28 uint8 TensorImage."""

    def encodes(self, path: Path | str):
        return TensorImage(torch.from_numpy(np.array(Image.open(Path(path)), dtype=np.uint8))[None])


def DigitBlock():  # noqa: N802
    return TransformBlock(type_tfms=OpenDigit(), batch_tfms=[IntToFloatTensor])


def mnist_block(**kwargs):
    return DataBlock(
        blocks=(DigitBlock, CategoryBlock),
        get_items=get_image_files,
        splitter=GrandparentSplitter(),
        get_y=parent_label,
        **kwargs,
    )


def test_datablock_over_a_folder_of_images():
    dls = DataLoaders.from_dblock(mnist_block(batch_tfms=Normalize()), DATA, bs=16, device="cpu")
    assert len(dls.train_ds) == 40 and len(dls.valid_ds) == 40 and list(dls.vocab) == ["3", "7"]
    xb, yb = dls.one_batch()
    assert type(xb) is TensorImage and xb.shape == (16, 1, 28, 28) and xb.dtype == torch.float32
    assert type(yb) is TensorCategory and set(yb.tolist()) <= {0, 1}
    assert abs(xb.mean().item()) < 0.5
    dec_x, dec_y = dls.train.decode((xb, yb))
    assert dec_x.dtype == torch.int64 and 0 <= dec_x.min() and dec_x.max() <= 255
    valid_labels = [dls.valid_ds[i][1].item() for i in range(40)]
    assert valid_labels == [0] * 20 + [1] * 20
    samples = dls.valid.decode_batch(dls.valid.one_batch(), max_n=3)
    assert [s[1] for s in samples] == ["3", "3", "3"]


def test_datablock_subclass_defines_steps_in_its_body():
    class Digits(DataBlock):
        blocks = (DigitBlock, CategoryBlock)
        splitter = GrandparentSplitter()

        def get_items(self, source):
            return get_image_files(source)

        def get_y(self, path):
            return parent_label(path)

    dsets = Digits().datasets(DATA)
    assert len(dsets.train) == 40 and list(dsets.vocab) == ["3", "7"]
    assert DataBlock().datasets(range(5)).n_inp == 1


def test_datablock_from_a_dataframe_with_col_reader():
    df = pd.read_csv(DATA / "labels.csv")
    block = DataBlock(
        blocks=(DigitBlock, CategoryBlock),
        get_x=ColReader("name", pref=f"{DATA}/"),
        get_y=ColReader("label"),
        splitter=RandomSplitter(0.25, seed=1),
    )
    dsets = block.datasets(df)
    assert len(dsets.train) == 60 and len(dsets.valid) == 20 and list(dsets.vocab) == [3, 7]
    x, y = dsets.valid[0]
    assert x.shape == (1, 28, 28)
    assert dsets.decode((x, y))[1] == str(df.label.iloc[int(dsets.splits[1][0])])


def test_multicategory_and_regression_blocks():
    df = pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0], "tags": ["a b", "b", "c a", ""], "t": [0.5, 1.5, 2.5, 3.5]})
    block = DataBlock(
        blocks=(RegressionBlock, MultiCategoryBlock),
        get_x=ColReader("v"),
        get_y=ColReader("tags", label_delim=" "),
        splitter=lambda items: ([0, 1, 2], [3]),
    )
    dls = block.dataloaders(df, bs=2, shuffle=False)
    xb, yb = dls.one_batch()
    assert type(yb) is TensorMultiCategory and yb.tolist() == [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    assert xb.tolist() == [1.0, 2.0] and list(dls.vocab) == ["a", "b", "c"]
    assert list(dls.train.decode_batch((xb, yb))[0][1]) == ["a", "b"]
    reg = DataBlock(
        blocks=(TransformBlock, RegressionBlock),
        get_x=ColReader("v"),
        get_y=ColReader("t"),
        splitter=lambda items: ([0, 1], [2, 3]),
    )
    assert reg.dataloaders(df, bs=2, shuffle=False).one_batch()[1].tolist() == [0.5, 1.5]


def test_datablock_bad_input_errors(tmp_path):
    with pytest.raises(ValueError, match="gave no items"):
        mnist_block().datasets(tmp_path)
    with pytest.raises(ValueError, match="get_y has 2 functions for 1 targets"):
        DataBlock(blocks=(TransformBlock, CategoryBlock), get_y=[parent_label, parent_label])
    with pytest.raises(ValueError, match="3 getters for 2 blocks"):
        DataBlock(blocks=(TransformBlock, CategoryBlock), getters=[None, None, None])
    with pytest.raises(ValueError, match="n_inp=3 but there are 2 blocks"):
        DataBlock(blocks=(TransformBlock, CategoryBlock), n_inp=3)
    with pytest.raises(TypeError, match="each block must be a TransformBlock"):
        DataBlock(blocks=(TransformBlock, 3))
    with pytest.raises(TypeError, match="splitterr"):
        DataBlock(splitterr=RandomSplitter())


def test_labeller_that_raises_names_item_and_step():
    def label_or_fail(path):
        if path.name == "7031.png":
            raise ValueError("unreadable label")
        return parent_label(path)

    block = DataBlock(
        blocks=(DigitBlock, CategoryBlock),
        get_items=get_image_files,
        splitter=GrandparentSplitter(),
        get_y=label_or_fail,
    )
    with pytest.raises(
        ValueError,
        match=r"step 0 \(label_or_fail\) failed on item \d+ \(.*7031.png\) "
        r"while setting up Categorize: ValueError: unreadable label",
    ):
        block.datasets(DATA)


def test_items_in_no_split_are_reported():
    block = DataBlock(
        blocks=(DigitBlock, CategoryBlock),
        get_items=get_image_files,
        splitter=lambda items: ([0, 1], [2]),
        get_y=parent_label,
    )
    with pytest.warns(UserWarning, match="77 of 80 items are in no split"):
        block.datasets(DATA)


def test_summary_walks_one_item_and_reports_failures(capsys):
    mnist_block().summary(DATA, bs=4)
    out = capsys.readouterr().out
    for expected in [
        "Found 80 items",
        "2 datasets of sizes 40,40",
        "applying OpenDigit gives",
        "TensorImage of shape (1, 28, 28) and dtype torch.uint8",
        "applying parent_label gives",
        "Collating items in a batch of 4",
        "TensorImage of shape (4, 1, 28, 28)",
        "applying IntToFloatTensor",
    ]:
        assert expected in out, expected

    def bad(path):
        raise KeyError("no such label")

    block = DataBlock(
        blocks=(DigitBlock, CategoryBlock),
        get_items=get_image_files,
        splitter=GrandparentSplitter(),
        get_y=bad,
    )
    with pytest.raises(KeyError, match=r"step 0 \(bad\) failed on item 0 \(.*train/3/7.png\)"):
        block.summary(DATA)
    assert "Failed while collecting, splitting or setting up the type transforms" in capsys.readouterr().out
