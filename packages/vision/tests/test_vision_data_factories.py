"""ImageDataLoaders / SegmentationDataLoaders factories on small generated image folders.

Cats are red images, dogs blue ones, so a batch shows whether each image got its own label.
"""

import io

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from plies.loaders import get_image_files, parent_label
from plies.typecore import TensorCategory, TensorImage, TensorMask, TensorMultiCategory
from plies.vision import ImageDataLoaders, PILImageBW, SegmentationDataLoaders

COLOURS = {"cat": (255, 0, 0), "dog": (0, 0, 255)}


def save_png(path, colour=(0, 0, 0), size=(8, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), colour, np.uint8)).save(path)
    return path


@pytest.fixture
def folder(tmp_path):
    """train/<label>/<label>_<i>.png (4 each), valid/<label>/... (2 each) and a test/ image."""
    for split, n in (("train", 4), ("valid", 2)):
        for label, colour in COLOURS.items():
            for i in range(n):
                save_png(tmp_path / split / label / f"{label}_{i}.png", colour)
    save_png(tmp_path / "test" / "x_0.png")
    return tmp_path


def assert_labels_follow_colours(dls, batch=None):
    """Each image of a batch is red when labelled cat, blue when dog."""
    x, y = batch if batch is not None else dls.train.one_batch()
    assert isinstance(x, TensorImage) and isinstance(y, TensorCategory)
    names = [dls.vocab[int(i)] for i in y]
    red_over_blue = (x[:, 0].mean((1, 2)) > x[:, 2].mean((1, 2))).tolist()
    assert red_over_blue == [n == "cat" for n in names]


def test_from_folder_labels_by_parent_folder_and_splits_by_grandparent(folder):
    dls = ImageDataLoaders.from_folder(folder, bs=4, device="cpu", seed=0)
    assert list(dls.vocab) == ["cat", "dog"]
    assert len(dls.train_ds) == 8 and len(dls.valid_ds) == 4  # test/ left out
    assert_labels_follow_colours(dls)
    assert dls.train.one_batch()[0].shape == (4, 3, 8, 8)


def test_from_folder_with_valid_pct_takes_every_image_and_a_seeded_random_split(folder):
    a = ImageDataLoaders.from_folder(folder, valid_pct=0.25, seed=3, device="cpu")
    b = ImageDataLoaders.from_folder(folder, valid_pct=0.25, seed=3, device="cpu")
    assert len(a.train_ds) + len(a.valid_ds) == 13 and len(a.valid_ds) == int(0.25 * 13)
    assert list(a.valid_ds.items) == list(b.valid_ds.items)
    assert list(a.vocab) == ["cat", "dog", "test"]  # as fastai: every folder under path is a label


def test_from_folder_vocab_and_image_class(folder):
    dls = ImageDataLoaders.from_folder(
        folder, vocab=["cat", "dog", "bird"], img_cls=PILImageBW, bs=4, device="cpu"
    )
    assert list(dls.vocab) == ["bird", "cat", "dog"] and dls.c == 3
    assert dls.train.one_batch()[0].shape[1] == 1  # greyscale


def fnames_of(folder):
    return get_image_files(folder, folders=["train", "valid"])


def test_from_name_re_from_path_re_from_name_func_from_path_func_label_alike(folder):
    fnames = fnames_of(folder)
    common = dict(valid_pct=0.25, seed=1, bs=4, device="cpu")
    built = [
        ImageDataLoaders.from_name_re(folder, fnames, pat=r"^(.*)_\d+.png$", **common),
        # the paper's form: a pattern with a '/' is matched against the whole path
        ImageDataLoaders.from_name_re(path=folder, fnames=fnames, pat=r"/([^/]+)_\d+.png$", **common),
        ImageDataLoaders.from_path_re(folder, fnames, pat=r"/(cat|dog)/", **common),
        ImageDataLoaders.from_name_func(folder, fnames, lambda name: name.split("_")[0], **common),
        ImageDataLoaders.from_path_func(folder, fnames, parent_label, **common),
    ]
    for dls in built:
        assert list(dls.vocab) == ["cat", "dog"] and len(dls.valid_ds) == 3 and len(dls.train_ds) == 9
        assert_labels_follow_colours(dls)
        assert list(dls.valid_ds.items) == list(built[0].valid_ds.items)  # same seed, same split


def test_from_name_re_names_the_file_the_pattern_does_not_match(folder):
    fnames = [*fnames_of(folder), save_png(folder / "odd" / "nolabel.png")]
    with pytest.raises(ValueError, match=r"pattern .* does not match 'nolabel.png'"):
        ImageDataLoaders.from_name_re(folder, fnames, pat=r"^(.*)_\d+.png$", valid_pct=0.0, device="cpu")


