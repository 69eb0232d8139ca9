"""The compiled rules: what the loader makes of a rules file and the engine runs on.

Everything here is decided before the first event: conditions as precompiled values (term lists,
room globs as one regex, frozensets), actions with their params as templates, the rules indexed by
the CallbackCommand they listen to. The types are values (RuleSet adds its index, what the rules
can act on, and a summary line): the loader builds them (``liveguard.rules.loader``), the engine
reads them (``liveguard.rules.engine``), the ingress asks them what to queue (``RuleSet.acts_on``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from liveguard.counters import CounterPlan, Kind
from liveguard.rules.model import (
    METADATA_EVENTS,
    RaidCondition,
    RateCondition,
    RepeatCondition,
    SanctionSpec,
    StrikeThreshold,
    VerdictSpec,
    ViolationThreshold,
)
from liveguard.rules.template import Template
from liveguard.rules.terms import TermList
from liveguard.rules.variables import VARIABLES

APPROVAL_ECHOES: frozenset[str] = METADATA_EVENTS
"""The admin echoes the moderator turns into approved metadata values
(``liveguard.rules.engine.snapshots_from_admin``: the admin's own SetMetadata and DelMetadata)."""


@dataclass(frozen=True, slots=True)
class CompiledAction:
    command: str
    params: Template
    unless_empty: str | None
    delay_seconds: int


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to run: conditions precompiled, cheapest first in the engine."""

    name: str
    commands: frozenset[str]
    actor: str
    rooms: re.Pattern[str] | None
    not_rooms: re.Pattern[str] | None
    terms: tuple[TermList, ...]
    fields: frozenset[str] | None
    key_prefixes: tuple[str, ...]
    key_names: frozenset[str]
    labels: frozenset[str] | None
    sanctioned: frozenset[str] | None
    coins_over: int | None
    strikes: StrikeThreshold | None
    violations: ViolationThreshold | None
    verdict: VerdictSpec | None
    actions: tuple[CompiledAction, ...]
    strike: bool
    violation: str | None
    sanction: SanctionSpec | None
    snapshot: bool
    variables: frozenset[str]
    """Every variable the actions use (the engine computes only these)."""
    counted: tuple[tuple[Kind, RateCondition | RepeatCondition | RaidCondition], ...] = ()
    """The rule's rate, repeat and raid conditions, each with the counter it reads
    (``user``/``room`` for a rate, ``repeat``, ``raid``): ``liveguard.counters``."""
    strike_count: int = 1
    """With ``strike``: how many strikes its event counts when this rule fires (``strike: {count: N}``).
    An event counts the largest of its fired rules' counts, not their sum (the engine)."""
    shadow: bool = False
    """``mode: shadow``: what it would do is reported (``Decision.shadow``), never done; the ingress
    does not evaluate it, and live rules never see its would-have strikes and violations."""

    @property
    def filters_keys(self) -> bool:
        return bool(self.key_prefixes or self.key_names)

    @property
    def reads_approved_values(self) -> bool:
        """Whether its actions use a variable read from the admin-approved metadata values."""
        return any(VARIABLES[name].reads_approved for name in self.variables)


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules: the enabled ones by CallbackCommand, in file order; and what they can act
    on, which is all the ingress queues (``acts_on``)."""

    rules: tuple[CompiledRule, ...]
    terms: Mapping[str, TermList]
    source: str
    disabled: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    """Enabled rules that load but can never fire, one line each naming the rule and the field
    (``liveguard rules check`` prints them; the file still loads)."""
    version: str = ""
    """Which rules these are, stamped on what they decide (envelopes, audit records, actions):
    ``<S3 version id>:<sha12>`` for a version from the rules bucket, ``file:<sha12>`` for a file,
    ``defaults:<sha12>`` for the layer's defaults; sha12 is the start of the SHA-256 of the bundle
    (``liveguard.rules.bundle``: the rules file and every term file it reads), so the same rules
    have the same sha wherever they are loaded from."""
    by_command: Mapping[str, tuple[CompiledRule, ...]] = field(init=False)
    listened: frozenset[str] = field(init=False)
    """The CallbackCommands some enabled rule listens to (its ``on``)."""
    counters: Mapping[str, CounterPlan] = field(init=False)
    """By CallbackCommand, what the ingress counts for its events (``counter_plan``): only commands
    an enabled rule with a rate, repeat or raid condition listens to. Empty: nothing is counted."""
    echoes: frozenset[str] = field(init=False)
    """The CallbackCommands whose admin echoes the moderator must record: the metadata echoes that
    become approved values, when some enabled rule reads approved values. Rules never see echoes."""

    def __post_init__(self) -> None:
        index: dict[str, list[CompiledRule]] = {}
        for rule in self.rules:
            for command in rule.commands:
                index.setdefault(command, []).append(rule)
        object.__setattr__(self, "by_command", {command: tuple(rules) for command, rules in index.items()})
        object.__setattr__(self, "listened", frozenset(index))
        windows: dict[str, set[tuple[Kind, int]]] = {}
        for rule in self.rules:
            for command in rule.commands:
                for kind, condition in rule.counted:
                    windows.setdefault(command, set()).add((kind, condition.within))
        plans = {command: CounterPlan(command, frozenset(counted)) for command, counted in windows.items()}
        object.__setattr__(self, "counters", plans)
        approvals = any(rule.reads_approved_values for rule in self.rules)
        object.__setattr__(self, "echoes", APPROVAL_ECHOES if approvals else frozenset())

    def acts_on(self, command: str, *, echo: bool) -> bool:
        """Whether an event of ``command`` can lead to anything: a rule listens to it, or (an echo of
        our admin, which no rule sees) its record is read by a rule. The ingress queues nothing else."""
        return command in (self.echoes if echo else self.listened)

    def counter_plan(self, command: str) -> CounterPlan | None:
        """What to count for an event of ``command`` before deciding it; None: nothing (no cost)."""
        return self.counters.get(command)

    def summary(self) -> str:
        """One line: how many rules, enabled, which of those are in shadow (the others are live), term
        lists and their sizes."""
        lists = ", ".join(f"{name} ({len(terms)})" for name, terms in self.terms.items()) or "none"
        shadow = [rule.name for rule in self.rules if rule.shadow]
        # Every rule's mode: the enabled ones are live but those named in shadow.
        modes = f", {len(shadow)} in shadow: {', '.join(shadow)}" if shadow else ""
        return (
            f"{len(self.rules) + len(self.disabled)} rules ({len(self.rules)} enabled{modes}), "
            f"{len(self.by_command)} callbacks, term lists: {lists}"
        )
