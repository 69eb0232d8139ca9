"""What term lists compare: text normalised step by step, each character of the result knowing which
original characters it came from (so a match is masked in the original text).

Always (``evasion`` or not):

1. **Fold**: each character with the combining marks that follow it, NFKC-normalised and case
   folded (``ＦＲＥＥ`` and ``Free`` are ``free``; ``cafe`` + U+0301 is ``café``). Turkish dotted
   ``İ`` and dotless ``ı`` fold to ``i`` as ``I`` does (users type any of them for ``i``).

With ``evasion`` (the default), in this order:

2. **Invisibles**: format characters (Unicode category Cf: zero-width space and joiners, soft hyphen,
   bidi controls, ...) and the other default-ignorable code points (Hangul fillers, variation
   selectors) are dropped.
3. **Marks**: combining marks (categories Mn, Me) are stripped: ``f̶r̶e̶e̶`` and ``frée`` read ``free``.
4. **Confusables**: a character that Unicode's confusables data (UTS #39, from the
   ``confusable-homoglyphs`` package) lists as a look-alike of one ASCII letter reads as that letter:
   Cyrillic ``е`` or Greek ``ο`` in ``frее`` read ``free``. Only characters with a single ASCII letter
   look-alike are mapped (1,357 of them).

With ``evasion`` and ``spelling`` (term lists; not regex lists, whose patterns may be about digits):

5. **Leetspeak**: in a word that has letters, digits and symbols read as the letters they stand for
   (``LEET`` below: no standard table exists, so this one is small and ours). Numbers alone stay
   numbers; ``!``, ``|`` and ``+`` only with a letter after them in the word (``free!`` keeps its ``!``).
6. **Spaced-out letters**: three or more single letters in a row, separated by the same separator
   (``f.r.e.e``, ``f r e e``, ``c-o-i-n-s``), are joined into one word; words of two letters or more
   are never joined, so no match is made across a real word boundary.

Stretched letters (``freeeee``) are read by the term's pattern, not here (``liveguard.rules.terms``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import regex  # type: ignore[import-untyped]  # (no types-regex in the pinned dev set)

LEET: dict[str, str] = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "€": "e",
    "!": "i",
    "|": "l",
    "+": "t",
}
"""Leetspeak: what a digit or symbol inside a word stands for. ``1`` reads ``i`` (``c01ns``), ``|``
reads ``l``."""
_LEET_INSIDE = frozenset("!|+")
"""Symbols read as letters only when a letter follows (so ending punctuation stays punctuation)."""

_TURKISH = {"İ": "i", "ı": "i", "i̇": "i"}
_LEET_CHARS = regex.compile("[" + regex.escape("".join(LEET)) + "]")
_INVISIBLE = regex.compile(r"[\p{Cf}\p{Default_Ignorable_Code_Point}]")
_TOKEN = regex.compile(r"[\p{L}\p{N}@$€!|+]+")
_SPACED = regex.compile(
    r"(?<![\p{L}\p{N}])\p{L}(?P<sep>[^\p{L}\p{N}]{1,3})\p{L}(?:(?P=sep)\p{L})+(?![\p{L}\p{N}])"
)


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """Each non-ASCII character whose only ASCII look-alike (UTS #39) is one letter: that letter."""
    from confusable_homoglyphs.confusables import confusables_data  # type: ignore[import-untyped]

    mapping: dict[str, str] = {}
    for char, glyphs in confusables_data.items():
        if char.isascii():
            continue
        letters = {
            glyph["c"].casefold()
            for glyph in glyphs
            if glyph["c"].isascii() and glyph["c"].isalpha() and len(glyph["c"]) == 1
        }
        if len(letters) == 1:
            mapping[char] = letters.pop()
    return mapping


@lru_cache(maxsize=65536)
def _fold_unit(unit: str, evasion: bool) -> str:
    """One character and its combining marks, folded (and with evasion: steps 2 to 4)."""
    folded = unicodedata.normalize("NFKC", unit).casefold()
    for turkish, plain in _TURKISH.items():
        folded = folded.replace(turkish, plain)
    if not evasion:
        return folded
    if _INVISIBLE.search(folded):
        folded = _INVISIBLE.sub("", folded)
    decomposed = unicodedata.normalize("NFD", folded)
    stripped = "".join(char for char in decomposed if unicodedata.category(char) not in ("Mn", "Me"))
    if stripped != decomposed:
        folded = unicodedata.normalize("NFC", stripped)
    confusables = _confusables()
    return "".join(confusables.get(char, char) for char in folded)


def _units(text: str) -> list[tuple[int, int]]:
    """(start, end) of each character with the combining marks that follow it."""
    units: list[tuple[int, int]] = []
    for index, char in enumerate(text):
        if units and unicodedata.combining(char) and units[-1][1] == index:
            units[-1] = (units[-1][0], index + 1)
        else:
            units.append((index, index + 1))
    return units


@dataclass(frozen=True, slots=True)
class View:
    """Text as term lists compare it: ``text``, and for its character ``i`` the original characters
    ``starts[i]:ends[i]`` it came from."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]


def view(text: str, *, evasion: bool = True, spelling: bool = True) -> View:
    """``text`` normalised (the steps above), with where each character came from."""
    if text.isascii():
        # Nothing to fold but case, nothing invisible, no marks, no look-alikes: one for one.
        folded = text.lower()
        if not (evasion and spelling):
            return View(folded, range(len(text)), range(1, len(text) + 1))
        letters = list(folded)
        _read_leetspeak(letters)
        folded = "".join(letters)
        identity = View(folded, range(len(text)), range(1, len(text) + 1))
        return _join_spaced_letters(folded, identity.starts, identity.ends) or identity
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end in _units(text):
        for char in _fold_unit(text[start:end], evasion):
            chars.append(char)
            starts.append(start)
            ends.append(end)
    if evasion and spelling:
        _read_leetspeak(chars)
        folded = "".join(chars)
        joined = _join_spaced_letters(folded, starts, ends)
        if joined is not None:
            return joined
        return View(folded, starts, ends)
    return View("".join(chars), starts, ends)


def fold(text: str, *, evasion: bool = True) -> str:
    """The normalised form of a term (steps 1 to 5; a term's own spaces are kept)."""
    chars = [char for start, end in _units(text) for char in _fold_unit(text[start:end], evasion)]
    if evasion:
        _read_leetspeak(chars)
    return "".join(chars)


def _read_leetspeak(chars: list[str]) -> None:
    """Step 5, in place (one character for one: the origins stay)."""
    text = "".join(chars)
    if text.isalpha() or not _LEET_CHARS.search(text):
        return
    for token in _TOKEN.finditer(text):
        word = token.group()
        if word.isalpha() or not any(char.isalpha() for char in word):
            continue
        offset = token.start()
        for index, char in enumerate(word):
            letter = LEET.get(char)
            if letter is None:
                continue
            if char in _LEET_INSIDE and not any(later.isalpha() for later in word[index + 1 :]):
                continue  # ending punctuation: "coins!!" keeps its marks
            chars[offset + index] = letter


def _join_spaced_letters(text: str, starts: Sequence[int], ends: Sequence[int]) -> View | None:
    """Step 6: the separators inside runs of single letters dropped (their original characters fall
    inside any match that covers the letters around them)."""
    runs = list(_SPACED.finditer(text))
    if not runs:
        return None
    drop: set[int] = set()
    for run in runs:
        sep = len(run.group("sep"))
        index = run.start() + 1
        while index < run.end():
            drop.update(range(index, index + sep))
            index += sep + 1
    kept = [index for index in range(len(text)) if index not in drop]
    return View("".join(text[i] for i in kept), [starts[i] for i in kept], [ends[i] for i in kept])


_STRETCHED = regex.compile(r"(\p{L})\1\1+")


def unstretched(seen: View) -> list[View]:
    """Stretched letters (three or more in a row): the view with each such run read as two letters
    (``freeeee`` is ``free``) and, when there is one, as one letter (``fuuuuck``); the letters kept
    stand for the whole run (masking covers it). Runs of two stay: ``good`` is not ``god``."""
    runs = list(_STRETCHED.finditer(seen.text))
    if not runs:
        return [seen]
    return [_collapse(seen, runs, 2), _collapse(seen, runs, 1)]


def _collapse(seen: View, runs: list[regex.Match[str]], keep: int) -> View:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for run in runs:
        for index in range(position, run.start()):
            chars.append(seen.text[index])
            starts.append(seen.starts[index])
            ends.append(seen.ends[index])
        for offset in range(keep):
            index = run.start() + offset
            chars.append(seen.text[index])
            starts.append(seen.starts[index])
            ends.append(seen.ends[run.end() - 1] if offset == keep - 1 else seen.ends[index])
        position = run.end()
    for index in range(position, len(seen.text)):
        chars.append(seen.text[index])
        starts.append(seen.starts[index])
        ends.append(seen.ends[index])
    return View("".join(chars), starts, ends)


def collapse_term(folded: str) -> str:
    """A term's own runs of three or more letters as two (as the text's are read)."""
    collapsed: str = _STRETCHED.sub(lambda run: run.group(1) * 2, folded)
    return collapsed
