"""Untrusted input: whatever a viewer types or sets, the engine answers, and masking hides every term."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from liveguard.rules.compiled import RuleSet
from liveguard.rules.engine import evaluate
from liveguard.rules.loader import DEFAULT_RULES, _read_yaml, load_rules, parse_rules
from liveguard.rules.terms import TermList, normalize
from liveguard.tencent.commands import COMMANDS
from liveguard.webhooks.models import CallbackInvalid
from tests.unit.rules.fakes import ADMIN, NOW, MemoryState, comment, metadata_set

DEFAULTS = load_rules()
BANNED = DEFAULTS.terms["banned"]
# Text that often holds banned terms, in odd case and width, among arbitrary characters.
TEXTS = st.lists(
    st.one_of(
        st.text(max_size=12),
        st.sampled_from(sorted(BANNED.terms)),
        st.sampled_from(["ＦＲＥＥ ＣＯＩＮＳ", "Buy Followers"]),
    ),
    max_size=6,
).map("".join)


def texts_of(msg_body: list[dict[str, object]]) -> list[str]:
    return [str(element["MsgContent"]["Text"]) for element in msg_body if element["MsgType"] == "TIMTextElem"]  # type: ignore[index]


@given(text=TEXTS)
def test_any_comment_gets_an_answer_and_a_masked_one_holds_no_banned_term(text):
    # Given any comment text
    # When the defaults decide on it
    decision = evaluate(comment(text), MemoryState(), DEFAULTS, now=NOW, admin=ADMIN, event_id="e" * 64)
    # Then a comment with a banned term is rewritten without any, and a clean one is left alone
    if BANNED.first(text) is None:
        assert decision.verdict is None
    else:
        assert decision.verdict is not None
        assert decision.verdict.msg_body is not None
        assert all(BANNED.first(masked) is None for masked in texts_of(decision.verdict.msg_body))


WORDS = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=5).filter(
    lambda word: "*" not in normalize(word)  # the loader refuses a term holding the mask character
)


@settings(max_examples=60)
@given(terms=st.lists(WORDS, min_size=1, max_size=8), text=st.text(max_size=40))
def test_masking_with_any_term_list_leaves_no_term_behind(terms, text):
    # Given a mask rule over an arbitrary term list (the loader refuses terms holding the mask char)
    quoted = ", ".join(
        '"' + term.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"' for term in terms
    )
    rules = parse_rules(
        "terms:\n  t: ["
        + quoted
        + "]\nrules:\n"
        + textwrap.indent(
            "- {name: m, on: [Group.CallbackBeforeSendMsg], when: {terms: [t]}, verdict: mask}\n", "  "
        )
    )
    compiled: TermList = rules.terms["t"]
    # When a comment is decided
    decision = evaluate(comment(text), MemoryState(), rules, now=NOW, admin=ADMIN, event_id="e")
    # Then whatever was rewritten holds no term of the list
    if decision.verdict is not None:
        assert decision.verdict.msg_body is not None
        assert all(compiled.first(masked) is None for masked in texts_of(decision.verdict.msg_body))


KEYS = st.text(min_size=1, max_size=20).filter(lambda key: len(key.encode("utf-8", "surrogatepass")) <= 50)


@given(values=st.dictionaries(KEYS, TEXTS, min_size=1, max_size=5), approved=st.booleans())
def test_any_metadata_gets_an_answer_whose_actions_validate(values, approved):
    state = MemoryState(approved={("live-room-1", key): "ok" for key in values} if approved else {})
    try:
        callback = metadata_set(values)
    except CallbackInvalid:  # a body the callback models refuse never reaches the engine
        return
    decision = evaluate(callback, state, DEFAULTS, now=NOW, admin=ADMIN, event_id="e" * 64)
    for action in decision.actions:
        COMMANDS[action.command].model_validate(action.params)


def _with_shadow_copies() -> RuleSet:
    """The defaults, each rule followed by a shadow copy of itself (renamed)."""
    document: Any = _read_yaml(DEFAULT_RULES.read_text(encoding="utf-8"), str(DEFAULT_RULES))
    rules = []
    for rule in document["rules"]:
        rules += [rule, {**rule, "name": f"{rule['name']}-shadow", "mode": "shadow"}]
    return parse_rules(json.dumps({**document, "rules": rules}), base_dir=DEFAULT_RULES.parent)


SHADOWED = _with_shadow_copies()


@given(text=TEXTS, strikes=st.integers(min_value=0, max_value=6))
@settings(max_examples=150)
def test_shadow_copies_of_the_defaults_never_change_the_live_decision(text, strikes):
    # Given any comment text from a viewer with any number of earlier strikes
    state = MemoryState().strike("viewer-7", at=NOW - 60, times=strikes)
    # When the defaults decide on it, and the defaults with a shadow copy under each rule
    live = evaluate(comment(text), state, DEFAULTS, now=NOW, admin=ADMIN, event_id="e" * 64)
    shadowed = evaluate(comment(text), state, SHADOWED, now=NOW, admin=ADMIN, event_id="e" * 64)
    # Then the live decision is the same, and the copies that would have fired are those of the rules
    # that fired (each copy sees what its rule sees)
    assert shadowed.model_copy(update={"shadow": []}) == live
    assert [firing.rule.removesuffix("-shadow") for firing in shadowed.shadow] == live.fired
