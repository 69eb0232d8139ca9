"""Shadow mode's cost: the default rules alone, next to the default rules plus a shadow copy of each
(the same rules, renamed, ``mode: shadow``), on the same comments.

1. Ingress: the inline verdict of a comment (``InlineRules.verdict``, no state): shadow rules are not
   evaluated there, so the two should be the same.
2. Moderator: ``evaluate`` on the same comments (in-memory state): every shadow rule is evaluated
   like a live one, so the copy should cost about as much as the rules it copies.

Run with ``python bench/shadow.py`` (``--events N``). CPU time on one core; the median of 6 interleaved runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from liveguard.memory import MemoryState
from liveguard.rules.compiled import RuleSet
from liveguard.rules.engine import InlineRules, evaluate
from liveguard.rules.loader import DEFAULT_RULES, _read_yaml, parse_rules
from liveguard.webhooks.models import parse_callback
from liveguard_local.events import CALLBACK_BODIES

NOW = 1_800_000_000.0
RUNS = 6
TEXTS = ["nice move!", "hello from Lisbon", "free coins here", "gg", "who is winning?", "buy followers now"]


def with_shadow_copies() -> RuleSet:
    # The loader's own YAML reading (a bare ``on:`` is a key, not YAML 1.1's true).
    document: Any = _read_yaml(Path(DEFAULT_RULES).read_text(encoding="utf-8"), str(DEFAULT_RULES))
    shadows = []
    for rule in document["rules"]:
        shadow = copy.deepcopy(rule)
        shadow["name"] = f"{rule['name']}-shadow"
        shadow["mode"] = "shadow"
        shadows.append(shadow)
    document["rules"] += shadows
    return parse_rules(json.dumps(document), base_dir=Path(DEFAULT_RULES).parent)


def comments(count: int) -> list[Any]:
    events = []
    for n in range(count):
        body = copy.deepcopy(CALLBACK_BODIES["Group.CallbackBeforeSendMsg"])
        body.update(
            From_Account=f"viewer-{n % 50}",
            Operator_Account=f"viewer-{n % 50}",
            MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": TEXTS[n % len(TEXTS)]}}],
        )
        events.append(parse_callback("Group.CallbackBeforeSendMsg", body))
    return events


def per_event_us(run: Callable[[Any], object], events: list[Any]) -> float:
    started = time.process_time()
    for event in events:
        run(event)
    return (time.process_time() - started) / len(events) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    args = parser.parse_args()
    events = comments(args.events)
    plain = parse_rules(Path(DEFAULT_RULES).read_text(encoding="utf-8"), base_dir=Path(DEFAULT_RULES).parent)
    shadowed = with_shadow_copies()
    print(f"{args.events} comments; {shadowed.summary()}")
    configs = {"defaults": plain, "defaults + shadow copies": shadowed}
    timings: dict[tuple[str, str], list[float]] = {}
    # Interleaved, in turn first and second, so the machine's drift and warm-up fall on both alike.
    for round_ in range(RUNS):
        for name in list(configs)[:: 1 if round_ % 2 else -1]:
            rules = configs[name]
            inline = InlineRules(rules, admin="administrator")
            state = MemoryState()

            def moderate(event: Any, rules: RuleSet = rules, state: MemoryState = state) -> object:
                return evaluate(event, state, rules, now=NOW, admin="administrator", event_id="e" * 64)

            timings.setdefault((name, "ingress"), []).append(per_event_us(inline.verdict, events))
            timings.setdefault((name, "moderator"), []).append(per_event_us(moderate, events))
    for name in configs:
        ingress = statistics.median(timings[(name, "ingress")])
        moderator = statistics.median(timings[(name, "moderator")])
        print(
            f"  {name:26s} ingress verdict {ingress:6.1f} us/comment"
            f"   moderator evaluate {moderator:6.1f} us/comment"
        )


if __name__ == "__main__":
    main()