def labels_frame(folder):
    rows = [
        {"fname": f"{s}/{label}/{label}_{i}.png", "label": label, "is_valid": s == "valid"}
        for s, n in (("train", 4), ("valid", 2))
        for label in COLOURS
        for i in range(n)
    ]
    return pd.DataFrame(rows)


def test_from_df_with_a_valid_column_and_from_csv(folder):
    df = labels_frame(folder)
    dls = ImageDataLoaders.from_df(
        df, folder, fn_col="fname", label_col="label", valid_col="is_valid", bs=4, device="cpu"
    )
    assert len(dls.train_ds) == 8 and len(dls.valid_ds) == 4
    assert_labels_follow_colours(dls)
    df[["fname", "label"]].to_csv(folder / "labels.csv", index=False)
    dls = ImageDataLoaders.from_csv(folder, valid_pct=0.25, seed=0, bs=4, device="cpu")
    assert len(dls.valid_ds) == 3 and list(dls.vocab) == ["cat", "dog"]
    assert_labels_follow_colours(dls)


def test_from_df_folder_suffix_and_label_delim_make_a_multi_label_set(folder):
    df = pd.DataFrame({"name": ["cat_0", "cat_1", "cat_2", "cat_3"], "tags": ["cat", "cat pet", "pet", ""]})
    dls = ImageDataLoaders.from_df(
        df,
        folder,
        folder="train/cat",
        suff=".png",
        label_delim=" ",
        valid_pct=0.0,
        bs=4,
        shuffle=False,
        device="cpu",
    )
    assert isinstance(dls.train.one_batch()[1], TensorMultiCategory) and list(dls.vocab) == ["cat", "pet"]
    one_hot = {"cat": [1.0, 0.0], "cat pet": [1.0, 1.0], "pet": [0.0, 1.0], "": [0.0, 0.0]}
    for i in range(4):  # the training set is shuffled once by the splitter
        assert dls.train_ds[i][1].tolist() == one_hot[dls.train_ds.items.iloc[i]["tags"]]


def test_from_lists_infers_the_target_block(folder):
    fnames = list(fnames_of(folder))
    labels = [parent_label(f) for f in fnames]
    dls = ImageDataLoaders.from_lists(folder, fnames, labels, valid_pct=0.25, seed=0, bs=4, device="cpu")
    assert list(dls.vocab) == ["cat", "dog"]
    assert_labels_follow_colours(dls)
    floats = [float(i) for i in range(len(fnames))]
    y = ImageDataLoaders.from_lists(folder, fnames, floats, bs=4, device="cpu").train.one_batch()[1]
    assert y.dtype == torch.float32 and not isinstance(y, TensorCategory)
    multi = [["a", "b"]] * len(fnames)
    y = ImageDataLoaders.from_lists(folder, fnames, multi, bs=4, device="cpu").train.one_batch()[1]
    assert isinstance(y, TensorMultiCategory) and y.shape == (4, 2)
    with pytest.raises(ValueError, match="from_lists: 12 fnames but 11 labels"):
        ImageDataLoaders.from_lists(folder, fnames, labels[:-1])


def test_misspelled_keywords_are_refused_before_reading_anything(tmp_path):
    missing = tmp_path / "nowhere"  # never read: the keyword check comes first
    with pytest.raises(
        TypeError, match=r"from_folder\(\) got unexpected .*'valid_pcts' \(did you mean 'valid_pct'\?\)"
    ):
        ImageDataLoaders.from_folder(missing, valid_pcts=0.2)
    with pytest.raises(
        TypeError, match=r"from_name_re\(\) got unexpected .*'shufle' \(did you mean 'shuffle'\?\)"
    ):
        ImageDataLoaders.from_name_re(missing, [], pat="(.*)", shufle=True)
    with pytest.raises(
        TypeError, match=r"from_csv\(\) got unexpected .*'label_cols' \(did you mean 'label_col'\?\)"
    ):
        ImageDataLoaders.from_csv(missing, label_cols=1)
    with pytest.raises(
        TypeError, match=r"from_label_func\(\) got unexpected .*'code' \(did you mean 'codes'\?\)"
    ):
        SegmentationDataLoaders.from_label_func(missing, [], str, code=["a"])


def test_keywords_of_the_dataloaders_pass_through(folder):
    dls = ImageDataLoaders.from_folder(folder, bs=2, val_bs=3, shuffle=False, num_workers=0, device="cpu")
    assert dls.train.bs == 2 and dls.valid.bs == 3 and not dls.train.shuffle


