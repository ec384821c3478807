"""DataBlock and Datasets messages: targets of the wrong kind name the item and the block that fits,
misspelled keywords suggest the right name, items in no split are reported once; from_columns."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import torch
from plies.loaders import (
    CategoryBlock,
    ColReader,
    DataBlock,
    Datasets,
    IndexSplitter,
    ItemGetter,
    MultiCategoryBlock,
    RegressionBlock,
    TransformBlock,
)


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "word": ["cat", "dog", "cat", "dog", "cat", "dog"],
            "text_num": ["3.5", "1.0", "2.0", "4.0", "5.0", "6.0"],
            "tags": [["a", "b"], ["a"], ["b"], ["a"], ["b"], ["a"]],
        }
    )


def block(y_block, y_col: str) -> DataBlock:
    return DataBlock(
        blocks=(RegressionBlock, y_block),
        get_x=ColReader("x"),
        get_y=ColReader(y_col),
        splitter=IndexSplitter([4, 5]),
    )


@pytest.mark.parametrize("col, value", [("word", "cat"), ("text_num", "3.5")])
def test_regression_block_on_text_names_the_item_and_suggests_category_block(col, value):
    with pytest.raises(
        TypeError,
        match=rf"RegressionSetup\) failed on item 0 \(row 0: .*'{col}': '{value}'.*\): RegressionBlock needs "
        rf"numbers, found the str '{value}': for class labels use CategoryBlock",
    ):
        block(RegressionBlock, col).dataloaders(frame(), bs=2)


def test_regression_block_with_n_out_still_refuses_text():
    # with n_out given nothing is set up from the data, and np.float32('3.5') would convert silently
    with pytest.raises(
        TypeError,
        match=r"step 1 \(RegressionSetup\) on item 0 \(row 0: .*\): RegressionBlock needs numbers, "
        r"found the str '3.5'",
    ):
        block(RegressionBlock(n_out=1), "text_num").dataloaders(frame(), bs=2)


def test_regression_block_on_text_after_numbers_names_the_item():
    df = frame().assign(mixed=[1.0, 2.0, "cat", 4.0, 5.0, 6.0])
    dls = block(RegressionBlock, "mixed").dataloaders(df, bs=2, shuffle=False)
    with pytest.raises(
        TypeError,
        match=r"step 1 \(RegressionSetup\) failed on item 2 \(row 2: .*\): RegressionBlock needs numbers, "
        r"found the str 'cat': for class labels use CategoryBlock.* \(TypeError: RegressionSetup: the target",
    ):
        dls.train.dataset[2]


def test_category_block_on_list_labels_suggests_multi_category_block():
    with pytest.raises(
        TypeError,
        match=r"setting up step 1 \(Categorize\) failed on item 0 \(row 0: .*\): CategoryBlock takes one "
        r"label per item, found the list \['a', 'b'\]: for several labels per item use MultiCategoryBlock",
    ):
        block(CategoryBlock, "tags").dataloaders(frame(), bs=2)
    with pytest.raises(TypeError, match=r"step 1 \(Categorize\) on item 0 .*use MultiCategoryBlock"):
        block(CategoryBlock(vocab=["a", "b"]), "tags").dataloaders(frame(), bs=2)
    dls = block(MultiCategoryBlock, "tags").dataloaders(frame(), bs=2, shuffle=False)  # the fitting block
    assert dls.one_batch()[1].tolist() == [[1.0, 1.0], [1.0, 0.0]]


def test_a_list_label_outside_the_given_vocab_gets_the_hint_as_a_note():
    df = frame().assign(mixed=["a", "b", "a", "b", ["a", "b"], "a"])
    dls = block(CategoryBlock(vocab=["a", "b"]), "mixed").dataloaders(df, bs=2)
    with pytest.raises(KeyError, match=r"label \['a', 'b'\] \(item 0\) not in the vocab") as info:
        dls.valid.dataset[0]
    assert "for several labels per item use MultiCategoryBlock" in info.value.__notes__[0]


def test_misspelled_keywords_of_datablock_and_its_dataloaders_suggest_the_name():
    with pytest.raises(
        TypeError, match=r"DataBlock.__init__\(\) got .* 'spliter' \(did you mean 'splitter'\?\)"
    ):
        DataBlock(blocks=(RegressionBlock, RegressionBlock), spliter=IndexSplitter([0]))
    calls = []

    def get_items(source):
        calls.append(source)
        return source

    db = DataBlock(
        blocks=(RegressionBlock, RegressionBlock),
        get_items=get_items,
        get_x=ColReader("x"),
        get_y=ColReader("x"),
        splitter=IndexSplitter([5]),
    )
    for typo, meant in [
        ("shufle", "shuffle"),
        ("val_shufle", "val_shuffle"),
        ("bss", "bs"),
        ("val_bss", "val_bs"),
    ]:
        with pytest.raises(
            TypeError, match=rf"DataBlock.dataloaders\(\) got .* '{typo}' \(did you mean '{meant}'\?\)"
        ):
            db.dataloaders(frame(), **{typo: 1})
    assert calls == []  # refused before any item was read
    dls = db.dataloaders(frame(), bs=2, val_bs=1, shuffle=False, val_drop_last=False, pin_memory=False)
    assert (dls.train.bs, dls.valid.bs) == (2, 1)  # DataLoader's keywords (and val_ ones) still pass


def test_datasets_warns_once_about_items_in_no_split():
    with pytest.warns(
        UserWarning, match=r"Datasets: 7 of 10 items are in no split \(items 1, 2, 3, 4, 6, \.\.\.;"
    ):
        dsets = Datasets(list(range(10)), tfms=[[str], [float]], splits=[[0, 5], [9]])
    assert len(dsets.train) == 2 and len(dsets.valid) == 1
    df = frame()
    with pytest.warns(UserWarning, match=r"item 3: row 3: \{'x': 4.0, 'word': 'dog'"):
        Datasets(df, tfms=[[ColReader("x")]], splits=[[0, 1, 2], [4, 5]])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        Datasets(list(range(4)), tfms=[[str], [float]], splits=[[0, 1], [2, 3]])  # every item in a split
        Datasets(list(range(4)), tfms=[[str], [float]])  # no splits: nothing to report
        db = block(RegressionBlock, "x")
        db.datasets(frame())  # IndexSplitter: the rest is the training set
    assert seen == []
    db.splitter = lambda items: ([0, 1], [2])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        db.datasets(frame())
    assert [str(w.message).split(":")[0] for w in seen] == ["DataBlock"]  # once, not again by Datasets
    assert "3 of 6 items are in no split (items 3, 4, 5;" in str(seen[0].message)


def test_from_columns_zips_the_source_columns_into_items():
    xs, ys = [torch.tensor([float(i)]) for i in range(6)], [i % 2 for i in range(6)]
    db = DataBlock.from_columns(blocks=(TransformBlock, CategoryBlock), splitter=IndexSplitter([4, 5]))
    assert [type(g) for g in db.getters] == [ItemGetter, ItemGetter]
    dsets = db.datasets((xs, ys))
    assert dsets.items[3] == (xs[3], 1) and len(dsets.train) == 4
    x, y = dsets.valid[1]
    assert x.tolist() == [5.0] and int(y) == 1 and list(dsets.vocab) == [0, 1]
    dls = db.dataloaders((xs, ys), bs=2, shuffle=False)
    assert dls.one_batch()[0].flatten().tolist() == [0.0, 1.0]

    squared = DataBlock.from_columns(
        blocks=(RegressionBlock, RegressionBlock),
        get_items=lambda df: (df["x"], df["x"] ** 2),  # the source turned into columns first
        get_y=lambda item: item[1] + 1,  # get_y replaces the target's getter
        splitter=IndexSplitter([5]),
    )
    assert squared.datasets(frame()).valid[0][1].item() == 37.0
    with pytest.raises(ValueError, match=r"from_columns: the columns have different lengths \[3, 2\]"):
        db.datasets(([1, 2, 3], [0, 1]))
    with pytest.raises(
        ValueError, match=r"DataBlock: get_items \(from_columns\) gave no items from \(\[\], \[\]\)"
    ):
        db.datasets(([], []))
