"""The special tokens and the tokenization rules (fastai's names), applied before and after tokenizing.

Rules before tokenizing take and return a string: they fix HTML leftovers, mark repetitions
(`xxrep`, `xxwrep`), put spaces around `/` and `#`, collapse spaces, mark capitalisation
(`xxup`, `xxmaj`) and lowercase the text, adding `xxbos` in front. Rules after tokenizing take and
return a list of tokens (`replace_space` keeps tokens free of spaces so that a tokenized text can
be joined and split again). `decode_spec_tokens` undoes the capitalisation and repetition marks on
a list of tokens, for display.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

from plies.pipes import register_transform

__all__ = [
    "UNK",
    "PAD",
    "BOS",
    "EOS",
    "FLD",
    "TK_REP",
    "TK_WREP",
    "TK_UP",
    "TK_MAJ",
    "text_spec_tok",
    "fix_html",
    "replace_rep",
    "replace_wrep",
    "spec_add_spaces",
    "rm_useless_spaces",
    "replace_all_caps",
    "replace_maj",
    "lowercase",
    "replace_space",
    "text_proc_rules",
    "text_postproc_rules",
    "decode_spec_tokens",
]

UNK, PAD, BOS, EOS, FLD = "xxunk", "xxpad", "xxbos", "xxeos", "xxfld"
TK_REP, TK_WREP, TK_UP, TK_MAJ = "xxrep", "xxwrep", "xxup", "xxmaj"

text_spec_tok: tuple[str, ...] = (UNK, PAD, BOS, EOS, FLD, TK_REP, TK_WREP, TK_UP, TK_MAJ)
"""The special tokens, in vocabulary order: `xxunk` gets id 0 and `xxpad` id 1."""

_HTML_FIXES = (
    ("#39;", "'"),
    ("amp;", "&"),
    ("#146;", "'"),
    ("nbsp;", " "),
    ("#36;", "$"),
    ("\\n", "\n"),
    ("quot;", "'"),
    ("<br />", "\n"),
    ("<br/>", "\n"),
    ("<br>", "\n"),
    ('\\"', '"'),
    ("<unk>", UNK),
    (" @.@ ", "."),
    (" @-@ ", "-"),
    (" @,@ ", ","),
)
_RE_SPACES_BEFORE_HTML = re.compile(r"  +")


@register_transform(name="plies.text.fix_html")
def fix_html(x: str) -> str:
    """Fix the HTML leftovers of scraped texts (`<br />` becomes a new line, `#39;` a quote, entities...)."""
    x = html.unescape(x)  # proper entities first (`&amp;`), then the leftovers of scraped texts (`#39;`)
    for old, new in _HTML_FIXES:
        x = x.replace(old, new)
    return x.replace("\\", " \\ ")


_RE_REP = re.compile(r"(\S)(\1{3,})")


@register_transform(name="plies.text.replace_rep")
def replace_rep(t: str) -> str:
    """Replace a character repeated more than three times by `xxrep n c`: `'cooool'` -> `'c xxrep 4 o l'`."""

    def _sub(m: re.Match[str]) -> str:
        c, rest = m.groups()
        return f" {TK_REP} {len(rest) + 1} {c} "

    return _RE_REP.sub(_sub, t)


_RE_WREP = re.compile(r"(?:\s|^)(\w+)((?:\s+\1){2,})(?=\W|$)")


@register_transform(name="plies.text.replace_wrep")
def replace_wrep(t: str) -> str:
    """Replace a word repeated three times or more by `xxwrep n word`: `'so so so'` -> `'xxwrep 3 so'`."""

    def _sub(m: re.Match[str]) -> str:
        word, rest = m.groups()
        return f" {TK_WREP} {len(rest.split()) + 1} {word}"

    return _RE_WREP.sub(_sub, t)


_RE_SPEC = re.compile(r"([/#\n])")


@register_transform(name="plies.text.spec_add_spaces")
def spec_add_spaces(t: str) -> str:
    """Put spaces around `/`, `#` and new lines, so that the tokenizer splits on them."""
    return _RE_SPEC.sub(r" \1 ", t)


_RE_SPACES = re.compile(" {2,}")


@register_transform(name="plies.text.rm_useless_spaces")
def rm_useless_spaces(t: str) -> str:
    """Collapse runs of spaces into one."""
    return _RE_SPACES.sub(" ", t)


# a word of at least two letters, all capitals (digits and punctuation inside allowed)
_RE_ALL_CAPS = re.compile(r"(\s|^)([A-Z][A-Z]+[^a-z\s]*)(?=\s|$)")


@register_transform(name="plies.text.replace_all_caps")
def replace_all_caps(t: str) -> str:
    """Lowercase words written in capitals (two letters or more) and put `xxup` before them."""

    def _sub(m: re.Match[str]) -> str:
        space, word = m.groups()
        return f"{space}{TK_UP} {word.lower()}"

    return _RE_ALL_CAPS.sub(_sub, t)


# a capital letter followed by anything but capitals: 'Hello', 'I', "Don't"
_RE_MAJ = re.compile(r"(\s|^)([A-Z][^A-Z\s]*)(?=\s|$)")


@register_transform(name="plies.text.replace_maj")
def replace_maj(t: str) -> str:
    """Lowercase capitalised words and put `xxmaj` before them: `'Hello'` -> `'xxmaj hello'`."""

    def _sub(m: re.Match[str]) -> str:
        space, word = m.groups()
        return f"{space}{TK_MAJ} {word.lower()}"

    return _RE_MAJ.sub(_sub, t)


@register_transform(name="plies.text.lowercase")
def lowercase(t: str, add_bos: bool = True, add_eos: bool = False) -> str:
    """Lowercase the text and strip it; `xxbos` in front (`add_bos`), `xxeos` at the end (`add_eos`)."""
    return (f"{BOS} " if add_bos else "") + t.lower().strip() + (f" {EOS}" if add_eos else "")


@register_transform(name="plies.text.replace_space")
def replace_space(tokens: list[str]) -> list[str]:
    """Keep spaces out of tokens (so a tokenized text can be joined on spaces and split back): a run of
    white space loses its spaces (`'\\n '` -> `'\\n'`), a space inside a word becomes `▁`."""
    res = []
    for t in tokens:
        if " " in t:
            t = (t.replace(" ", "") or "▁") if t.isspace() else t.replace(" ", "▁")
        res.append(t)
    return res


text_proc_rules: tuple[Callable[[str], str], ...] = (
    fix_html,
    replace_rep,
    replace_wrep,
    spec_add_spaces,
    rm_useless_spaces,
    replace_all_caps,
    replace_maj,
    lowercase,
)
"""The default rules applied to a text before tokenizing it, in this order."""

text_postproc_rules: tuple[Callable[[list[str]], list[str]], ...] = (replace_space,)
"""The default rules applied to the tokens after tokenizing."""


def decode_spec_tokens(tokens: Sequence[str]) -> list[str]:
    """Undo the capitalisation and repetition marks: `['xxmaj', 'hi', 'xxrep', '3', '!']` -> `['Hi', '!!!']`.

    `xxup` capitalises the next token, `xxmaj` its first letter, `xxrep n c` and `xxwrep n w` repeat;
    a mark with nothing (or no count) after it is kept as it is.
    """
    res: list[str] = []
    toks = list(tokens)
    i = 0
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if t in (TK_REP, TK_WREP) and i + 2 < len(toks) and toks[i + 1].isdigit():
            n, word = int(toks[i + 1]), toks[i + 2]
            res.extend([word * n] if t == TK_REP else [word] * n)
            i += 3
        elif t == TK_UP and nxt is not None:
            res.append(nxt.upper())
            i += 2
        elif t == TK_MAJ and nxt is not None:
            res.append(nxt[:1].upper() + nxt[1:])
            i += 2
        else:
            res.append(t)
            i += 1
    return res
