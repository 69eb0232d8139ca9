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
   Cyrillic ``е`` or Greek ``ο`` in ``frее`` read ``free``. Only characters with one ASCII letter
   look-alike (in their own case when there are several) are mapped (1,225 of them), before
   NFKC where NFKC would make them another non-ASCII letter (lunate sigma ``ϲ`` is ``c``).

With ``evasion`` and ``spelling`` (term lists; not regex lists, whose patterns may be about digits):

5. **Leetspeak**: in a word that has letters, digits and symbols read as the letters they stand for
   (``LEET`` below: no standard table exists, so this one is small and ours). Numbers alone stay
   numbers; ``!`` and ``+`` only with a letter after them in the word (``free!`` keeps its ``!``).
6. **Spaced-out letters** (before leetspeak, so ``4-r-5-e`` is one word): single letters or
   leetspeak characters with the same separator between each, three or more apart by whitespace
   (``f r e e``), two or more apart by a mark with or without whitespace around it (``f.r.e.e``,
   ``c-o-i-n-s``, ``m.y``), are joined into one word; words of two letters or more are never
   joined, so no match is made across a real word boundary.

Stretched letters (``freeeee``) are read by the term's pattern, not here (``liveguard.rules.terms``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import regex  # type: ignore[import-untyped]  # (no types-regex in the pinned dev set)

LEET: dict[str, str] = {
    "0": "o",
    "1": "ı",
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
    "|": "ı",
    "+": "t",
}
"""Leetspeak: what a digit or symbol inside a word stands for. ``1`` and ``|`` stand for ``i`` or
``l`` (``c01ns``, ``1ick``): they read as ``ı`` (dotless i, which folding never leaves in a text),
which term lists match against either letter."""
EITHER_I_OR_L = "ı"
_LEET_INSIDE = frozenset("!+")
"""Symbols read as letters only when a letter (or a leetspeak digit) follows in the word (so ending
punctuation stays punctuation)."""

_TURKISH = {"İ": "i", "ı": "i", "i̇": "i"}
_LEET_CHARS = re.compile("[" + re.escape("".join(LEET)) + "]")
_MARKS = frozenset({"Mn", "Me"})
"""The combining marks step 3 strips (Unicode general categories)."""
_INVISIBLE = regex.compile(r"[\p{Cf}\p{Default_Ignorable_Code_Point}]")
_TOKEN = re.compile(r"(?:[^\W_]|[@$€!|+])+")
_UNIT = r"(?:[^\W_]|[$@€!|+])"
_MARK = r"[^\w\s$@€!|+]|_"
_SPACED = re.compile(
    rf"(?<!{_UNIT}){_UNIT}"
    rf"(?:(?P<sep>\s{{1,3}}|(?:{_MARK})|\s?(?:{_MARK})\s?|\s\s?(?:{_MARK})\s\s?)"
    rf"{_UNIT}(?:(?P=sep){_UNIT})*)(?!{_UNIT})"
)
"""Single letters (or leetspeak characters) with the same separator between each: whitespace, or
one mark with optional whitespace around it."""


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """Each non-ASCII character that Unicode's confusables data (UTS #39) gives one ASCII letter
    look-alike (in the character's own case when it gives several: Greek capital iota is ``I``, not
    ``l``): that letter, lower case. Looked up before and after case folding (Cyrillic ``К`` looks
    like ``K``, its small ``к`` like no ASCII letter)."""
    # The package's data file, read directly: its modules import urllib and a second table (~150 ms
    # of cold start) that this does not need.
    data = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    confusables_data: dict[str, list[dict[str, str]]] = json.loads(data)
    mapping: dict[str, str] = {}
    for char, glyphs in confusables_data.items():
        if char.isascii() or len(char) != 1:
            continue
        letters = {glyph["c"] for glyph in glyphs if glyph["c"].isascii() and glyph["c"].isalpha()}
        letters = {letter for letter in letters if len(letter) == 1}
        if len({letter.lower() for letter in letters}) > 1:
            same_case = {letter for letter in letters if letter.isupper() == char.isupper()}
            letters = same_case
        if len({letter.lower() for letter in letters}) == 1:
            mapping[char] = letters.pop().lower()
    return mapping


@lru_cache(maxsize=65536)
def _fold_unit(unit: str, evasion: bool) -> str:
    """One character and its combining marks, folded (and with evasion: steps 2 to 4)."""
    if evasion:
        # Look-alikes first where NFKC would turn one into another non-ASCII letter (lunate sigma
        # into final sigma); after it where NFKC gives ASCII (full-width I is I, not l).
        confusables = _confusables()
        unit = "".join(
            char if unicodedata.normalize("NFKC", char).isascii() else confusables.get(char, char)
            for char in unit
        )
    folded = unicodedata.normalize("NFKC", unit)
    if evasion:
        folded = "".join(confusables.get(char, char) for char in folded)
    folded = folded.casefold()
    for turkish, plain in _TURKISH.items():
        folded = folded.replace(turkish, plain)
    if not evasion:
        return folded
    if _INVISIBLE.search(folded):
        folded = _INVISIBLE.sub("", folded)
    decomposed = unicodedata.normalize("NFD", folded)
    stripped = "".join(char for char in decomposed if unicodedata.category(char) not in _MARKS)
    if stripped != decomposed:
        folded = unicodedata.normalize("NFC", stripped)
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
        seen = View(text.lower(), range(len(text)), range(1, len(text) + 1))
    else:
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        for start, end in _units(text):
            for char in _fold_unit(text[start:end], evasion):
                chars.append(char)
                starts.append(start)
                ends.append(end)
        seen = View("".join(chars), starts, ends)
    if not (evasion and spelling):
        return seen
    # Spaced-out letters first, so that "4-r-5-e" is one word for leetspeak to read.
    seen = _join_spaced_letters(seen.text, seen.starts, seen.ends) or seen
    if not _LEET_CHARS.search(seen.text):
        return seen
    letters = list(seen.text)
    _read_leetspeak(letters)
    return View("".join(letters), seen.starts, seen.ends)


def fold(text: str, *, evasion: bool = True) -> str:
    """The normalised form of a term (steps 1 to 5; a term's own spaces are kept)."""
    if text.isascii():
        letters = list(text.lower())
        if evasion:
            _read_leetspeak(letters)
        return "".join(letters)
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
            if char in _LEET_INSIDE and not any(
                later.isalpha() or (later.isdigit() and later in LEET) for later in word[index + 1 :]
            ):
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
        if not run.group("sep").strip() and (len(run.group()) + sep) // (sep + 1) < 3:
            continue  # two letters apart are two words ("a b"); three or more spaced ones are one
        index = run.start() + 1
        while index < run.end():
            drop.update(range(index, index + sep))
            index += sep + 1
    if not drop:
        return None
    kept = [index for index in range(len(text)) if index not in drop]
    return View("".join(text[i] for i in kept), [starts[i] for i in kept], [ends[i] for i in kept])


_STRETCHED = re.compile(r"([^\W\d_])\1\1+")


def unstretched(seen: View) -> list[View]:
    """Stretched letters (three or more in a row): the view with each such run read as two letters
    (``freeeee`` is ``free``) and, when there is one, as one letter (``fuuuuck``); the letters kept
    stand for the whole run (masking covers it). Runs of two stay: ``good`` is not ``god``."""
    runs = list(_STRETCHED.finditer(seen.text))
    if not runs:
        return [seen]
    return [_collapse(seen, runs, 2), _collapse(seen, runs, 1)]


def _collapse(seen: View, runs: list[re.Match[str]], keep: int) -> View:
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
