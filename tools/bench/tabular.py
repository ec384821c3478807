"""Benchmark plies.tabular on adult (32,561 rows): loader rows/s, preprocessing time, the paper's fit.

Rows, all measured in this run:
(a) rows/s of `TabDataLoader` (one gather per tensor per batch) against a torch `TensorDataset` +
    `DataLoader` over the same preprocessed tensors (cats, conts, ys), shuffled, at several batch
    sizes; the two run epoch for epoch in alternation and each row prints the medians and the ratio
    plies/torch (the floor is 1.5);
(b) the preprocessing time of adult: `TabularPandas` with Categorify, FillMissing, Normalize
    (median of `--repeats` runs);
(c) the paper's fit: `tabular_learner(layers=[200, 100])`, 3 epochs of `fit_one_cycle`, the last
    6,500 rows as validation: wall time (median) and validation accuracy of each run, against
    fastai 2.8.12's 7.3 s for 0.8445 on a 2-core machine (goal: <= 0.8x that time at >= 0.84).

    python tools/bench/tabular.py [--threads 1] [--repeats 3] [--epochs 5]

On a busy machine use `--threads 1` (the default): torch's intra-op pool costs these small
operations more in wake-ups than it saves (docs/tabular.md, "Speed").
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd
import torch
from plies.learner import accuracy
from plies.loaders import URLs, untar_data
from plies.tabular import Categorify, FillMissing, Normalize, TabDataLoader, TabularPandas, tabular_learner
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import TensorDataset

CAT = ["workclass", "education", "marital-status", "occupation", "relationship", "race"]
CONT = ["age", "fnlwgt", "education-num"]
FASTAI_SECONDS, FASTAI_ACCURACY = 7.3, 0.8445


def adult() -> pd.DataFrame:
    return pd.read_csv(untar_data(URLs.ADULT_SAMPLE) / "adult.csv")


def process(df: pd.DataFrame) -> TabularPandas:
    n = len(df)
    splits = [list(range(n - 6500)), list(range(n - 6500, n))]
    return TabularPandas(df, [Categorify, FillMissing, Normalize], CAT, CONT, y_names="salary", splits=splits)


def rows_per_second(loader, n_rows: int) -> float:
    start = time.perf_counter()
    for _ in loader:
        pass
    return n_rows / (time.perf_counter() - start)


def loader_rows(to: TabularPandas, epochs: int) -> None:
    train = to.train
    t = train._tensors
    tensors = TensorDataset(t["cats"], t["conts"], t["ys"].as_subclass(torch.Tensor))
    print("(a) loader rows/s over adult's training rows (shuffled), median of", epochs, "epochs")
    for bs in (64, 256, 1024):
        ours = TabDataLoader(train, bs=bs, shuffle=True, seed=0)
        theirs = TorchDataLoader(tensors, batch_size=bs, shuffle=True)
        a, b = [], []
        for _ in range(epochs):  # alternate: a busy machine slows both alike
            a.append(rows_per_second(ours, len(train)))
            b.append(rows_per_second(theirs, len(train)))
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"    bs={bs:5d}  plies {ma:12,.0f}  torch {mb:10,.0f}  plies/torch {ma / mb:6.1f}x")


def preprocessing(df: pd.DataFrame, repeats: int) -> None:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        process(df)
        times.append(time.perf_counter() - start)
    print(f"(b) preprocessing adult ({len(df):,} rows, 3 procs): median {statistics.median(times):.3f} s")


def paper_fit(df: pd.DataFrame, repeats: int) -> None:
    times, accs = [], []
    for seed in range(repeats):
        torch.manual_seed(seed)
        start = time.perf_counter()
        dls = process(df).dataloaders(bs=64, device="cpu")
        learn = tabular_learner(dls, layers=[200, 100], metrics=accuracy)
        with learn.no_bar(), learn.no_logging():
            learn.fit_one_cycle(3)
        times.append(time.perf_counter() - start)
        accs.append(learn.recorder.values[-1][2])
    t, acc = statistics.median(times), statistics.median(accs)
    print(
        f"(c) paper fit (3 epochs, data included): median {t:.2f} s "
        f"({', '.join(f'{x:.2f}' for x in times)}), accuracy median {acc:.4f} "
        f"({', '.join(f'{x:.4f}' for x in accs)})"
    )
    print(
        f"    against fastai's {FASTAI_SECONDS} s for {FASTAI_ACCURACY}: {t / FASTAI_SECONDS:.2f}x the time "
        f"(goal <= 0.8x at >= 0.84)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5, help="loader epochs per variant")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s)")
    df = adult()
    to = process(df)
    loader_rows(to, args.epochs)
    preprocessing(df, args.repeats)
    paper_fit(df, args.repeats)


if __name__ == "__main__":
    main()