def truncated_png(path):
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, format="PNG")
    path.write_bytes(buf.getvalue()[:40])
    return path


def test_an_unreadable_image_fails_naming_the_file_and_the_item_index(folder):
    bad = truncated_png(folder / "train" / "cat" / "cat_9.png")
    dls = ImageDataLoaders.from_folder(folder, bs=4, device="cpu")
    idx = list(dls.train_ds.items).index(bad)
    with pytest.raises(
        OSError,
        match=rf"create\) failed on item {idx} \(.*\): OSError: load_image: cannot read .*cat_9.png as an",
    ):
        dls.train_ds[idx]


def test_skip_invalid_leaves_unreadable_images_out_and_lists_them(folder):
    bad = truncated_png(folder / "train" / "cat" / "cat_9.png")
    with pytest.warns(UserWarning, match=r"from_folder: skip_invalid left out 1 of 13 items .*cat_9.png"):
        dls = ImageDataLoaders.from_folder(folder, skip_invalid=True, bs=4, device="cpu")
    assert len(dls.train_ds) == 8 and bad not in list(dls.train_ds.items)
    fnames = [*fnames_of(folder)]
    with pytest.warns(UserWarning, match=r"from_name_re: skip_invalid left out 1 of 13"):
        dls = ImageDataLoaders.from_name_re(
            folder, fnames, pat=r"^(.*)_\d+.png$", skip_invalid=True, device="cpu"
        )
    assert len(dls.train_ds) + len(dls.valid_ds) == 12
    df = labels_frame(folder)
    df.loc[len(df)] = {"fname": "train/cat/cat_9.png", "label": "cat", "is_valid": False}
    with pytest.warns(UserWarning, match=r"from_df: skip_invalid left out 1 of 13"):
        dls = ImageDataLoaders.from_df(df, folder, valid_col="is_valid", skip_invalid=True, device="cpu")
    assert len(dls.train_ds) == 8
    with pytest.warns(UserWarning, match=r"from_lists: skip_invalid left out 1 of 13"):
        dls = ImageDataLoaders.from_lists(
            folder, fnames, [parent_label(f) for f in fnames], skip_invalid=True
        )
    with pytest.raises(ValueError, match="none of the 1 items has a readable image"):
        ImageDataLoaders.from_lists(folder, [bad], ["cat"], skip_invalid=True)


CODES = ["sky", "road", "car"]


@pytest.fixture
def seg_folder(tmp_path):
    """images/<i>.png whose red channel is 100 x the class code of masks/<i>_P.png."""
    rng = np.random.default_rng(0)
    for i in range(6):
        mask = rng.integers(0, 3, (8, 10)).astype(np.uint8)
        (tmp_path / "masks").mkdir(exist_ok=True)
        Image.fromarray(mask).save(tmp_path / "masks" / f"{i}_P.png")
        save_png(tmp_path / "images" / f"{i}.png", size=(8, 10))
        img = np.zeros((8, 10, 3), np.uint8)
        img[..., 0] = mask * 100
        Image.fromarray(img).save(tmp_path / "images" / f"{i}.png")
    return tmp_path


def test_segmentation_from_label_func_pairs_each_image_with_its_mask(seg_folder):
    dls = SegmentationDataLoaders.from_label_func(
        seg_folder,
        get_image_files(seg_folder / "images"),
        lambda o: seg_folder / "masks" / f"{o.stem}_P.png",
        codes=np.array(CODES),
        valid_pct=0.34,
        seed=0,
        bs=4,
        device="cpu",
    )
    assert len(dls.valid_ds) == 2
    x, y = dls.train.one_batch()
    assert isinstance(y, TensorMask) and y.shape == (4, 8, 10) and y.dtype == torch.int64
    assert torch.equal((x[:, 0] * 255).round().long(), y * 100)
    _, mask = dls.train.decode_batch((x, y))[0]
    assert mask.codes == CODES


def test_segmentation_skip_invalid_checks_images_and_masks(seg_folder):
    truncated_png(seg_folder / "masks" / "2_P.png")
    with pytest.warns(UserWarning, match=r"from_label_func: skip_invalid left out 1 of 6 .*2_P.png"):
        dls = SegmentationDataLoaders.from_label_func(
            seg_folder,
            get_image_files(seg_folder / "images"),
            lambda o: seg_folder / "masks" / f"{o.stem}_P.png",
            codes=CODES,
            skip_invalid=True,
            device="cpu",
        )
    assert sorted(p.name for p in [*dls.train_ds.items, *dls.valid_ds.items]) == [
        f"{i}.png" for i in (0, 1, 3, 4, 5)
    ]
