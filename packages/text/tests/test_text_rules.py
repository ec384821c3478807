"""The tokenization rules and the special tokens: each rule on hand-written texts, and their inverse."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from plies.text import (
    BOS,
    EOS,
    TK_MAJ,
    TK_REP,
    TK_UP,
    TK_WREP,
    UNK,
    decode_spec_tokens,
    fix_html,
    lowercase,
    replace_all_caps,
    replace_maj,
    replace_rep,
    replace_space,
    replace_wrep,
    rm_useless_spaces,
    spec_add_spaces,
    text_proc_rules,
    text_spec_tok,
)


def test_special_tokens_come_in_vocabulary_order() -> None:
    assert text_spec_tok[:2] == ("xxunk", "xxpad")
    assert set(text_spec_tok) == {
        "xxunk",
        "xxpad",
        "xxbos",
        "xxeos",
        "xxfld",
        "xxrep",
        "xxwrep",
        "xxup",
        "xxmaj",
    }


def test_fix_html() -> None:
    assert fix_html("Hello<br />world") == "Hello\nworld"
    assert fix_html("it#39;s &amp; quot;fine") == "it's & 'fine"
    assert fix_html("a <unk> b") == f"a {UNK} b"
    assert fix_html("1 @,@ 000 @.@ 5") == "1,000.5"


def test_replace_rep_marks_characters_repeated_more_than_three_times() -> None:
    assert replace_rep("cooool") == f"c {TK_REP} 4 o l"
    assert replace_rep("!!!!!") == f" {TK_REP} 5 ! "
    assert replace_rep("cool !!!") == "cool !!!"  # three is not more than three


def test_replace_wrep_marks_words_repeated_three_times() -> None:
    assert replace_wrep("this is so so so good") == f"this is {TK_WREP} 3 so good"
    assert replace_wrep("very very nice") == "very very nice"
    assert replace_wrep("so so so sonic") == f" {TK_WREP} 3 so sonic"
    assert replace_wrep("ha ha hat") == "ha ha hat"


def test_spaces_around_slash_and_hash_then_collapsed() -> None:
    assert spec_add_spaces("a/b#c") == "a / b # c"
    assert rm_useless_spaces("a   b  c d") == "a b c d"


def test_capitals_are_marked_and_lowercased() -> None:
    assert replace_all_caps("I AM VERY happy") == f"I {TK_UP} am {TK_UP} very happy"
    assert replace_maj("Hello World and I") == f"{TK_MAJ} hello {TK_MAJ} world and {TK_MAJ} i"
    assert replace_maj("McDonald") == "McDonald"  # a second capital: neither rule applies
    assert lowercase("  Some TEXT ") == f"{BOS} some text"
    assert lowercase("x", add_bos=False, add_eos=True) == f"x {EOS}"


def test_replace_space_inside_tokens() -> None:
    assert replace_space(["a b", "c", "\n ", "\n \n ", "  "]) == ["a▁b", "c", "\n", "\n\n", "▁"]


def test_default_rules_in_order() -> None:
    text = "WOW this film is sooooo good good good!<br />Truly"
    for rule in text_proc_rules:
        text = rule(text)
    assert text == (f"{BOS} {TK_UP} wow this film is s {TK_REP} 5 o {TK_WREP} 3 good! \n {TK_MAJ} truly")


def test_decode_spec_tokens() -> None:
    tokens = [BOS, TK_MAJ, "hello", TK_UP, "big", TK_REP, "3", "!", TK_WREP, "2", "very", "end", TK_MAJ]
    assert decode_spec_tokens(tokens) == [BOS, "Hello", "BIG", "!!!", "very", "very", "end", TK_MAJ]


@given(st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=8))
def test_decode_undoes_the_capitalisation_rules(words: list[str]) -> None:
    text = " ".join(
        w.capitalize() if i % 3 == 0 else (w.upper() if i % 3 == 1 and len(w) > 1 else w)
        for i, w in enumerate(words)
    )
    marked = replace_maj(replace_all_caps(text))
    assert " ".join(decode_spec_tokens(marked.split(" "))) == text
