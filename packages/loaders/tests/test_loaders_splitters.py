"""Splitters (disjoint and complete splits, seeds, errors) and getters/labellers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plies.loaders import (
    ColReader,
    ColSplitter,
    EndSplitter,
    FileSplitter,
    FuncSplitter,
    GrandparentSplitter,
    IndexSplitter,
    MaskSplitter,
    RandomSplitter,
    RegexLabeller,
    TrainTestSplitter,
    get_files,
    get_image_files,
    parent_label,
)

DATA = Path(__file__).parent / "data" / "mnist_tiny"


def disjoint_complete(splits, n):
    train, valid = list(splits[0]), list(splits[1])
    return not set(train) & set(valid) and sorted(train + valid) == list(range(n))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), pct=st.floats(0, 1), seed=st.integers(0, 1000))
def test_random_splitter_disjoint_complete_and_seeded(n, pct, seed):
    items = list(range(n))
    splits = RandomSplitter(pct, seed=seed)(items)
    assert disjoint_complete(splits, n) and len(splits[1]) == int(pct * n)
    assert RandomSplitter(pct, seed=seed)(items) == splits


def test_random_splitter_errors():
    with pytest.raises(ValueError, match="valid_pct must be in"):
        RandomSplitter(1.5)
    with pytest.raises(ValueError, match="no items to split"):
        RandomSplitter()([])


def test_index_func_mask_end_splitters():
    items = list("abcdef")
    assert IndexSplitter([1, 4])(items) == ([0, 2, 3, 5], [1, 4])
    assert FuncSplitter(lambda o: o in "ae")(items) == ([1, 2, 3, 5], [0, 4])
    assert MaskSplitter([False, True] * 3)(items) == ([0, 2, 4], [1, 3, 5])
    assert EndSplitter(0.5)(items) == ([0, 1, 2], [3, 4, 5])
    with pytest.raises(IndexError, match=r"validation indices \[9\] out of range for 6 items"):
        IndexSplitter([9])(items)
    with pytest.raises(ValueError, match="mask has 2 entries for 6 items"):
        MaskSplitter([True, False])(items)


def test_grandparent_and_file_splitters(tmp_path):
    files = get_image_files(DATA)
    train, valid = GrandparentSplitter()(files)
    assert disjoint_complete((train, valid), len(files)) and len(train) == 40 and len(valid) == 40
    with pytest.raises(ValueError, match="no item lies under a 'tr' or 'va' folder"):
        GrandparentSplitter("tr", "va")(files)
    (tmp_path / "valid.txt").write_text(files[0].name + "\n" + files[5].name)
    assert FileSplitter(tmp_path / "valid.txt")(files)[1] == [0, 5]


def test_col_splitter():
    df = pd.DataFrame(
        {"x": range(10), "is_valid": [i % 5 == 0 for i in range(10)], "fold": [i % 3 for i in range(10)]}
    )
    assert ColSplitter()(df) == ([1, 2, 3, 4, 6, 7, 8, 9], [0, 5])
    assert ColSplitter("fold", on=2)(df)[1] == [2, 5, 8]
    with pytest.raises(KeyError, match="no column 'nope'"):
        ColSplitter("nope")(df)


@pytest.mark.slow  # imports scikit-learn
def test_train_test_splitter_is_stratified():
    labels = ["a"] * 50 + ["b"] * 50
    train, valid = TrainTestSplitter(test_size=0.2, random_state=0, stratify=labels)(list(range(100)))
    assert disjoint_complete((train, valid), 100) and len(valid) == 20
    assert sum(labels[i] == "a" for i in valid) == 10


def test_get_files_and_labellers():
    files = get_files(DATA, extensions=".png")
    assert len(files) == 80 and files == sorted(files)
    assert len(get_files(DATA, extensions=[".png"], folders=["train"])) == 40
    assert [f.name for f in get_files(DATA, recurse=False)] == ["SOURCE.md", "labels.csv"]
    assert parent_label(files[0]) == "3" and parent_label(files[-1]) == "7"
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        get_files(DATA / "nope")
    assert RegexLabeller(r"^(.*)_\d+.jpg$")(Path("great_pyrenees_12.jpg")) == "great_pyrenees"
    with pytest.raises(ValueError, match="does not match 'x.png'"):
        RegexLabeller(r"(\d+)_")(Path("x.png"))


def test_col_reader():
    df = pd.DataFrame({"name": ["a.png", "b.png"], "tags": ["x y", ""], "n": [1, 2]})
    row = df.iloc[0]
    assert ColReader("name")(row) == "a.png"
    assert ColReader("name", pref="imgs/", suff=".bak")(row) == "imgs/a.png.bak"
    assert (
        ColReader("tags", label_delim=" ")(row) == ["x", "y"]
        and ColReader("tags", label_delim=" ")(df.iloc[1]) == []
    )
    assert ColReader(["name", "n"])(row) == ["a.png", 1] and ColReader(2)(row) == 1
    with pytest.raises(KeyError, match="no column 'label'"):
        ColReader("label")(row)
