"""Benchmark of plies.text: tokenization throughput, and (`--e2e`) the ULMFiT flows at full size.

Tokenization: tokens/s of the whole pipeline (`tokenize_texts` without the disk cache: the rules,
spaCy's tokenizer, the post-rules, in `n_workers` processes) on the IMDB sample's reviews, with 1
and 2 processes, next to spaCy's blank English tokenizer called directly in this process (the
floor of that tokenizer: `nlp.tokenizer.pipe`, each token's text taken). The variants run in
alternation, round after round (a busy machine slows them alike); each row prints the median
tokens/s and its ratio to spaCy's.

`--e2e` also runs, at full size and torch on `--threads` threads (1 by default: small recurrent
models run fastest on one thread, above all on a shared machine), the recipes in `SENTIMENT` and
`IMDB` below; each timing is printed with the 1-minute load average before and after it (the
machine may be shared: a timing under load is an upper bound):
- sentiment_sample (3,000 labelled sentences): a language model from scratch, then the classifier
  with its encoder, against the same classifier without the encoder; for each seed the two
  variants run one after the other, and the medians are printed with the whole flow's time
  (tokenization, both DataLoaders, the language model, the classifier with the encoder);
- imdb_sample (1,000 reviews): the language model's next-token accuracy per epoch, and the
  classifier with and without the encoder against the majority class.

    python tools/bench/text.py [--rounds 5] [--e2e] [--seeds 5] [--imdb-seeds 1] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch


def imdb_texts() -> list[str]:
    from plies.loaders import URLs, untar_data

    return pd.read_csv(untar_data(URLs.IMDB_SAMPLE) / "texts.csv")["text"].tolist()


_NLP: list[Any] = []


def spacy_floor(texts: list[str]) -> int:
    """spaCy's blank English tokenizer alone, in this process: the number of tokens. The pipeline is made
    once (as the plies tokenizer does), so its cache of words is warm from round to round."""
    import spacy

    if not _NLP:
        _NLP.append(spacy.blank("en"))
    nlp = _NLP[0]
    return sum(len([t.text for t in doc]) for doc in nlp.tokenizer.pipe(texts, batch_size=5000))


def pipeline(n_workers: int) -> Callable[[list[str]], int]:
    from plies.text import tokenize_texts

    def run(texts: list[str]) -> int:
        return sum(len(t) for t in tokenize_texts(texts, n_workers=n_workers, cache=False))

    return run


def bench_tokenization(rounds: int) -> dict[str, Any]:
    texts = imdb_texts()
    variants = {"spaCy blank tokenizer (floor)": spacy_floor, "plies, 1 process": pipeline(1),
                "plies, 2 processes": pipeline(2)}  # fmt: skip
    for f in variants.values():  # warm up: spaCy's tables, the fork of the workers
        f(texts[:200])
    rates: dict[str, list[float]] = {k: [] for k in variants}
    counts: dict[str, int] = {}
    for _ in range(rounds):
        for name, f in variants.items():
            t = time.perf_counter()
            n = f(texts)
            rates[name].append(n / (time.perf_counter() - t))
            counts[name] = n
    floor = statistics.median(rates["spaCy blank tokenizer (floor)"])
    print(f"tokenization of the IMDB sample ({len(texts)} reviews), medians of {rounds} rounds:")
    res = {}
    for name, r in rates.items():
        med = statistics.median(r)
        res[name] = med
        print(f"  {name:32s} {med:10,.0f} tokens/s  ({counts[name]:,} tokens)  x{med / floor:.2f} of spaCy's")
    return res


# ---------------------------------------------------------------- end to end
def quiet(learn: Any) -> Any:
    learn.remove_cb(learn.progress)
    learn.logger = lambda *a, **k: None
    return learn


def accuracies(learn: Any) -> list[float]:
    names = learn.recorder.metric_names
    col = names.index("accuracy") - 1  # values hold [train_loss, valid_loss, metrics...], names add 'epoch'
    return [round(float(v[col]), 4) for v in learn.recorder.values]


def load() -> float:
    return round(os.getloadavg()[0], 2)


def sentiment_flow(seed: int, workdir: Path) -> dict[str, Any]:
    """One seed of the sentiment flow: LM, classifier with its encoder, classifier without."""
    from plies.learner import Perplexity, accuracy
    from plies.loaders import URLs, untar_data
    from plies.text import AWD_LSTM, TextDataLoaders, language_model_learner, text_classifier_learner
    from plies.typecore import set_seed

    df = pd.read_csv(untar_data(URLs.SENTIMENT_SAMPLE) / "texts.csv")
    out: dict[str, Any] = {"seed": seed, "load_before": load()}
    os.environ["PLIES_HOME"] = str(workdir / f"home_{seed}")  # an empty cache: the flow tokenizes
    t0 = time.perf_counter()
    set_seed(seed)
    r = SENTIMENT
    dls_lm = TextDataLoaders.from_df(df, text_col="text", is_lm=True, valid_col="is_valid", path=workdir,
                                     bs=r["lm_bs"], seq_len=r["lm_seq_len"])  # fmt: skip
    lm = quiet(language_model_learner(dls_lm, AWD_LSTM, metrics=[accuracy, Perplexity()]))
    lm.fit_one_cycle(r["lm_epochs"], r["lm_lr"])
    lm.save_encoder("sentiment_enc")
    out["lm_accuracy"] = accuracies(lm)
    out["t_lm"] = time.perf_counter() - t0

    def classifier(with_encoder: bool) -> tuple[list[float], float]:
        t = time.perf_counter()
        set_seed(seed)
        dls = TextDataLoaders.from_df(df, text_col="text", label_col="label", valid_col="is_valid",
                                      text_vocab=dls_lm.vocab, path=workdir, bs=r["clas_bs"])  # fmt: skip
        learn = quiet(text_classifier_learner(dls, AWD_LSTM, metrics=accuracy))
        if with_encoder:
            learn.load_encoder("sentiment_enc")
        learn.fit_one_cycle(r["clas_epochs"], r["clas_lr"])
        return accuracies(learn), time.perf_counter() - t

    out["with_encoder"], out["t_clas"] = classifier(True)
    out["t_flow"] = time.perf_counter() - t0
    out["load_after_flow"] = load()
    out["without_encoder"], out["t_clas_without"] = classifier(False)
    return out


# The recipes (chosen on the sentiment sample, see docs/text.md "Figures"): the language model takes
# small batches (bs 16 x 36 tokens: ~75 steps an epoch on the sentiment sample instead of 18); the
# classifiers' lr is 3e-3: at 1e-2 the encoder's outputs sometimes collapse to ~0 and the classifier
# stays at chance (~50 %: fastai's 51 % is that level).
SENTIMENT = {"lm_bs": 16, "lm_seq_len": 36, "lm_epochs": 8, "lm_lr": 1e-2, "clas_bs": 32, "clas_epochs": 4,
             "clas_lr": 3e-3}  # fmt: skip
IMDB = {"lm_bs": 32, "lm_seq_len": 72, "lm_epochs": 4, "lm_lr": 1e-2, "clas_bs": 32, "clas_epochs": 4,
        "clas_lr": 3e-3}  # fmt: skip


def imdb_flow(seed: int, workdir: Path) -> dict[str, Any]:
    from plies.learner import Perplexity, accuracy
    from plies.loaders import URLs, untar_data
    from plies.text import AWD_LSTM, TextDataLoaders, language_model_learner, text_classifier_learner
    from plies.typecore import set_seed

    df = pd.read_csv(untar_data(URLs.IMDB_SAMPLE) / "texts.csv")
    out: dict[str, Any] = {"seed": seed, "load_before": load()}
    t0 = time.perf_counter()
    set_seed(seed)
    r = IMDB
    os.environ["PLIES_HOME"] = str(workdir / f"imdb_home_{seed}")
    dls_lm = TextDataLoaders.from_df(df, text_col="text", is_lm=True, valid_col="is_valid", path=workdir,
                                     bs=r["lm_bs"], seq_len=r["lm_seq_len"])  # fmt: skip
    lm = quiet(language_model_learner(dls_lm, AWD_LSTM, metrics=[accuracy, Perplexity()]))
    lm.fit_one_cycle(r["lm_epochs"], r["lm_lr"])
    lm.save_encoder("imdb_enc")
    out["lm_accuracy"], out["t_lm"] = accuracies(lm), time.perf_counter() - t0
    valid = df[df.is_valid]
    out["majority"] = round(float(valid.label.value_counts(normalize=True).max()), 4)
    for with_encoder in (True, False):
        set_seed(seed)
        dls = TextDataLoaders.from_df(df, text_col="text", label_col="label", valid_col="is_valid",
                                      text_vocab=dls_lm.vocab, path=workdir, bs=r["clas_bs"])  # fmt: skip
        learn = quiet(text_classifier_learner(dls, AWD_LSTM, metrics=accuracy))
        if with_encoder:
            learn.load_encoder("imdb_enc")
        t = time.perf_counter()
        learn.fit_one_cycle(r["clas_epochs"], r["clas_lr"])
        key = "with_encoder" if with_encoder else "without_encoder"
        out[key], out[f"t_{key}"] = accuracies(learn), time.perf_counter() - t
    out["load_after"] = load()
    return out


def bench_e2e(seeds: int, imdb_seeds: int) -> dict[str, Any]:
    res: dict[str, Any] = {"sentiment": [], "imdb": []}
    with tempfile.TemporaryDirectory() as d:
        for seed in range(seeds):
            r = sentiment_flow(seed, Path(d))
            res["sentiment"].append(r)
            print("sentiment seed", seed, json.dumps({k: (round(v, 1) if k.startswith("t_") else v)
                                                      for k, v in r.items()}), flush=True)  # fmt: skip
        for seed in range(imdb_seeds):
            r = imdb_flow(seed, Path(d))
            res["imdb"].append(r)
            print("imdb seed", seed, json.dumps({k: (round(v, 1) if k.startswith("t_") else v)
                                                 for k, v in r.items()}), flush=True)  # fmt: skip
    med = statistics.median
    s = res["sentiment"]
    if s:
        w, wo = [r["with_encoder"][-1] for r in s], [r["without_encoder"][-1] for r in s]
        print(f"\nsentiment_sample, {len(s)} seeds ({SENTIMENT}):")
        n = len(s[0]["lm_accuracy"])
        print("  LM next-token accuracy per epoch  " + ", ".join(
            f"{med(r['lm_accuracy'][e] for r in s):.4f}" for e in range(n)))  # fmt: skip
        print(f"  classifier with the LM encoder    median {med(w):.4f}  (per seed {w})")
        print(f"  classifier without it            median {med(wo):.4f}  (per seed {wo})")
        print(f"  with > without in {sum(a > b for a, b in zip(w, wo, strict=True))} of {len(s)} seeds")
        print(f"  whole flow (data, LM, classifier) median {med(r['t_flow'] for r in s):.0f} s, per seed "
              + ", ".join(f"{r['t_flow']:.0f} s (load {r['load_before']}->{r['load_after_flow']})" for r in s)
              + "  (fastai 2.8.12: 512 s; goal <= 410 s)")  # fmt: skip
    i = res["imdb"]
    if i:
        print(f"\nimdb_sample, medians over {len(i)} seeds ({IMDB}):")
        n = len(i[0]["lm_accuracy"])
        print("  LM next-token accuracy per epoch  " + ", ".join(
            f"{med(r['lm_accuracy'][e] for r in i):.4f}" for e in range(n)))  # fmt: skip
        for key in ("with_encoder", "without_encoder"):
            per_epoch = ", ".join(f"{med(r[key][e] for r in i):.4f}" for e in range(len(i[0][key])))
            print(f"  classifier {key.replace('_', ' '):16s} per epoch {per_epoch}")
        print(f"  majority class                    {i[0]['majority']:.4f}")
        print("  times: " + "; ".join(
            f"LM {r['t_lm']:.0f} s, classifiers {r['t_with_encoder']:.0f} s / {r['t_without_encoder']:.0f} s "
            f"(load {r['load_before']}->{r['load_after']})" for r in i))  # fmt: skip
    return res


def main() -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the tokenization variants")
    parser.add_argument("--e2e", action="store_true", help="also run the full-size ULMFiT flows (minutes)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the sentiment flow")
    parser.add_argument("--imdb-seeds", type=int, default=1, help="seeds of the IMDB flow (minutes each)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the end-to-end flows")
    args = parser.parse_args()
    os.environ.setdefault("PLIES_HOME", tempfile.mkdtemp(prefix="plies_bench_"))  # no cache from other runs
    bench_tokenization(args.rounds)
    if args.e2e:
        torch.set_num_threads(args.threads)
        bench_e2e(args.seeds, args.imdb_seeds)


if __name__ == "__main__":
    main()
