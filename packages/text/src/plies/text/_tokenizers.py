"""The base tokenizers: spaCy's blank pipeline, SentencePiece, a plain splitter, and rules around them.

A tokenizer is a callable that takes an iterable of texts and returns an iterable of token
lists (fastai's protocol), so users plug in their own (a module-level function will do).
`describe()` returns the settings that decide its output, as plain data: the disk cache of
tokenized texts is keyed by it. Tokenizers that need training (SentencePiece) have
`setup(texts)`. A tokenizer can be sent to worker processes (`parallel_tokenize`): heavy objects
are rebuilt there, not pickled.

plies' tokenizers are registered `Transform` subclasses (never used in a Pipeline: `__call__`
follows the tokenizer protocol) so that a `Tokenizer` holding one is saved as plain data by the
pipes machinery: its constructor arguments and, for SentencePiece, the trained model's bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from plies.pipes import Transform, register_transform

from ._rules import text_postproc_rules, text_proc_rules, text_spec_tok

__all__ = [
    "BaseTokenizer",
    "SpacyTokenizer",
    "WordTokenizer",
    "SentencePieceTokenizer",
    "TokenizeWithRules",
    "tokenize1",
    "rules_names",
]


def _name_of(f: Any) -> str:
    """`module.qualname` of a rule function (how rules appear in settings and error messages)."""
    return f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', type(f).__qualname__)}"


def rules_names(rules: Iterable[Callable[..., Any]] | None) -> list[str]:
    """The names of `rules` (`module.qualname` each): what a cache of tokenized texts is keyed by."""
    return [_name_of(r) for r in (rules or ())]


class _TokenizerTransform(Transform):
    """What plies' tokenizers share: the tokenizer protocol as `__call__`, plain-data settings."""

    def __call__(self, items: Iterable[str]) -> Iterator[list[str]]:  # type: ignore[override]
        """The tokens of each text of `items`."""
        raise NotImplementedError(f"{type(self).__name__} must define __call__(items)")

    def describe(self) -> dict[str, Any]:
        """The settings that decide the output, as plain data."""
        raise NotImplementedError(f"{type(self).__name__} must define describe()")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


@register_transform(name="plies.text.BaseTokenizer")
class BaseTokenizer(_TokenizerTransform):
    """The simplest tokenizer: split each text on `split_char` (a space by default)."""

    def __init__(self, split_char: str = " ") -> None:
        super().__init__()
        self.split_char = split_char

    def __call__(self, items: Iterable[str]) -> Iterator[list[str]]:  # type: ignore[override]
        """The tokens of each text (empty strings between repeated separators dropped)."""
        return ([t for t in text.split(self.split_char) if t] for text in items)

    def describe(self) -> dict[str, Any]:
        """The settings that decide the output, as plain data."""
        return {"type": "BaseTokenizer", "split_char": self.split_char}


_SPACY: dict[
    tuple[str, tuple[str, ...]], Any
] = {}  # spaCy tokenizers by (lang, special tokens): slow to make


def _spacy_tokenizer(lang: str, special_toks: tuple[str, ...]) -> Any:
    key = (lang, special_toks)
    if key not in _SPACY:
        import spacy  # imported when a tokenizer is made: `import plies.text` stays light

        try:
            nlp = spacy.blank(lang)
        except (ImportError, OSError, KeyError) as e:
            raise ValueError(
                f"SpacyTokenizer: spaCy has no language {lang!r} ({e}); use a code such as 'en', 'fr', 'de'"
            ) from e
        for w in special_toks:
            # only the tokens spaCy would split (`<eos>`): a special case slows every text down (2x)
            if len(nlp.tokenizer(w)) != 1:
                nlp.tokenizer.add_special_case(w, [{"ORTH": w}])
        _SPACY[key] = nlp.tokenizer
    return _SPACY[key]


