"""The main job: the paper's few lines of vision on a shipped sample set, end to end, offline, on the CPU.

    path = untar_data(URLs.DIGITS)
    dls = ImageDataLoaders.from_folder(path, batch_tfms=aug_transforms(do_flip=False), img_cls=PILImageBW)
    learn = vision_learner(dls, "xresnet18", pretrained=False, metrics=accuracy)
    learn.fit_one_cycle(3, 1e-2)

on the digits sample (1,797 real handwritten digits, 10 classes, shipped with plies-samples:
nothing is downloaded). It prints the progress table, writes lr_find.png, show_batch.png,
confusion_matrix.png and top_losses.png and the export (no pickle) into OUT, then loads the export
in a FRESH Python process (which only imports plies.vision) and predicts a raw image file, checking
it gives the probabilities of the trained learner. Exits non-zero when any step fails or the
results are not what they should be. Well under 5 minutes on 2 CPU cores.

    python tools/demo.py [--out OUT] [--epochs 3] [--arch xresnet18]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: runs without a display
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from plies.learner import ClassificationInterpretation, accuracy  # noqa: E402
from plies.loaders import URLs, untar_data  # noqa: E402
from plies.typecore import set_seed  # noqa: E402
from plies.vision import ImageDataLoaders, PILImageBW, aug_transforms, vision_learner  # noqa: E402

PREDICT_IN_A_FRESH_PROCESS = """
import json, sys
import plies.vision  # registers what the export names; nothing else is needed
from plies.learner import load_learner
learn = load_learner(sys.argv[1], cpu=True)
label, idx, probs = learn.predict(sys.argv[2])
print(json.dumps({"label": str(label), "probs": probs.tolist()}))
"""


def save(out: Path, name: str) -> Path:
    """Save the current matplotlib figure as OUT/name and close it."""
    path = out / name
    plt.gcf().savefig(path, dpi=80, bbox_inches="tight")
    plt.close("all")
    print(f"wrote {path}")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for the PNGs and the export (a temp folder)"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--arch", default="xresnet18")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="plies-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    set_seed(42)

    path = untar_data(URLs.DIGITS)
    dls = ImageDataLoaders.from_folder(
        path, batch_tfms=aug_transforms(do_flip=False, max_rotate=10), img_cls=PILImageBW, bs=64
    )
    print(
        f"data: {len(dls.train_ds)} training and {len(dls.valid_ds)} validation images, "
        f"classes {list(dls.vocab)}"
    )
    dls.show_batch(max_n=9)
    save(out, "show_batch.png")

    learn = vision_learner(dls, args.arch, pretrained=False, metrics=accuracy, path=out)
    suggestion = learn.lr_find(num_it=60)
    save(out, "lr_find.png")
    lr_max = 1e-2  # one-cycle trains well past the valley: its warm-up starts at lr_max / 25
    print(f"lr_find: valley {float(suggestion.valley):.2e}; one-cycle with lr_max {lr_max:.0e}")
    learn.fit_one_cycle(args.epochs, lr_max)
    valid_loss, acc = learn.validate()
    print(f"validation: loss {valid_loss:.4f}, accuracy {acc:.4f}")

    interp = ClassificationInterpretation.from_learner(learn)
    interp.plot_confusion_matrix()
    save(out, "confusion_matrix.png")
    interp.plot_top_losses(9)
    save(out, "top_losses.png")
    print(f"most confused: {interp.most_confused(min_val=2)[:3]}")

    file = learn.export("digits.plies")
    print(f"exported to {file} ({file.stat().st_size / 1e6:.1f} MB, no pickle)")

    sample = sorted((path / "valid" / "7").glob("*.png"))[0]
    _, _, probs_trained = learn.predict(sample)
    run = subprocess.run(
        [sys.executable, "-c", PREDICT_IN_A_FRESH_PROCESS, str(file), str(sample)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    failures = []
    if run.returncode != 0:
        failures.append(f"the fresh process failed to load and predict:\n{run.stderr[-2000:]}")
    else:
        got = json.loads(run.stdout.strip().splitlines()[-1])
        probs = torch.tensor(got["probs"])
        print(
            f"fresh process: predict(valid/7/{sample.name}) -> {got['label']!r} (p={float(probs.max()):.3f})"
        )
        if not torch.allclose(probs, probs_trained.float(), atol=1e-5):
            failures.append("the reloaded learner's probabilities differ from the trained learner's")
        if got["label"] != "7":
            failures.append(f"the reloaded learner predicts {got['label']!r} for a 7")
    if acc < 0.95:
        failures.append(f"validation accuracy {acc:.3f} is below 0.95 after {args.epochs} epochs")
    print(f"total time {time.perf_counter() - start:.1f} s; files in {out}")
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
