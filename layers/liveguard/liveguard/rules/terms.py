"""Named term lists: case- and width-insensitive substring matching, fast for thousands of terms.

Text and terms are compared after NFKC normalisation and case folding, so full-width "FREE", "Free" and
"free" are one term. Matching is by substring (live comments mix scripts that have no word
boundaries). The terms compile once into a single regular expression shaped as a trie, so a
comment is scanned once however many terms there are, instead of once per term.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    return unicodedata.normalize("NFKC", char).casefold()


def normalize(text: str) -> str:
    """The form terms and text are compared in."""
    return unicodedata.normalize("NFKC", text).casefold()


def _folded_with_origins(text: str) -> tuple[str, list[int]]:
    """The text folded character by character, and for each folded character the index of the
    original character it came from (so a match can be masked in the original text)."""
    folded: list[str] = []
    origins: list[int] = []
    for index, char in enumerate(text):
        piece = _fold_char(char)
        folded.append(piece)
        origins.extend([index] * len(piece))
    return "".join(folded), origins


def _trie_pattern(terms: Iterable[str]) -> str:
    trie: dict[str, dict] = {}  # type: ignore[type-arg]  # recursive
    for term in terms:
        node = trie
        for char in term:
            node = node.setdefault(char, {})
        node[""] = {}  # end of a term

    def pattern(node: dict) -> str:  # type: ignore[type-arg]
        ends = "" in node
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # A shorter term ending here makes the longer continuation optional (tried first: greedy).
        return "(?:" + body + ")?" if ends else body

    return pattern(trie)


class TermList:
    """A named, compiled list of terms."""

    def __init__(self, name: str, terms: Iterable[str]) -> None:
        self.name = name
        self.terms = frozenset(folded for term in terms if (folded := normalize(term).strip()))
        self._regex = re.compile(_trie_pattern(self.terms)) if self.terms else None

    def __len__(self) -> int:
        return len(self.terms)

    def __repr__(self) -> str:
        return f"TermList({self.name!r}, {len(self.terms)} terms)"

    def first(self, text: str) -> str | None:
        """The first term found in ``text`` (folded), or None."""
        if self._regex is None:
            return None
        found = self._regex.search(normalize(text))
        return found.group(0) if found else None

    def found(self, text: str) -> list[str]:
        """Every term occurrence in ``text`` (folded, left to right, not overlapping)."""
        if self._regex is None:
            return []
        return [match.group(0) for match in self._regex.finditer(normalize(text))]

    def mask(self, text: str, char: str = "*") -> str:
        """``text`` with every character of every term occurrence replaced by ``char``."""
        if self._regex is None:
            return text
        folded, origins = _folded_with_origins(text)
        hidden: set[int] = set()
        for match in self._regex.finditer(folded):
            hidden.update(origins[match.start() : match.end()])
        if not hidden and self.first(text) is not None:
            # Only composing the whole text reveals the term (combining marks): its place in the
            # original is unknown, so hide all of it rather than let it through.
            return char * len(text)
        return "".join(char if index in hidden else original for index, original in enumerate(text))
