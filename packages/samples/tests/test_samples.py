"""The installed sample sets: every set of the data README is there with its SOURCE.md and its files."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from plies.samples import names, path

EXPECTED = [
    "adult_sample",
    "camvid_tiny",
    "coco_tiny",
    "digits",
    "goodbooks_sample",
    "imdb_sample",
    "mnist_tiny",
    "pets_sample",
    "sentiment_sample",
]


def test_names_lists_every_set_of_the_data_readme():
    assert names() == EXPECTED
    readme = (path("mnist_tiny").parent / "README.md").read_text()
    assert sorted(re.findall(r"^\| `(\w+)/` \|", readme, re.M)) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_each_set_has_its_source_and_data(name: str):
    folder = path(name)
    assert folder.is_dir() and folder.name == name
    source = (folder / "SOURCE.md").read_text()
    assert "licen" in source.lower()  # attribution travels with the data
    assert sum(1 for p in folder.rglob("*") if p.is_file() and p.name != "SOURCE.md") >= 1


def test_file_counts_match_the_documented_layouts():
    mnist = path("mnist_tiny")
    n_train = len(list((mnist / "train").rglob("*.png")))
    n_valid = len(list((mnist / "valid").rglob("*.png")))
    assert (n_train, n_valid, len(list((mnist / "test").glob("*.png")))) == (709, 699, 20)
    with open(mnist / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == n_train + n_valid and (mnist / rows[0]["name"]).is_file()
    pets = list((path("pets_sample") / "images").glob("*.jpg"))
    breeds = {re.match(r"^(.*)_\d+.jpg$", p.name).group(1) for p in pets}
    assert (len(pets), len(breeds)) == (370, 37)
    camvid = path("camvid_tiny")
    assert len((camvid / "codes.txt").read_text().split()) == 32
    assert (
        len(list((camvid / "images").glob("*.png"))) == len(list((camvid / "labels").glob("*_P.png"))) == 100
    )
    with open(path("adult_sample") / "adult.csv", newline="") as f:
        assert sum(1 for _ in f) == 32_561 + 1  # rows and the header


def test_unknown_names_are_refused_naming_the_installed_ones():
    with pytest.raises(KeyError, match=r"no sample dataset 'mnist'; the installed ones are \['adult_sample'"):
        path("mnist")
    for bad in ["..", "mnist_tiny/../digits", "", "README.md"]:
        with pytest.raises(KeyError, match="no sample dataset"):
            path(bad)
    with pytest.raises(
        TypeError, match="name must be a str, found PosixPath|name must be a str, found WindowsPath"
    ):
        path(Path("mnist_tiny"))
