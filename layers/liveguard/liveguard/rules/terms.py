"""Named term lists: word, substring or regex matching, with evasion normalisation, fast for 10,000 terms.

A term list compiles once (per cold start) into one regular expression shaped as a trie, so a
comment is scanned once however many terms there are. Text is matched through a *view*: the text
normalised (``liveguard.rules.normalise``) with, for each character of the view, the span of the
original text it came from, so a match is reported and masked on the original text: exactly the
original characters that made it, invisible ones inside it included, nothing else.

Modes (``match``):

- ``word`` (the default): a term matches only between word boundaries (Unicode-aware). A term
  edge in a script written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, ...)
  needs no boundary: such text matches as substrings, by script. ``*`` at a term's start or end
  is a wildcard (the match extends over the rest of the word).
- ``substring``: anywhere in the text.
- ``regex``: Python-syntax patterns (the ``regex`` module), run on the case-folded text, each
  list's search bounded in time (``REGEX_TIMEOUT``).

With ``evasion`` (the default) the view also drops invisible characters, strips combining marks,
maps confusables, reads leetspeak and joins spaced-out letters, and a term's letters match
stretched runs (``freeeee``); ``liveguard.rules.normalise`` says how, step by step.
``except`` is an allow list: a match inside the span of an allowed term or phrase is cancelled.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import regex  # type: ignore[import-untyped]  # (no types-regex in the pinned dev set)

from liveguard.rules.normalise import EITHER_I_OR_L, View, collapse_term, fold, unstretched, view

logger = logging.getLogger(__name__)

MatchMode = Literal["word", "substring", "regex"]

SPACELESS_SCRIPTS = (
    "Han",
    "Hiragana",
    "Katakana",
    "Bopomofo",
    "Thai",
    "Lao",
    "Khmer",
    "Myanmar",
    "Tibetan",
    "Yi",
    "Tai_Le",
    "New_Tai_Lue",
    "Tai_Tham",
    "Tai_Viet",
    "Javanese",
    "Balinese",
)
"""Scripts written without spaces between words: their text has no word boundaries to find, so a term
edge in one of them matches anywhere (Unicode's Script property, through the ``regex`` module)."""

_SPACELESS = "".join(rf"\p{{Script={script}}}" for script in SPACELESS_SCRIPTS)
_WORD = rf"[^\W{_SPACELESS}]"
"""A word character of a script written with spaces: what a word boundary is between."""
_IS_WORD = regex.compile(_WORD)
_WORDS = regex.compile(_WORD + "+")
_ASCII_WORDS = re.compile(r"\w+", re.ASCII)
"""``_WORDS`` for ASCII text (the same words, without the Script lookups' cost)."""

REGEX_TIMEOUT = 0.02
"""Seconds one search of a regex list may take on one text; past that the list counts as not
matching (and a warning is logged)."""
REGEX_DECISION_BUDGET = 0.1
"""Seconds all the regex searches of one decision may take together (``regex_budget``): a message of
many text elements, each searched by each regex list, cannot add up past it, so no rules file can
stall the ingress (ANSWER_BUDGET 1.5 s). A search that would start past it counts as no match."""
_regex_deadline: ContextVar[float | None] = ContextVar("regex_deadline", default=None)


@contextmanager
def regex_budget(seconds: float = REGEX_DECISION_BUDGET) -> Iterator[None]:
    """Within it, every regex search shares one deadline ``seconds`` from now (one decision's)."""
    token = _regex_deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _regex_deadline.reset(token)


@contextmanager
def regex_budget_aside(seconds: float = REGEX_DECISION_BUDGET) -> Iterator[None]:
    """A budget of its own, inside a decision's, for searches that must not spend the decision's (a
    shadow rule's): the decision's deadline moves later by the time spent within."""
    outer = _regex_deadline.get()
    started = time.monotonic()
    token = _regex_deadline.set(started + seconds)
    try:
        yield
    finally:
        _regex_deadline.reset(token)
        if outer is not None:
            _regex_deadline.set(outer + (time.monotonic() - started))


MAX_REGEX_PATTERNS = 100
"""Patterns in one regex list (they compile into one expression, searched once per text)."""
MAX_REGEX_LENGTH = 500
"""Characters in one regex pattern."""
MAX_REGEX_LISTS = 8
"""Regex lists in one rules file: with ``REGEX_TIMEOUT``, what bounds one text's regex time."""


class TermsInvalid(ValueError):  # noqa: N818 - as RulesInvalid: the domain's word
    """A term or pattern that cannot be compiled; the message names it."""


@dataclass(frozen=True, slots=True)
class TermMatch:
    """One occurrence of a term: the list, the term as written in it, and the span of the original
    text that made it (``text[start:end]``)."""

    list: str
    term: str
    start: int
    end: int
    text: str


# --- compiling ----------------------------------------------------------------------------------


def _literal_trie(terms: Iterable[str]) -> str:
    """One ``re`` pattern for literal terms, shaped as a trie (longest term first at a place)."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]  # recursive
    for term in terms:
        node = trie
        for char in term:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict) -> str:  # type: ignore[type-arg]
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return pattern(trie)


@dataclass(frozen=True, slots=True)
class _Phrase:
    """A word-mode term as words; ``start_wild``: its first word may have anything before it in the
    word (``*coins``), ``end_wild``: its last word anything after."""

    written: str
    words: tuple[str, ...]
    start_wild: bool
    end_wild: bool


_RUN = regex.compile(r"(.)\1*")


def _runs(word: str) -> list[tuple[str, int]]:
    return [(run.group(1), len(run.group())) for run in _RUN.finditer(word)]


def _loose(word: str) -> str:
    """A word with ``i``, ``l`` and leetspeak's ``ı`` alike and its runs of a letter as one letter:
    the key under which a stretched or leetspoken word finds its term."""
    same = "".join(EITHER_I_OR_L if char in "il" else char for char in word)
    return "".join(char for char, _ in _runs(same))


def _compatible(seen: str, term: str) -> bool:
    """Whether a text word (evasion view) is the term word stretched (three or more of a letter for
    one or two) or with leetspeak's ``ı`` for an ``i`` or an ``l``."""
    return _loose_pattern(term).fullmatch(seen) is not None


@lru_cache(maxsize=16384)
def _loose_pattern(term: str) -> re.Pattern[str]:
    parts = []
    for char, count in _runs(term):
        letter = f"[{char}{EITHER_I_OR_L}]" if char in "il" else re.escape(char)
        parts.append(f"{letter}(?:{letter}{letter}+)?" if count == 1 else f"{letter}{{{count},}}")
    return re.compile("".join(parts))


_LOOSE_NEEDED = re.compile(rf"{EITHER_I_OR_L}|(\w)\1\1")
"""A text needs the loose lookup when it has leetspeak's either-letter or a stretched run."""


def _is_word_char(char: str) -> bool:
    return bool(_IS_WORD.match(char))


class TermList:
    """A named, compiled list of terms (or, in regex mode, of patterns)."""

    def __init__(
        self,
        name: str,
        terms: Iterable[str],
        *,
        match: MatchMode = "word",
        evasion: bool = True,
        exceptions: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.mode: MatchMode = match
        self.evasion = evasion
        written = list(dict.fromkeys(term.strip() for term in terms if term.strip()))
        self._allowed: TermList | None = None
        self._last: tuple[str, list[TermMatch]] | None = None
        self._regex: regex.Pattern[str] | None = None
        self._literal: re.Pattern[str] | None = None
        self._literal_terms: dict[str, str] = {}
        self._literal_edges: dict[str, tuple[bool, bool]] = {}
        self._first: dict[str, list[_Phrase]] = {}
        self._loose_first: dict[str, list[_Phrase]] = {}
        self._suffixes: dict[int, dict[str, list[_Phrase]]] = {}
        self._prefixes: dict[int, dict[str, list[_Phrase]]] = {}
        self._patterns: list[str] = []
        self._wild = False
        if match == "regex":
            self._compile_regex(written)
            self.terms = frozenset(written)
        else:
            self._compile_terms(written)
        allowed = [term for term in exceptions if term.strip()]
        if allowed:
            # An allowed phrase is matched as the list matches (regex lists allow by substring).
            mode: MatchMode = "substring" if match == "regex" else match
            self._allowed = TermList(f"{name}.except", allowed, match=mode, evasion=evasion)

    def _fold(self, term: str) -> str:
        # A term's own leetspeak 1 is an i ("4r5e", "g1c"); texts' stays either letter.
        # Read as a text is (spaced-out letters joined: the term "f.u.c.k" is "fuck").
        folded = view(term).text if self.evasion else fold(term, evasion=False)
        return folded.strip().replace(EITHER_I_OR_L, "i")

    def _compile_terms(self, written: list[str]) -> None:
        literal: list[str] = []
        folded_terms: set[str] = set()
        for term in written:
            wild = self.mode == "word"
            start_wild = wild and term.startswith("*")
            end_wild = wild and term.endswith("*") and len(term) > 1
            folded = self._fold(term.strip("*") if wild else term)
            if not folded:
                continue
            folded_terms.add(folded)
            words = tuple(part for part in _WORDS.findall(folded))
            phrase_like = self.mode == "word" and words and " ".join(words) == " ".join(folded.split())
            both_wild = start_wild and end_wild and len(words) == 1
            if phrase_like and not both_wild:
                self._index(_Phrase(term, words, start_wild, end_wild))
                if self.evasion and len(words) > 1:  # "freecoins" for "free coins"
                    self._index(_Phrase(term, ("".join(words),), start_wild, end_wild))
            else:
                # Substring mode, or a term with spaceless-script text or punctuation: a literal,
                # its runs of a letter as two (as the texts' are read).
                folded = collapse_term(folded) if self.evasion else folded
                self._literal_terms.setdefault(folded, term)
                edges = (
                    self.mode == "word" and not start_wild and _is_word_char(folded[0]),
                    self.mode == "word" and not end_wild and _is_word_char(folded[-1]),
                )
                self._literal_edges[folded] = edges
                literal.append(folded)
        self.terms = frozenset(folded_terms)
        self._wild = bool(self._suffixes or self._prefixes)
        if literal:
            self._literal = re.compile(_literal_trie(literal))

    def _index(self, phrase: _Phrase) -> None:
        first = phrase.words[0]
        if phrase.start_wild:
            bucket = self._suffixes.setdefault(len(first), {}).setdefault(first, [])
        elif phrase.end_wild and len(phrase.words) == 1:
            bucket = self._prefixes.setdefault(len(first), {}).setdefault(first, [])
        else:
            bucket = self._first.setdefault(first, [])
            if self.evasion:
                _add(self._loose_first.setdefault(_loose(first), []), phrase)
        _add(bucket, phrase)

    def _compile_regex(self, patterns: list[str]) -> None:
        if len(patterns) > MAX_REGEX_PATTERNS:
            raise TermsInvalid(f"{len(patterns)} patterns: a regex list holds at most {MAX_REGEX_PATTERNS}")
        parts = []
        for index, pattern in enumerate(patterns):
            if len(pattern) > MAX_REGEX_LENGTH:
                raise TermsInvalid(
                    f"pattern {pattern[:40]!r}...: {len(pattern)} characters, at most {MAX_REGEX_LENGTH}"
                )
            try:
                compiled = regex.compile(pattern, regex.IGNORECASE)
            except regex.error as error:
                raise TermsInvalid(f"pattern {pattern!r}: {error}") from None
            if compiled.groups and regex.search(r"\\[1-9]|\(\?P=|\\g<", pattern):
                raise TermsInvalid(f"pattern {pattern!r}: backreferences are not allowed")
            parts.append(f"(?P<p{index}>{pattern})")
            self._patterns.append(pattern)
        if parts:
            try:
                self._regex = regex.compile("|".join(parts), regex.IGNORECASE)
            except regex.error as error:  # e.g. two patterns naming a group alike
                raise TermsInvalid(f"patterns: {error}") from None

    # --- matching --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.terms)

    def __repr__(self) -> str:
        return f"TermList({self.name!r}, {len(self.terms)} terms, {self.mode})"

    @property
    def _empty(self) -> bool:
        return (
            self._regex is None
            and self._literal is None
            and not (self._first or self._suffixes or self._prefixes)
        )

    def matches(self, text: str) -> list[TermMatch]:
        """Every occurrence in ``text``, left to right, not overlapping, with its original span."""
        if self._empty or not text:
            return []
        last = self._last
        if last is not None and last[0] == text:
            return list(last[1])  # the engine scans a comment, then masks the same text
        found = self._matches(text)
        self._last = (text, found)
        return list(found)

    def _matches(self, text: str) -> list[TermMatch]:
        # Regex lists see invisibles, marks and look-alikes removed, never leetspeak nor joined
        # letters (a pattern may be about digits).
        seen = view(text, evasion=self.evasion, spelling=self.mode != "regex")
        if self.mode == "regex":
            spans = self._regex_spans(seen)
        else:
            spans = self._word_spans(seen)
            if self._literal is not None:
                for variant in _literal_variants(seen) if self.evasion else [seen]:
                    spans.extend(self._literal_spans(variant))
        if self._allowed is not None and spans:
            allowed = [(match.start, match.end) for match in self._allowed.matches(text)]
            spans = [span for span in spans if not any(a <= span[0] and span[1] <= b for a, b in allowed)]
        return [
            TermMatch(self.name, term, start, end, text[start:end]) for start, end, term in _disjoint(spans)
        ]

    def _regex_spans(self, seen: View) -> list[tuple[int, int, str]]:
        assert self._regex is not None
        timeout = REGEX_TIMEOUT
        deadline = _regex_deadline.get()
        if deadline is not None:
            timeout = min(timeout, deadline - time.monotonic())
            if timeout <= 0:
                logger.warning(
                    "term list %s: the decision's regex time is spent, counted as no match", self.name
                )
                return []
        try:
            found = list(self._regex.finditer(seen.text, timeout=timeout))
        except TimeoutError:
            logger.warning("term list %s: regex search timed out, counted as no match", self.name)
            return []
        return [
            (seen.starts[m.start()], seen.ends[m.end() - 1], self._patterns[int(str(m.lastgroup)[1:])])
            for m in found
            if m.end() > m.start()
        ]

    def _literal_spans(self, seen: View) -> list[tuple[int, int, str]]:
        """(original start, original end, term) of each literal term's match in one view."""
        assert self._literal is not None
        text = seen.text
        spans: list[tuple[int, int, str]] = []
        for m in self._literal.finditer(text):
            start, end = m.start(), m.end()
            if end <= start:
                continue
            before, after = self._literal_edges[m.group()]
            if before and start > 0 and _is_word_char(text[start - 1]):
                continue
            if after and end < len(text) and _is_word_char(text[end]):
                continue
            spans.append((seen.starts[start], seen.ends[end - 1], self._literal_terms[m.group()]))
        return spans

    def _word_spans(self, seen: View) -> list[tuple[int, int, str]]:
        """(original start, original end, term) of each phrase's match in the view."""
        text = seen.text
        spans: list[tuple[int, int, str]] = []
        if self._first or self._suffixes or self._prefixes:
            words = list((_ASCII_WORDS if text.isascii() else _WORDS).finditer(text))
            loose = self.evasion and _LOOSE_NEEDED.search(text) is not None
            index = 0
            while index < len(words):
                found = self._phrase_at(text, words, index, loose)
                if found is None:
                    index += 1
                    continue
                phrase, count = found
                first, last = words[index], words[index + count - 1]
                spans.append((seen.starts[first.start()], seen.ends[last.end() - 1], phrase.written))
                index += count
        return spans

    def _phrase_at(
        self, text: str, words: list[re.Match[str]], index: int, loose: bool
    ) -> tuple[_Phrase, int] | None:
        word = words[index].group()
        candidates = self._first.get(word, [])
        if loose and _LOOSE_NEEDED.search(word):
            candidates = [*candidates, *self._loose_first.get(_loose(word), ())]
        if self._wild:
            candidates = list(candidates)
            for length, bucket in self._suffixes.items():
                if len(word) >= length:
                    candidates.extend(bucket.get(word[-length:], ()))
            for length, bucket in self._prefixes.items():
                if len(word) >= length:
                    candidates.extend(bucket.get(word[:length], ()))
        if not candidates:
            return None
        for phrase in candidates:
            count = len(phrase.words)
            if index + count <= len(words) and self._follows(phrase, text, words, index):
                return phrase, count
        return None

    def _follows(self, phrase: _Phrase, text: str, words: list[re.Match[str]], index: int) -> bool:
        last = len(phrase.words) - 1
        for offset, expected in enumerate(phrase.words):
            word = words[index + offset].group()
            if (
                offset
                and not self.evasion
                and text[words[index + offset - 1].end() : words[index + offset].start()].strip()
            ):
                return False  # without evasion, the words of a phrase are separated by spaces only
            if offset == last and phrase.end_wild:
                if not word.startswith(expected):
                    return False
            elif offset == 0 and phrase.start_wild:
                if not word.endswith(expected):
                    return False
            elif word != expected and not (self.evasion and _compatible(word, expected)):
                return False
        return True

    def first(self, text: str) -> str | None:
        """The first term found in ``text`` (as written in the list), or None."""
        found = self.matches(text)
        return found[0].term if found else None

    def found(self, text: str) -> list[str]:
        """Every term occurrence in ``text`` (as written, left to right, not overlapping)."""
        return [match.term for match in self.matches(text)]

    def mask(self, text: str, char: str = "*") -> str:
        """``text`` with every original character of every match replaced by ``char``."""
        hidden: set[int] = set()
        for match in self.matches(text):
            hidden.update(range(match.start, match.end))
        if not hidden:
            return text
        return "".join(char if index in hidden else original for index, original in enumerate(text))


def _add(bucket: list[_Phrase], phrase: _Phrase) -> None:
    """A phrase into its index bucket (longest first); of two spelt alike, the plainer written one
    is kept ("shit" rather than "s_h_i_t", which reads the same)."""
    for index, other in enumerate(bucket):
        if other.words == phrase.words and (other.start_wild, other.end_wild) == (
            phrase.start_wild,
            phrase.end_wild,
        ):
            if len(phrase.written) < len(other.written):
                bucket[index] = phrase
            return
    bucket.append(phrase)
    bucket.sort(key=lambda item: len(item.words), reverse=True)


def _literal_variants(seen: View) -> list[View]:
    """The views literal terms are matched in: stretched runs read as two letters and as one, and
    leetspeak's ``ı`` as ``i`` and as ``l`` (one for one, so the origins stay)."""
    variants = []
    for variant in unstretched(seen):
        if EITHER_I_OR_L in variant.text:
            for letter in "il":
                variants.append(
                    View(variant.text.replace(EITHER_I_OR_L, letter), variant.starts, variant.ends)
                )
        else:
            variants.append(variant)
    return variants


def _disjoint(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The spans left to right, a span overlapping one kept before it (the longer at a place) dropped."""
    kept: list[tuple[int, int, str]] = []
    for span in sorted(spans, key=lambda item: (item[0], -item[1])):
        if kept and span[0] < kept[-1][1]:
            continue
        kept.append(span)
    return kept


def normalize(text: str) -> str:
    """The form terms are kept in without evasion (NFKC, case folded): kept for callers that compare."""
    return fold(text, evasion=False)
