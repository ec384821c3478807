"""`URLs`: where the usual datasets live (fastai's constant names), and which ones ship with plies-samples."""

from __future__ import annotations

__all__ = ["URLs", "sample_name"]


class URLs:
    """Download locations of common datasets, under fastai's constant names (`URLs.MNIST_TINY`, `URLs.PETS`).

    `untar_data(url)` downloads, checks and extracts one. The small sets that plies ships in the
    `plies-samples` distribution resolve to the installed copy without a download: fastai's
    `MNIST_TINY`, `CAMVID_TINY`, `COCO_TINY`, `ADULT_SAMPLE`, `IMDB_SAMPLE`, and plies' own
    `PETS_SAMPLE`, `DIGITS`, `GOODBOOKS_SAMPLE`, `SENTIMENT_SAMPLE` (URLs under `SAMPLES`, which
    exist only in that distribution).
    """

    URL = "https://s3.amazonaws.com/fast-ai-sample/"
    S3 = "https://s3.amazonaws.com/fast-ai-"
    S3_IMAGE = f"{S3}imageclas/"
    S3_IMAGELOC = f"{S3}imagelocal/"
    S3_NLP = f"{S3}nlp/"
    S3_COCO = f"{S3}coco/"
    SAMPLES = "plies-samples://"

    # small samples (those shipped in plies-samples resolve locally)
    ADULT_SAMPLE = f"{URL}adult_sample.tgz"
    BIWI_SAMPLE = f"{URL}biwi_sample.tgz"
    CAMVID_TINY = f"{URL}camvid_tiny.tgz"
    COCO_SAMPLE = f"{S3_COCO}coco_sample.tgz"
    COCO_TINY = f"{S3_COCO}coco_tiny.tgz"
    HUMAN_NUMBERS = f"{URL}human_numbers.tgz"
    IMDB_SAMPLE = f"{URL}imdb_sample.tgz"
    ML_SAMPLE = f"{URL}movie_lens_sample.tgz"
    MNIST_SAMPLE = f"{URL}mnist_sample.tgz"
    MNIST_TINY = f"{URL}mnist_tiny.tgz"
    MNIST_VAR_SIZE_TINY = f"{S3_IMAGE}mnist_var_size_tiny.tgz"
    PLANET_SAMPLE = f"{URL}planet_sample.tgz"
    PLANET_TINY = f"{URL}planet_tiny.tgz"

    # plies' own samples (only in plies-samples)
    PETS_SAMPLE = f"{SAMPLES}pets_sample"
    DIGITS = f"{SAMPLES}digits"
    GOODBOOKS_SAMPLE = f"{SAMPLES}goodbooks_sample"
    SENTIMENT_SAMPLE = f"{SAMPLES}sentiment_sample"

    # full datasets
    CIFAR = f"{URL}cifar10.tgz"
    IMDB = f"{S3_NLP}imdb.tgz"
    ML_100k = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
    IMAGENETTE = f"{S3_IMAGE}imagenette2.tgz"
    IMAGENETTE_160 = f"{S3_IMAGE}imagenette2-160.tgz"
    IMAGENETTE_320 = f"{S3_IMAGE}imagenette2-320.tgz"
    IMAGEWOOF = f"{S3_IMAGE}imagewoof2.tgz"
    IMAGEWOOF_160 = f"{S3_IMAGE}imagewoof2-160.tgz"
    IMAGEWOOF_320 = f"{S3_IMAGE}imagewoof2-320.tgz"
    CAMVID = f"{S3_IMAGELOC}camvid.tgz"
    PASCAL_2007 = f"{S3_IMAGELOC}pascal_2007.tgz"
    PETS = f"{S3_IMAGE}oxford-iiit-pet.tgz"
    MNIST = f"{S3_IMAGE}mnist_png.tgz"
    CIFAR_100 = f"{S3_IMAGE}cifar100.tgz"
    FOOD = f"{S3_IMAGE}food-101.tgz"
    FLOWERS = f"{S3_IMAGE}oxford-102-flowers.tgz"
    CARS = f"{S3_IMAGE}stanford-cars.tgz"
    WIKITEXT = f"{S3_NLP}wikitext-103.tgz"
    WIKITEXT_TINY = f"{S3_NLP}wikitext-2.tgz"


# fastai's archives whose content plies-samples ships under these names
_SHIPPED = {
    URLs.MNIST_TINY: "mnist_tiny",
    URLs.CAMVID_TINY: "camvid_tiny",
    URLs.COCO_TINY: "coco_tiny",
    URLs.ADULT_SAMPLE: "adult_sample",
    URLs.IMDB_SAMPLE: "imdb_sample",
}


def sample_name(url: str) -> str | None:
    """The plies-samples set a URL stands for (`'mnist_tiny'` for `URLs.MNIST_TINY`), else None."""
    if url.startswith(URLs.SAMPLES):
        return url[len(URLs.SAMPLES) :].strip("/")
    return _SHIPPED.get(url)
