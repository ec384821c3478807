"""Images as items: opening (modes, EXIF, errors), tensor conversion, verify_images."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from plies.loaders import ToTensor
from plies.typecore import TensorImage, TensorImageBW, TensorMask
from plies.vision import PILImage, PILImageBW, PILMask, image2tensor, load_image, to_image, verify_images


def save(tmp_path, name: str, arr: np.ndarray, **kwargs) -> str:
    path = tmp_path / name
    Image.fromarray(arr).save(path, **kwargs)
    return str(path)


def test_create_opens_a_file_in_the_class_mode(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    fn = save(tmp_path, "a.png", arr)
    im = PILImage.create(fn)
    assert isinstance(im, PILImage) and im.mode == "RGB" and im.size == (8, 6)
    assert np.array_equal(np.asarray(im), arr)
    bw = PILImageBW.create(fn)
    assert isinstance(bw, PILImageBW) and bw.mode == "L"
    t = ToTensor()(bw)
    assert type(t) is TensorImageBW and t.shape == (1, 6, 8) and t.dtype == torch.uint8
    t = ToTensor()(im)
    assert type(t) is TensorImage and torch.equal(t, torch.from_numpy(arr).permute(2, 0, 1))


def test_masks_become_integer_class_maps(tmp_path):
    codes = np.array([[0, 1, 2], [3, 3, 0]], dtype=np.uint8)
    m = PILMask.create(save(tmp_path, "m.png", codes))
    t = ToTensor()(m)
    assert type(t) is TensorMask and t.dtype == torch.int64 and t.tolist() == codes.tolist()


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((4, 6, 3), dtype=np.uint8)
    arr[0, 0] = 255  # a white pixel in the top-left corner of a landscape image
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    fn = tmp_path / "rot.jpg"
    Image.fromarray(arr).save(fn, exif=exif, quality=100)
    im = PILImage.create(fn)
    assert im.size == (4, 6)  # shown upright: portrait
    top_right = np.asarray(im)[0, -1]
    assert top_right.min() > 200  # the corner pixel moved to the top-right


def test_create_from_arrays_tensors_bytes_and_pil(tmp_path):
    arr = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    from_arr = PILImage.create(arr)
    assert np.array_equal(np.asarray(from_arr), arr)
    from_tensor = PILImage.create(torch.from_numpy(arr).permute(2, 0, 1))
    assert np.array_equal(np.asarray(from_tensor), arr)
    floats = PILImage.create(arr.astype(np.float32) / 255)
    assert np.abs(np.asarray(floats).astype(int) - arr).max() <= 1
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    assert np.array_equal(np.asarray(PILImage.create(buf.getvalue())), arr)
    pil = Image.fromarray(arr)
    copy = PILImage.create(pil)
    assert copy is not pil and isinstance(copy, PILImage) and type(pil) is not PILImage
    with pytest.raises(
        TypeError, match="PILImage.create: expected a path, bytes, PIL image, numpy array or tensor"
    ):
        PILImage.create(3)


def test_unreadable_files_are_named(tmp_path):
    fn = save(tmp_path, "ok.png", np.zeros((8, 8, 3), dtype=np.uint8))
    data = open(fn, "rb").read()
    bad = tmp_path / "truncated.png"
    bad.write_bytes(data[: len(data) // 2])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    for f in (bad, text):
        with pytest.raises(OSError, match=f"load_image: cannot read {f} as an image"):
            PILImage.create(f)
    with pytest.raises(FileNotFoundError, match="load_image: no such file: .*missing.png"):
        load_image(tmp_path / "missing.png")
    assert list(verify_images([fn, bad, text])) == [bad, text]


def test_image2tensor_and_to_image_round_trip():
    arr = np.random.default_rng(2).integers(0, 256, (3, 4, 3), dtype=np.uint8)
    t = image2tensor(Image.fromarray(arr))
    assert t.shape == (3, 3, 4) and np.array_equal(np.asarray(to_image(t)), arr)
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert image2tensor(grey).shape == (1, 3, 4)
    assert np.array_equal(np.asarray(to_image(image2tensor(grey))), grey)
