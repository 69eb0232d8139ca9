"""Matching benchmarks: evasions caught, common words left alone, and speed, next to today's baseline
(substring matching after NFKC and case folding, no evasion) measured in the same run.

Corpora come from packages or are generated here; none is hand-picked to pass:
- terms: the default banned terms (``liveguard/rules/terms/banned.txt``) and better-profanity's
  public word list (916 entries);
- common words: wordfreq's top 50,000 words of en, es, pt, id, tr, de, fr and ru, less the words that
  are themselves terms.

1. Catch rate: each term, under each evasion family (and combinations of them), generated with a
   seeded random generator and embedded in a comment of common English words. Reported per family,
   baseline against word mode with evasion. Target: >= 95% caught overall.
2. False positives: each common word alone, and sentences of 6 to 14 of them, against the
   profanity list. Reported as hits per 10,000 words, per language, baseline (substring) against
   word mode without and with evasion, and what each evasion step costs. Target: <= 1 hit per
   10,000 words in word mode with evasion.
3. Speed: a 10,000-term list (the profanity list and generated words): compile time, the inline
   verdict's p50/p99 on live comments (10% holding an evasive term), and the engine's events/s on
   one core (bench/moderation.py's live mix, CPU time). Targets: p99 < 1 ms, >= 10,000 events/s.

Run with `make bench` (or `python bench/matching.py`; `--quick` for a smaller run).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import random
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ["en", "es", "pt", "id", "tr", "de", "fr", "ru"]
ADMIN = "administrator"

# --- corpora ----------------------------------------------------------------------------------------


def default_terms() -> list[str]:
    from liveguard.rules import loader

    path = Path(loader.__file__).with_name("terms") / "banned.txt"
    return [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip() and line[0] != "#"]


def profanity_terms() -> list[str]:
    import better_profanity

    path = Path(better_profanity.__file__).with_name("profanity_wordlist.txt")
    return [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]


def common_words(language: str, count: int) -> list[str]:
    import wordfreq

    return list(wordfreq.top_n_list(language, count))


# --- 1. evasion variants ------------------------------------------------------------------------------

INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
MARKS = ["\u0336", "\u0301", "\u0308", "\u0332", "\u0335"]
COMMON_LEET = {
    "a": ["4", "@"],
    "e": ["3"],
    "i": ["1", "!"],
    "o": ["0"],
    "s": ["5", "$"],
    "t": ["7"],
    "b": ["8"],
    "g": ["9"],
    "l": ["1", "|"],
}
"""Leetspeak as commonly written (note ``l`` as ``1``, which the matcher reads as ``i``)."""
SEPARATORS = [".", " ", "-", "_", "*", "  "]


def _look_alikes() -> dict[str, list[str]]:
    """Cyrillic and Greek letters that look like each Latin letter (UTS #39 confusables data): the
    look-alikes spoofers use."""
    from confusable_homoglyphs.confusables import confusables_data  # type: ignore[import-untyped]

    found: dict[str, list[str]] = {}
    for char, glyphs in confusables_data.items():
        script = unicodedata.name(char, "") if len(char) == 1 else ""
        if not char.isascii() and script.startswith(("CYRILLIC", "GREEK")):
            for glyph in glyphs:
                if glyph["c"].isascii() and glyph["c"].isalpha() and len(glyph["c"]) == 1:
                    found.setdefault(glyph["c"], []).append(char)
    return found


LOOK_ALIKES: dict[str, list[str]] = {}


def _letters(term: str) -> list[int]:
    return [index for index, char in enumerate(term) if char.isalpha()]


def case_width(term: str, rng: random.Random) -> str:
    out = []
    for char in term:
        char = char.upper() if rng.random() < 0.5 else char
        if char.isascii() and char.isalnum() and rng.random() < 0.3:
            char = chr(ord(char) + 0xFEE0)  # full width
        out.append(char)
    return "".join(out)


def zero_width(term: str, rng: random.Random) -> str:
    chars = list(term)
    for _ in range(rng.randint(1, 3)):
        chars.insert(rng.randint(1, max(1, len(chars) - 1)), rng.choice(INVISIBLES))
    return "".join(chars)


def marks(term: str, rng: random.Random) -> str:
    mark = rng.choice(MARKS)
    every = rng.random() < 0.5
    return "".join(char + mark if char.isalpha() and (every or rng.random() < 0.5) else char for char in term)


def _substituted(term: str, rng: random.Random, table: dict[str, list[str]]) -> str:
    """``term`` with one to three of its letters that ``table`` knows replaced by a stand-in."""
    chars = list(term)
    candidates = [i for i in _letters(term) if chars[i].lower() in table]
    for index in rng.sample(candidates, min(len(candidates), rng.randint(1, 3))):
        chars[index] = rng.choice(table[chars[index].lower()])
    return "".join(chars)


def look_alikes(term: str, rng: random.Random) -> str:
    return _substituted(term, rng, LOOK_ALIKES)


def leetspeak(term: str, rng: random.Random) -> str:
    return _substituted(term, rng, COMMON_LEET)


def separated(term: str, rng: random.Random) -> str:
    separator = rng.choice(SEPARATORS)
    return " ".join(separator.join(word) for word in term.split())


def stretched(term: str, rng: random.Random) -> str:
    chars = list(term)
    for index in sorted(rng.sample(_letters(term), min(2, len(_letters(term)))), reverse=True):
        chars[index] = chars[index] * rng.randint(3, 6)
    return "".join(chars)


FAMILIES: dict[str, Callable[[str, random.Random], str]] = {
    "case and width": case_width,
    "zero-width": zero_width,
    "combining marks": marks,
    "look-alikes": look_alikes,
    "leetspeak": leetspeak,
    "separators": separated,
    "stretched": stretched,
}
COMBINATIONS: dict[str, tuple[str, ...]] = {
    "leet + look-alikes": ("leetspeak", "look-alikes"),
    "zero-width + leet + case": ("leetspeak", "zero-width", "case and width"),
    "stretched + marks": ("stretched", "combining marks"),
    "look-alikes + separators": ("look-alikes", "separators"),
}


def variant(term: str, family: str, rng: random.Random) -> str | None:
    """The term under the family (or combination); None when it does not apply (the same text)."""
    steps = COMBINATIONS.get(family, (family,))
    text = term
    for step in steps:
        text = FAMILIES[step](text, rng)
    return None if text == term else text


def bench_catch(terms_sets: dict[str, list[str]], per_term: int, seed: int = 3) -> bool:
    from liveguard.rules.terms import TermList

    LOOK_ALIKES.update(_look_alikes())
    rng = random.Random(seed)
    context = [w for w in common_words("en", 2000) if w.isalpha() and len(w) > 2]
    families = [*FAMILIES, *COMBINATIONS]
    total_new = total = 0
    print("catch rate: variants embedded in comments, caught by substring baseline / word mode + evasion")
    for name, terms in terms_sets.items():
        baseline = TermList(name, terms, match="substring", evasion=False)
        new = TermList(name, terms, match="word", evasion=True)
        print(f"  {name} ({len(terms)} terms, {per_term} variant(s) of each per family)")
        for family in families:
            caught_base = caught_new = count = 0
            for term in terms:
                for _ in range(per_term):
                    text = variant(term, family, rng)
                    if text is None:
                        continue
                    before = " ".join(rng.sample(context, rng.randint(0, 5)))
                    after = " ".join(rng.sample(context, rng.randint(0, 5)))
                    comment = f"{before} {text} {after}".strip()
                    count += 1
                    caught_base += baseline.first(comment) is not None
                    caught_new += new.first(comment) is not None
            if count:
                total += count
                total_new += caught_new
                print(
                    f"    {family:<26} {count:>6} variants  baseline {caught_base / count:6.1%}"
                    f"  new {caught_new / count:6.1%}"
                )
    rate = total_new / total if total else 0.0
    print(f"  overall: {total} variants, new matching caught {rate:.1%}")
    print(f"  target >= 95% of evasion variants caught: {'met' if rate >= 0.95 else 'MISSED'}")
    return rate >= 0.95


# --- 2. false positives --------------------------------------------------------------------------------


@contextlib.contextmanager
def without(step: str) -> Iterator[None]:
    """One evasion step switched off (to measure what it costs)."""
    from liveguard.rules import normalise, terms

    saved: dict[str, object] = {}
    normalise._fold_unit.cache_clear()
    try:
        if step == "invisibles":
            saved["_INVISIBLE"] = normalise._INVISIBLE
            normalise._INVISIBLE = re.compile(r"(?!)")  # type: ignore[assignment]
        elif step == "marks":
            saved["_MARKS"] = normalise._MARKS
            normalise._MARKS = frozenset()  # type: ignore[assignment]
        elif step == "look-alikes":
            normalise._fold_unit.cache_clear()
            saved["_confusables"] = normalise._confusables
            normalise._confusables = lambda: {}  # type: ignore[assignment]
        elif step == "leetspeak":
            saved["_read_leetspeak"] = normalise._read_leetspeak
            normalise._read_leetspeak = lambda chars: None  # type: ignore[assignment]
        elif step == "joined letters":
            saved["_join_spaced_letters"] = normalise._join_spaced_letters
            normalise._join_spaced_letters = lambda text, starts, ends: None  # type: ignore[assignment]
        elif step == "stretched":
            # Words: a run of three or more no longer stands for one or two; literals: no collapse.
            saved["terms.unstretched"] = terms.unstretched
            terms.unstretched = lambda seen: [seen]  # type: ignore[attr-defined]
            saved["terms._LOOSE_NEEDED"] = terms._LOOSE_NEEDED
            terms._LOOSE_NEEDED = re.compile(normalise.EITHER_I_OR_L)  # type: ignore[attr-defined]
        yield
    finally:
        for name, value in saved.items():
            if name.startswith("terms."):
                setattr(terms, name.removeprefix("terms."), value)
            else:
                setattr(normalise, name, value)
        normalise._fold_unit.cache_clear()


def _hits(terms: object, texts: list[str]) -> int:
    return sum(len(terms.matches(text)) for text in texts)  # type: ignore[attr-defined]


def bench_false_positives(words_per_language: int, sentences: int, seed: int = 5) -> bool:
    from liveguard.rules.normalise import fold
    from liveguard.rules.terms import TermList

    profanity = profanity_terms()
    folded_terms = {fold(term, evasion=True) for term in profanity} | {
        fold(term, evasion=False) for term in profanity
    }
    configs: dict[str, Callable[[], TermList]] = {
        "substring": lambda: TermList("p", profanity, match="substring", evasion=False),
        "word": lambda: TermList("p", profanity, match="word", evasion=False),
        "word+evasion": lambda: TermList("p", profanity, match="word", evasion=True),
    }
    rng = random.Random(seed)
    print(
        f"false positives: better-profanity's list ({len(profanity)} terms) against wordfreq's top"
        f" {words_per_language:,} words per language (less the terms), alone and in {sentences:,}"
        " sentences per language; hits per 10,000 words"
    )
    print(f"  {'':<6} {'words':>7} " + " ".join(f"{name:>13}" for name in configs) + "   (sentences)")
    totals = dict.fromkeys(configs, 0)
    sentence_totals = dict.fromkeys(configs, 0)
    word_total = sentence_words_total = 0
    corpora: dict[str, tuple[list[str], list[str]]] = {}
    compiled = {name: make() for name, make in configs.items()}
    examples: list[str] = []
    for language in LANGUAGES:
        words = [
            word
            for word in common_words(language, words_per_language)
            if fold(word, evasion=True) not in folded_terms and fold(word, evasion=False) not in folded_terms
        ]
        built = [" ".join(rng.choices(words[:5000], k=rng.randint(6, 14))) for _ in range(sentences)]
        corpora[language] = (words, built)
        sentence_words = sum(len(sentence.split()) for sentence in built)
        word_total += len(words)
        sentence_words_total += sentence_words
        row, sentence_row = [], []
        for name, terms in compiled.items():
            hits = _hits(terms, words)
            in_sentences = _hits(terms, built)
            totals[name] += hits
            sentence_totals[name] += in_sentences
            row.append(f"{hits / len(words) * 10_000:13.2f}")
            sentence_row.append(f"{in_sentences / sentence_words * 10_000:.2f}")
            if name == "word+evasion" and len(examples) < 12:
                examples.extend(
                    f"{language}:{word}->{terms.first(word)}" for word in words if terms.first(word)
                )
        print(f"  {language:<6} {len(words):>7} " + " ".join(row) + "   (" + ", ".join(sentence_row) + ")")
    overall = {name: totals[name] / word_total * 10_000 for name in configs}
    in_sentences = {name: sentence_totals[name] / sentence_words_total * 10_000 for name in configs}
    print(
        f"  {'all':<6} {word_total:>7} "
        + " ".join(f"{overall[name]:13.2f}" for name in configs)
        + "   ("
        + ", ".join(f"{in_sentences[name]:.2f}" for name in configs)
        + ")"
    )
    if examples:
        print(f"  word+evasion hits, e.g.: {', '.join(examples[:12])}")
    # What each evasion step costs: word+evasion's hits with the step off, less with it on.
    costs = []
    for step in ["invisibles", "marks", "look-alikes", "leetspeak", "joined letters", "stretched"]:
        with without(step):
            terms = configs["word+evasion"]()
            hits = sum(_hits(terms, words) for words, _ in corpora.values())
        costs.append(f"{step} {(totals['word+evasion'] - hits) / word_total * 10_000:+.2f}")
    print(f"  cost of each evasion step (hits per 10,000 words it adds): {', '.join(costs)}")
    worst = max(overall["word+evasion"], in_sentences["word+evasion"])
    ok = worst <= 1.0
    print(f"  target <= 1 false hit per 10,000 common words in word mode: {'met' if ok else 'MISSED'}")
    return ok


# --- 3. speed ---------------------------------------------------------------------------------------------


def _moderation_bench() -> object:
    spec = importlib.util.spec_from_file_location("bench_moderation", ROOT / "bench" / "moderation.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ten_thousand_terms(seed: int = 9) -> list[str]:
    rng = random.Random(seed)
    terms = dict.fromkeys([*default_terms(), *profanity_terms()])
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    while len(terms) < 10_000:
        words = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(5, 10)))
            for _ in range(rng.choice([1, 1, 2]))
        ]
        terms[" ".join(words)] = None
    return list(terms)


def bench_speed(comments: int, events: int, rounds: int) -> bool:
    from liveguard.rules.engine import InlineRules, evaluate
    from liveguard.rules.loader import load_rules
    from liveguard.rules.terms import TermList
    from liveguard.webhooks.models import parse_callback

    moderation = _moderation_bench()
    terms = ten_thousand_terms()
    started = time.perf_counter()
    TermList("banned", terms)
    compile_s = time.perf_counter() - started
    started = time.perf_counter()
    TermList("banned", terms, match="substring", evasion=False)
    baseline_compile_s = time.perf_counter() - started
    with moderation.default_rules_with_terms(terms) as path:  # type: ignore[attr-defined]
        rules = load_rules(path)
    print(f"speed: {len(terms):,} terms, evasion on ({rules.summary()})")
    print(
        f"  compile once per cold start: {compile_s * 1000:.0f} ms"
        f" (baseline {baseline_compile_s * 1000:.0f} ms)"
    )

    rng = random.Random(13)
    LOOK_ALIKES.update(_look_alikes())
    context = [w for w in common_words("en", 5000) if w.isalpha()]
    families = [*FAMILIES, *COMBINATIONS]
    texts = []
    for _ in range(comments):
        words = rng.sample(context, rng.randint(3, 20))
        if rng.random() < 0.1:
            hidden = variant(rng.choice(terms[:900]), rng.choice(families), rng) or ""
            words.insert(rng.randint(0, len(words)), hidden)
        texts.append(" ".join(words))
    inline = InlineRules(rules, admin=ADMIN)
    bodies = [
        parse_callback(
            "Group.CallbackBeforeSendMsg",
            {
                **moderation.engine_events(1, terms)[0][1],  # type: ignore[attr-defined]
                "CallbackCommand": "Group.CallbackBeforeSendMsg",
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
            },
        )
        for text in texts
    ]
    for body in bodies[:200]:
        inline.verdict(body)  # warm up
    latencies = []
    masked = 0
    for body in bodies:
        begun = time.perf_counter()
        verdict = inline.verdict(body)
        latencies.append(time.perf_counter() - begun)
        masked += verdict is not None
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[int(len(latencies) * 0.99)]
    print(
        f"  inline verdict on {len(bodies):,} comments ({masked} masked): p50 {p50 * 1e6:.0f} us,"
        f" p99 {p99 * 1e6:.0f} us, max {latencies[-1] * 1e6:.0f} us"
    )

    raw = moderation.engine_events(events, terms)  # type: ignore[attr-defined]
    parsed = [parse_callback(command, body) for command, body in raw]
    ids = [hashlib.sha256(str(index).encode()).hexdigest() for index in range(len(raw))]
    state = moderation.BenchState()  # type: ignore[attr-defined]
    now = time.time()
    runs = []
    for _ in range(rounds):
        begun = time.process_time()
        for event, event_id in zip(parsed, ids, strict=True):
            evaluate(event, state, rules, now=now, admin=ADMIN, event_id=event_id)
        runs.append(time.process_time() - begun)
    rate = len(parsed) / statistics.median(runs)
    print(
        f"  engine evaluate, bench/moderation.py's live mix: {rate:,.0f} events/s"
        f" (CPU time, median of {rounds})"
    )
    ok_p99 = p99 < 0.001
    ok_rate = rate >= 10_000
    print(f"  target verdict p99 < 1 ms with 10,000 terms: {'met' if ok_p99 else 'MISSED'}")
    print(f"  target engine >= 10,000 events/s on one core: {'met' if ok_rate else 'MISSED'}")
    return ok_p99 and ok_rate


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller corpora (a smoke run)")
    parser.add_argument("--only", choices=["catch", "false-positives", "speed"])
    args = parser.parse_args()
    quick = args.quick
    results = []
    if args.only in (None, "catch"):
        sets = {"default terms": default_terms(), "better-profanity": profanity_terms()}
        results.append(bench_catch(sets, per_term=1 if quick else 3))
    if args.only in (None, "false-positives"):
        results.append(bench_false_positives(5_000 if quick else 50_000, 200 if quick else 2_000))
    if args.only in (None, "speed"):
        sizes = (2_000, 5_000, 3) if quick else (20_000, 20_000, 5)
        results.append(bench_speed(*sizes))
    print("PASS" if all(results) else "FAIL: a target was missed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
