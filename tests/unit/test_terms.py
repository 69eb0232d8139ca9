"""Term lists: case- and width-insensitive substring matching, and masking in the original text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveguard.rules.terms import TermList, normalize


@pytest.mark.parametrize("text", ["FREE followers", "ｆｒｅｅ followers", "Free", "carefree"])
def test_case_and_width_do_not_hide_a_term(text):
    assert TermList("spam", ["free"]).first(text) == "free"


def test_the_longest_term_at_a_place_wins():
    terms = TermList("spam", ["buy", "buy followers"])
    assert terms.found("please buy followers now") == ["buy followers"]


def test_every_occurrence_is_found_in_order():
    assert TermList("t", ["ab", "cd"]).found("xx cd yy ab cd") == ["cd", "ab", "cd"]


def test_a_term_with_regex_characters_is_literal():
    terms = TermList("t", ["a.b", "(x)"])
    assert terms.first("aXb") is None
    assert terms.found("a.b and (x)") == ["a.b", "(x)"]


def test_masking_hides_each_term_in_the_original_text():
    assert TermList("t", ["free"]).mask("get ＦＲＥＥ stuff free") == "get **** stuff ****"


def test_an_empty_list_finds_nothing():
    terms = TermList("t", ["", "  "])
    assert len(terms) == 0
    assert terms.first("anything") is None
    assert terms.mask("anything") == "anything"


def test_combining_marks_still_match_and_mask_conservatively():
    terms = TermList("t", ["café"])
    decomposed = "cafe\u0301"
    assert terms.first(decomposed) == "café"
    assert "e" not in terms.mask(decomposed)


WORDS = st.text(alphabet="abcXYZ ｆ.", min_size=1, max_size=6)


@given(terms=st.lists(WORDS, min_size=1, max_size=30), text=st.text(alphabet="abcXYZ ｆ.", max_size=60))
def test_a_text_matches_exactly_when_a_folded_term_is_inside_it(terms, text):
    compiled = TermList("t", terms)
    expected = any(term in normalize(text) for term in compiled.terms)
    assert (compiled.first(text) is not None) == expected


@given(terms=st.lists(WORDS, min_size=1, max_size=30), text=st.text(max_size=60))
def test_masking_keeps_the_length_and_leaves_no_term_behind(terms, text):
    compiled = TermList("t", terms)
    masked = compiled.mask(text, "\u2588")
    assert len(masked) == len(text)
    assert compiled.first(masked.replace("\u2588", "\x00")) is None or "\u2588" in masked
