"""Term lists: word, substring and regex matching; evasions read; masking exactly in the original text."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveguard.rules.normalise import view
from liveguard.rules.terms import REGEX_TIMEOUT, TermList, TermsInvalid

SPAM = TermList("spam", ["free coins", "ass", "fuck", "god"])


# --- modes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["FREE followers", "ｆｒｅｅ followers", "Free", "carefree"])
def test_substring_mode_is_case_and_width_insensitive_and_matches_inside_words(text):
    assert TermList("spam", ["free"], match="substring", evasion=False).first(text) == "free"


@pytest.mark.parametrize("text", ["classic", "assessment", "carefree", "passage", "Scunthorpe"])
def test_word_mode_does_not_match_inside_innocent_words(text):
    assert TermList("t", ["ass", "free", "cunt"]).first(text) is None


@pytest.mark.parametrize("text", ["you ass", "ASS!", "(ass)", "ass-hat", "an ass."])
def test_word_mode_matches_between_word_boundaries(text):
    assert TermList("t", ["ass"]).first(text) == "ass"


def test_word_boundaries_are_unicode_aware():
    terms = TermList("t", ["café"])
    assert terms.first("un café noir") == "café"
    assert terms.first("cafés") is None
    assert TermList("t", ["мат"]).first("математика") is None


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("加微信", "请加微信123"),
        ("免费金币", "送免费金币啦"),
        ("ポイント", "無料ポイントです"),
        ("ฟรี", "เงินฟรีนะ"),
    ],
)
def test_scripts_without_spaces_match_as_substrings_in_word_mode(term, text):
    assert TermList("t", [term]).first(text) == term


def test_a_latin_term_next_to_han_text_is_at_a_word_boundary():
    assert TermList("t", ["free coins"]).mask("免费free coins金币") == "免费**********金币"


def test_a_star_at_a_terms_start_or_end_is_a_wildcard_over_the_rest_of_the_word():
    terms = TermList("t", ["*coins", "scam*"])
    assert [m.text for m in terms.matches("bitcoins and scammers, coins")] == [
        "bitcoins",
        "scammers",
        "coins",
    ]
    assert terms.first("coinsy") is None


def test_the_longest_phrase_at_a_place_wins():
    assert TermList("t", ["buy", "buy followers"]).found("please buy followers now") == ["buy followers"]


def test_every_occurrence_is_found_in_order():
    assert TermList("t", ["ab", "cd"]).found("xx cd yy ab cd") == ["cd", "ab", "cd"]


def test_a_term_with_regex_characters_is_literal():
    terms = TermList("t", ["a.b", "(x)"], match="substring")
    assert terms.first("aXb") is None
    assert terms.found("a.b and (x)") == ["a.b", "(x)"]


def test_an_empty_list_finds_nothing():
    terms = TermList("t", ["", "  "])
    assert len(terms) == 0
    assert terms.first("anything") is None
    assert terms.mask("anything") == "anything"


# --- regex mode -----------------------------------------------------------------------------------


def test_regex_mode_matches_python_patterns_and_names_the_pattern():
    links = TermList("links", [r"https?://\S+", r"discord\.gg/\S+"], match="regex")
    found = links.matches("join HTTPS://x.io/a now or discord.gg/abc")
    assert [(m.term, m.text) for m in found] == [
        (r"https?://\S+", "HTTPS://x.io/a"),
        (r"discord\.gg/\S+", "discord.gg/abc"),
    ]


def test_a_bad_pattern_is_refused_naming_it():
    with pytest.raises(TermsInvalid, match=r"pattern '\(unclosed'"):
        TermList("links", ["(unclosed"], match="regex")


def test_a_backreference_is_refused():
    with pytest.raises(TermsInvalid, match="backreferences"):
        TermList("r", [r"(a)\1"], match="regex")


def test_a_too_long_pattern_is_refused():
    with pytest.raises(TermsInvalid, match="at most 500"):
        TermList("r", ["a" * 501], match="regex")


def test_a_catastrophic_pattern_gives_up_within_its_time_bound():
    # Given the classic exponential-backtracking shapes, on a 2 KB comment built to trigger them
    evil = TermList("evil", [r"(a+)+$", r"(a|aa)*c", r"(\w+\s?)+$", r"(.*a){12}"], match="regex")
    comment = "a" * 2047 + "!"
    # When it is searched
    started = time.perf_counter()
    found = evil.matches(comment)
    # Then the search stops at its bound (counted as no match) instead of running for ages
    assert time.perf_counter() - started < REGEX_TIMEOUT * 10
    assert found == []


# --- evasions (each step) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("get fr\u200bee c0ins now", "get *********** now"),  # zero-width space and leetspeak
        ("fr\u00adee coins", "***********"),  # soft hyphen
        ("f\u0336r\u0336e\u0336e\u0336 coins!", "*" * 14 + "!"),  # combining marks
        ("frее coins", "**********"),  # Cyrillic е
        ("free cοins", "**********"),  # Greek omicron
        ("fr33 c01ns", "**********"),  # leetspeak digits
        ("you a$$", "you ***"),  # leetspeak symbols
        ("f.r.e.e c o i n s", "*****************"),  # spaced-out letters
        ("freeeee coins", "*************"),  # stretched letters
        ("fuuuuuck off", "******** off"),
        ("FREECOINS", "*********"),  # the words of a phrase run together
        ("frее ϲοins!", "**********!"),  # lunate sigma looks like c
        ("ＦＲＥＥ ＣＯＩＮＳ", "**********"),  # full width (Ｉ is I, not l)
        ("f-r-3-3 c.0.i.n.s", "*****************"),  # spaced-out leetspeak
    ],
)
def test_an_evasion_is_read_and_masked_exactly_where_it_is(text, masked):
    assert SPAM.mask(text) == masked


def test_without_evasion_the_evasions_pass():
    plain = TermList("spam", ["free coins"], evasion=False)
    for text in ["fr\u200bee coins", "frее coins", "fr33 c01ns", "f.r.e.e coins"]:
        assert plain.first(text) is None


def test_turkish_dotted_and_dotless_i_fold_as_users_expect():
    terms = TermList("t", ["istanbul", "ırk"])
    assert terms.found("İSTANBUL İstanbul ISTANBUL") == ["istanbul"] * 3
    assert terms.first("IRK") == "ırk"


def test_stretching_does_not_make_a_double_letter_out_of_a_single_one():
    assert SPAM.first("good") is None
    assert SPAM.first("gooood") == "god"  # three or more read as one or two


def test_leetspeak_1_and_bar_stand_for_i_or_l():
    terms = TermList("t", ["lick", "coins", "bullshit"])
    assert terms.found("1ick c01ns bu1lsh!t |ick") == ["lick", "coins", "bullshit", "lick"]
    assert terms.first("iick") is None  # a real i is not an l


def test_numbers_alone_stay_numbers():
    assert TermList("t", ["eat", "is"]).first("347 and 15") is None


def test_ending_punctuation_is_not_read_as_a_letter():
    assert TermList("t", ["free"]).mask("free! free!!") == "****! ****!!"
    assert TermList("t", ["shit"]).first("sh!t") == "shit"


def test_single_letters_are_joined_but_words_are_not():
    terms = TermList("t", ["ass", "free"], match="substring")
    assert terms.first("was sad") is None  # "as s" spans a real word boundary
    assert TermList("t", ["free"]).first("f r e e") == "free"


def test_invisible_characters_inside_a_match_are_masked_and_those_around_it_kept():
    assert SPAM.mask("\u200bfr\u200bee\u200b coins\u200b") == "\u200b" + "*" * 12 + "\u200b"


def test_a_match_reports_its_list_term_and_original_span():
    text = "ok fr\u200bee c0ins"
    [match] = SPAM.matches(text)
    assert (match.list, match.term, match.start, match.end) == ("spam", "free coins", 3, 14)
    assert match.text == text[3:14]


# --- except ----------------------------------------------------------------------------------------


def test_an_allowed_word_swallowing_a_match_cancels_it():
    slurs = TermList("slurs", ["ass", "cunt"], match="substring", exceptions=["classic", "scunthorpe"])
    assert slurs.first("a classic from Scunthorpe") is None
    assert slurs.found("classic ass") == ["ass"]


def test_an_allowed_phrase_cancels_only_what_it_covers():
    terms = TermList("t", ["coins"], exceptions=["chocolate coins"])
    assert terms.mask("chocolate coins, free coins") == "chocolate coins, free *****"


# --- what a viewer types never crashes it ----------------------------------------------------------

WORDS = st.text(alphabet="abcXYZ ｆ.", min_size=1, max_size=6)


@given(terms=st.lists(WORDS, min_size=1, max_size=30), text=st.text(alphabet="abcXYZ ｆ.", max_size=60))
def test_substring_without_evasion_matches_exactly_when_a_folded_term_is_inside_the_text(terms, text):
    compiled = TermList("t", terms, match="substring", evasion=False)
    expected = any(term in view(text, evasion=False).text for term in compiled.terms)
    assert (compiled.first(text) is not None) == expected


@settings(max_examples=200)
@given(
    terms=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=10),
    text=st.text(max_size=80),
    mode=st.sampled_from(["word", "substring"]),
    evasion=st.booleans(),
)
def test_any_text_is_matched_without_error_and_masking_changes_only_match_spans(terms, text, mode, evasion):
    compiled = TermList("t", terms, match=mode, evasion=evasion, exceptions=terms[:1])
    found = compiled.matches(text)
    masked = compiled.mask(text, "\u2588")
    assert len(masked) == len(text)
    inside = {index for match in found for index in range(match.start, match.end)}
    for index, (before, after) in enumerate(zip(text, masked, strict=True)):
        assert after == ("\u2588" if index in inside else before)
    for match in found:
        assert 0 <= match.start < match.end <= len(text)
        assert match.text == text[match.start : match.end]


@settings(max_examples=100)
@given(text=st.text(max_size=200))
def test_a_regex_list_searches_any_text_without_error(text):
    TermList("links", [r"https?://\S+", r"\d{6,}"], match="regex").matches(text)


def test_a_terms_own_run_of_three_needs_three_in_the_text():
    terms = TermList("t", ["kkk"])
    assert terms.first("kk") is None
    assert terms.first("kkkkk") == "kkk"


def test_of_two_terms_that_read_alike_the_plainer_is_reported():
    assert TermList("t", ["s_h_i_t", "shit"]).first("oh s.h.i.t") == "shit"