@register_transform(name="plies.text.SpacyTokenizer")
class SpacyTokenizer(_TokenizerTransform):
    """spaCy's tokenizer for `lang`, from a blank pipeline (`spacy.blank(lang)`: nothing to download).

    The special tokens (`xxbos`, `xxmaj`...) are kept whole (special cases of spaCy's tokenizer for
    those it would split). `buf_sz`: texts handed to spaCy at once.
    """

    def __init__(
        self, lang: str = "en", special_toks: Sequence[str] | None = None, buf_sz: int = 5000
    ) -> None:
        super().__init__()
        self.lang, self.buf_sz = lang, buf_sz
        self.special_toks = list(special_toks if special_toks is not None else text_spec_tok)
        self._tokenizer: Any = None
        self._load()  # fail here, naming the language, rather than inside a worker process

    def _load(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = _spacy_tokenizer(self.lang, tuple(self.special_toks))
        return self._tokenizer

    def __call__(self, items: Iterable[str]) -> Iterator[list[str]]:  # type: ignore[override]
        """The tokens of each text, by spaCy's tokenizer."""
        tok = self._load()
        return ([t.text for t in doc] for doc in tok.pipe(map(str, items), batch_size=self.buf_sz))

    def describe(self) -> dict[str, Any]:
        """The settings that decide the output, as plain data (spaCy's version included)."""
        import spacy

        return {
            "type": "SpacyTokenizer",
            "lang": self.lang,
            "special_toks": self.special_toks,
            "spacy": spacy.__version__,
        }

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_tokenizer"] = None  # rebuilt in the process that unpickles it
        return state


WordTokenizer = SpacyTokenizer
"""The default word tokenizer (fastai's name): `SpacyTokenizer`."""


@register_transform(name="plies.text.SentencePieceTokenizer")
class SentencePieceTokenizer(_TokenizerTransform):
    """A SentencePiece subword tokenizer, trained on the training texts by `setup` (or given a model).

    `vocab_sz`: the number of pieces, at most (None: about a quarter of the distinct words of the
    texts, between 100 and `max_vocab_sz`); `model_type`: 'unigram' or 'bpe'; `sp_model`: the bytes of a
    trained model (`model_bytes` of another tokenizer) or the path of a `.model` file. The trained
    model is kept in memory as `model_bytes`: it travels with exports (bytes are plain data).
    """

    _state_attrs = ("model_bytes",)

    def __init__(
        self,
        lang: str = "en",
        special_toks: Sequence[str] | None = None,
        sp_model: bytes | str | None = None,
        vocab_sz: int | None = None,
        max_vocab_sz: int = 30000,
        model_type: str = "unigram",
        char_coverage: float | None = None,
    ) -> None:
        super().__init__()
        if model_type not in ("unigram", "bpe", "char", "word"):
            raise ValueError(
                f"SentencePieceTokenizer: model_type must be 'unigram', 'bpe', 'char' or 'word', "
                f"got {model_type!r}"
            )
        self.lang, self.vocab_sz, self.max_vocab_sz, self.model_type = (
            lang,
            vocab_sz,
            max_vocab_sz,
            model_type,
        )
        self.special_toks = list(special_toks if special_toks is not None else text_spec_tok)
        self.char_coverage = (
            char_coverage
            if char_coverage is not None
            else (0.99999 if lang in ("zh", "ja", "ko") else 0.9999)
        )
        self.model_bytes: bytes | None = None
        if sp_model is not None:
            self.model_bytes = sp_model if isinstance(sp_model, bytes) else open(sp_model, "rb").read()
        self._processor: Any = None

    def _default_vocab_sz(self, texts: Sequence[str]) -> int:
        words = {w for t in texts for w in t.split()}
        return max(100, min(self.max_vocab_sz, len(words) // 4))

    def setup(  # type: ignore[override]
        self, items: Iterable[str], rules: Iterable[Callable[[str], str]] | None = None
    ) -> dict[str, Any]:
        """Train the model on `items` (after `rules`) unless it has one; returns `{'sp_model': bytes}`."""
        if self.model_bytes is not None:
            return {"sp_model": self.model_bytes}
        import sentencepiece as spm

        texts = [_apply_rules(t, rules) for t in items]
        if not texts:
            raise ValueError("SentencePieceTokenizer.setup: no texts to train on")
        vocab_sz = self.vocab_sz if self.vocab_sz is not None else self._default_vocab_sz(texts)
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(texts),
                model_writer=model,
                vocab_size=vocab_sz,
                model_type=self.model_type,
                character_coverage=self.char_coverage,
                user_defined_symbols=[t for t in self.special_toks if t not in ("xxunk", "xxpad")],
                unk_piece="xxunk",
                pad_piece="xxpad",
                pad_id=-1,
                bos_id=-1,
                eos_id=-1,
                minloglevel=2,
                hard_vocab_limit=False,
                input_sentence_size=1_000_000,
                shuffle_input_sentence=True,
                num_threads=1,
            )
        except RuntimeError as e:
            raise ValueError(
                f"SentencePieceTokenizer.setup: training a {self.model_type} model of {vocab_sz} pieces on "
                f"{len(texts)} texts failed ({e}); choose another vocab_sz"
            ) from e
        self.model_bytes = model.getvalue()
        self._processor = None
        return {"sp_model": self.model_bytes}

    def _load(self) -> Any:
        if self._processor is None:
            if self.model_bytes is None:
                raise ValueError(
                    "SentencePieceTokenizer: no model yet; call setup(texts) to train one (Tokenizer does it "
                    "on the training texts) or pass sp_model="
                )
            import sentencepiece as spm

            self._processor = spm.SentencePieceProcessor(model_proto=self.model_bytes)
        return self._processor

    def __call__(self, items: Iterable[str]) -> Iterator[list[str]]:  # type: ignore[override]
        """The pieces of each text."""
        sp = self._load()
        return (sp.encode_as_pieces(str(t)) for t in items)

    def describe(self) -> dict[str, Any]:
        """The settings that decide the output, as plain data (the model's digest when trained)."""
        import hashlib

        digest = hashlib.sha256(self.model_bytes).hexdigest() if self.model_bytes is not None else None
        return {
            "type": "SentencePieceTokenizer",
            "model": digest,
            "vocab_sz": self.vocab_sz,
            "model_type": self.model_type,
            "special_toks": self.special_toks,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the state (the trained model's bytes): the processor is rebuilt from them."""
        super().load_state_dict(state)
        self._processor = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_processor"] = None
        return state


def _apply_rules(t: Any, rules: Iterable[Callable[..., Any]] | None) -> Any:
    for r in rules or ():
        t = r(t)
    return t


class TokenizeWithRules:
    """A tokenizer with the rules around it: `rules` on each text, `tok`, then `post_rules` on the tokens."""

    def __init__(
        self,
        tok: Callable[[Iterable[str]], Iterable[list[str]]],
        rules: Sequence[Callable[[str], str]] | None = None,
        post_rules: Sequence[Callable[[list[str]], list[str]]] | None = None,
    ) -> None:
        self.tok = tok
        self.rules = list(text_proc_rules if rules is None else rules)
        self.post_rules = list(text_postproc_rules if post_rules is None else post_rules)

    def __call__(self, batch: Iterable[str]) -> Iterator[list[str]]:
        """The tokens of each text of `batch`."""
        texts = (_apply_rules(t, self.rules) for t in batch)
        return (_apply_rules(list(toks), self.post_rules) for toks in self.tok(texts))

    def describe(self) -> dict[str, Any]:
        """The tokenizer's settings and the names of the rules, as plain data."""
        describe = getattr(self.tok, "describe", None)
        tok = describe() if callable(describe) else {"type": _name_of(type(self.tok))}
        return {"tok": tok, "rules": rules_names(self.rules), "post_rules": rules_names(self.post_rules)}


def tokenize1(
    text: str,
    tok: Callable[[Iterable[str]], Iterable[list[str]]],
    rules: Sequence[Callable[[str], str]] | None = None,
    post_rules: Sequence[Callable[[list[str]], list[str]]] | None = None,
) -> list[str]:
    """The tokens of one `text` with `tok` and the rules (the defaults when None)."""
    return next(iter(TokenizeWithRules(tok, rules=rules, post_rules=post_rules)([text])))
