"""The rules engine: a pure function from (event, state, rules) to a Decision.

``evaluate`` runs the enabled rules that listen to the event's CallbackCommand, in file order. A rule
fires when every condition in its ``when`` holds; then it contributes its verdict (the first rule
with a verdict decides a before-callback), its actions (params rendered from the event and
validated against LiveClient's request model for the command) and its state changes. A rule sees
the strikes and violations that the rules above it added for the same event, so a threshold fires
on the event that reaches it.

A ``mode: shadow`` rule is evaluated the same way, but what it would have done goes to
``Decision.shadow`` (a ``ShadowFiring``), never into the verdict, actions or changes. It sees what
a live rule sees plus the would-have strikes and violations of the shadow rules above it (a pair
such as terms + strikes-mute can be tried together); live rules never see those. The ingress
(``InlineRules``) does not evaluate shadow rules at all.

Nothing here does I/O: state is read through a ``StateView`` (the moderator's is DynamoDB, the
ingress's may be empty) and changes are returned as values. Events whose Operator_Account is our
admin (echoes of our own actions) are the caller's to filter; ``snapshots_from_admin`` turns the
metadata ones into the approved values that protect keys.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from liveguard.counters import ARRIVED, CountedEvent, count_key, text_hash
from liveguard.rules.compiled import CompiledRule, RuleSet
from liveguard.rules.model import TEXT_FIELDS
from liveguard.rules.outcome import (
    MAX_HITS,
    Action,
    AddStrike,
    Decision,
    EmptyState,
    RecordSanction,
    RecordViolation,
    SaveSnapshot,
    ShadowFiring,
    StateChange,
    StateView,
    TermHit,
)
from liveguard.rules.terms import regex_budget, regex_budget_aside
from liveguard.rules.variables import VARIABLES
from liveguard.rules.verdict import AWAITING_REVIEW, DELIVER, DROP, HOLD_REASON, REJECT, Verdict
from liveguard.webhooks.models import (
    BEFORE_COMMANDS,
    Callback,
    GiftToSend,
    MessageSent,
    MessageToSend,
    ModerationResult,
    RoomCreated,
    RoomInfoUpdated,
    RoomMetadataDeleted,
    RoomMetadataSet,
)

__all__ = ["ADMIN_APPROVAL", "InlineRules", "counted_event", "evaluate", "snapshots_from_admin"]

logger = logging.getLogger(__name__)

ADMIN_APPROVAL = "admin-approval"
"""The ``rule`` of the snapshots taken from the admin's own metadata changes."""


def evaluate(
    event: Callback,
    state: StateView,
    rules: RuleSet,
    *,
    now: float,
    admin: str,
    event_id: str,
    answered: Verdict | None = None,
    counts: Mapping[str, int] | None = None,
) -> Decision:
    """The decision of ``rules`` on one event: the verdict (before-callbacks), the actions to run,
    the state changes to record, and which rules fired. ``now`` is unix seconds; ``admin`` is the
    AdminIdentifier (``actor: user`` means anyone else).

    ``answered``: the verdict Tencent was already answered for this before-callback (the ingress's,
    carried in the event's envelope). It stands: the rule that gave it fires (it decided), the rules
    with a verdict above it did not hold when it was decided and do not fire now (nor does any rule
    with a verdict when none decided, or when the answer was Tencent's default), whatever the state
    says by now. Rules below it, and rules without a verdict, are evaluated as usual; so are shadow
    rules (the answer never came from one), for what they would have answered.

    ``counts``: the event's flood counts (``liveguard.counters``, by ``count_key``), taken by the
    ingress and carried in the envelope; a rate, repeat or raid condition whose count is missing
    (not counted, or the table did not answer) does not hold."""
    return _Evaluation(
        event, state, rules, now, admin, event_id, verdict_only=False, answered=answered, counts=counts
    ).run()


class InlineRules:
    """The rules as the ingress uses them (CompiledRules): the verdict for a before-callback, from the
    same engine, deciding now; and what the rules act on (``RuleSet.acts_on``). Actions are not
    rendered, and shadow rules not evaluated; the moderator decides them from the queue."""

    def __init__(self, rules: RuleSet, state: StateView | None = None, *, admin: str) -> None:
        self.rules = rules
        self.state: StateView = state if state is not None else EmptyState()
        self.admin = admin

    def verdict(self, event: Any, counts: Mapping[str, int] | None = None) -> Verdict | None:
        if event.callback_command not in BEFORE_COMMANDS:
            return None
        evaluation = _Evaluation(
            event, self.state, self.rules, time.time(), self.admin, "", verdict_only=True, counts=counts
        )
        return evaluation.run().verdict

    def acts_on(self, command: str, *, echo: bool) -> bool:
        return self.rules.acts_on(command, echo=echo)

    @property
    def version(self) -> str:
        return self.rules.version

    def counter_plan(self, command: str) -> Any:
        """What the ingress counts for an event of ``command`` (``RuleSet.counter_plan``)."""
        return self.rules.counter_plan(command)


def counted_event(event: Callback) -> CountedEvent | None:
    """What the flood counters count of an event: its room, its acting user and (a message) its
    text's hash; None for an event without a room."""
    room = event.room_key
    if not room:
        return None
    texts = _texts(event, "MsgBody")
    return CountedEvent(room=room, user=_acting_user(event), text_hash=text_hash(texts) if texts else None)


def snapshots_from_admin(event: Callback) -> list[SaveSnapshot]:
    """The admin's own SetMetadata/DelMetadata (an echo of LiveGuard's or an operator's REST call):
    the values set become the approved ones, a deleted key has none. Other events give nothing."""
    if isinstance(event, RoomMetadataSet):
        return [
            SaveSnapshot(room_id=event.room_id, rule=ADMIN_APPROVAL, key=key, value=value)
            for key, value in event.as_dict().items()
        ]
    if isinstance(event, RoomMetadataDeleted):
        return [
            SaveSnapshot(room_id=event.room_id, rule=ADMIN_APPROVAL, key=key, value=None)
            for key in dict.fromkeys(event.keys)
        ]
    return []


# --- the event's facts -------------------------------------------------------------------------------


def _acting_user(event: Callback) -> str | None:
    if isinstance(event, MessageToSend | MessageSent | ModerationResult):
        return event.from_account or event.operator
    if isinstance(event, GiftToSend):
        return event.gift_water.from_account
    return event.operator


def _texts(event: Callback, field: str) -> list[str]:
    if field == "MsgBody" and isinstance(event, MessageToSend | MessageSent):
        return event.texts()
    if isinstance(event, RoomCreated | RoomInfoUpdated):
        if field == "RoomName":
            name = event.room_info.room_name
            return [name] if name else []
        if field == "Notice":
            notice = (event.room_info.model_extra or {}).get("Notice")
            return [notice] if isinstance(notice, str) and notice else []
    if field == "TextContent" and isinstance(event, ModerationResult):
        return [text for text in event.text_content if isinstance(text, str)]
    return []


def _metadata(event: Callback) -> dict[str, str | None]:
    """The keys the event touched and what it left in each (None: deleted)."""
    if isinstance(event, RoomMetadataSet):
        return dict(event.as_dict())
    if isinstance(event, RoomMetadataDeleted):
        return dict.fromkeys(event.keys)
    return {}


# --- one evaluation ----------------------------------------------------------------------------------


class _Evaluation:
    """The state of deciding one event: what the rules above added, and cached state reads."""

    def __init__(
        self,
        event: Callback,
        state: StateView,
        rules: RuleSet,
        now: float,
        admin: str,
        event_id: str,
        *,
        verdict_only: bool,
        answered: Verdict | None = None,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        self.event = event
        self.state = state
        self.rules = rules
        self.now = now
        self.admin = admin
        self.event_id = event_id
        self.verdict_only = verdict_only
        self.answered = answered
        self.counts: Mapping[str, int] = counts or {}
        self.command = event.callback_command
        self.room = event.room_key or ""
        self.operator = event.operator
        self.user = _acting_user(event)
        self.by_admin = self.operator is not None and self.operator == admin
        self._metadata: dict[str, str | None] | None = None
        self._approved: dict[str, str | None] = {}
        self._counts: dict[tuple[str, str, int], int] = {}
        self.added_strikes: dict[str, int] = {}
        self.added_violations: dict[str, int] = {}
        # What shadow rules would have added: counted by the shadow rules below them, never by live ones.
        self.shadow_strikes: dict[str, int] = {}
        self.shadow_violations: dict[str, int] = {}
        self._shadow_hits = 0
        self._hits: list[TermHit] = []

    @property
    def metadata(self) -> dict[str, str | None]:
        if self._metadata is None:
            self._metadata = _metadata(self.event)
        return self._metadata

    def approved(self, key: str) -> str | None:
        if key not in self._approved:
            self._approved[key] = self.state.approved_value(self.room, key)
        return self._approved[key]

    def run(self) -> Decision:
        candidates = self.rules.by_command.get(self.command)
        if not candidates or not self.room:
            return Decision(verdict=self.answered)
        with regex_budget():  # all the decision's regex searches share one bound
            return self._run(candidates)

    def _run(self, candidates: tuple[CompiledRule, ...]) -> Decision:
        verdict: Verdict | None = None
        actions: list[Action] = []
        changes: list[StateChange] = []
        fired: list[str] = []
        hits: list[TermHit] = []
        # Up to the rule that gave the answered verdict, rules with a verdict are the answer's: that
        # one fires, unchecked (it decided); the others did not hold when it was decided.
        pending = self.answered
        keys: list[str] | None
        shadow: list[ShadowFiring] = []
        shadow_decided = False  # a shadow rule above would have given the verdict
        for rule in candidates:
            if rule.shadow:
                # Outside the answered logic: the answer never came from a shadow rule (the ingress
                # does not evaluate them), so one with a verdict is checked for what it would answer.
                if self.verdict_only:
                    continue
                firing = self._shadow(rule, decided_above=verdict is not None or shadow_decided)
                if firing is not None:
                    shadow.append(firing)
                    shadow_decided = shadow_decided or firing.decides
                continue
            if pending is not None and rule.verdict is not None:
                if rule.name != pending.rule:
                    continue
                pending = None
                keys = list(self.metadata)
                verdict = self.answered
                # What its terms matched, for the audit and a held comment's reviewer (the answer
                # stands whatever they find now).
                self._hits = []
                if rule.terms:
                    self._terms(rule, keys)
            elif self.verdict_only and rule.verdict is None and not (rule.strike or rule.violation):
                continue  # nothing it does can change the verdict: not evaluated, no state read for it
            else:
                self._hits = []
                keys = self._match(rule)
            if keys is None:
                continue
            fired.append(rule.name)
            hits.extend(self._hits[: MAX_HITS - len(hits)])
            if verdict is None and rule.verdict is not None:
                verdict = self._verdict(rule)
            changes.extend(self._changes(rule, keys))
            if self.verdict_only:
                if verdict is not None:
                    break
                continue
            actions.extend(self._actions(rule, keys))
        if self.answered is not None:
            verdict = self.answered
        return Decision(
            verdict=verdict,
            actions=_unique(actions),
            changes=changes,
            fired=fired,
            matches=hits,
            shadow=shadow,
        )

    def _shadow(self, rule: CompiledRule, *, decided_above: bool) -> ShadowFiring | None:
        """What a shadow rule would have done, when it fires (``decided_above``: a rule above it gave, or
        would have given, the verdict). Its regex searches have a budget of their own, so it cannot
        spend the live rules'."""
        self._hits = []
        with regex_budget_aside():
            keys = self._match(rule)
            verdict = self._verdict(rule) if keys is not None and rule.verdict is not None else None
        # Its matches are its own: none may be taken for a live rule's below.
        found, self._hits = self._hits, []
        if keys is None:
            return None
        hits = found[: max(MAX_HITS - self._shadow_hits, 0)]
        self._shadow_hits += len(hits)
        return ShadowFiring(
            rule=rule.name,
            verdict=verdict,
            decides=verdict is not None and not decided_above,
            actions=_unique(self._actions(rule, keys)),
            changes=self._changes(rule, keys),
            matches=hits,
        )

    # --- conditions, cheapest first; the matched metadata keys when the rule fires, else None ---

    def _match(self, rule: CompiledRule) -> list[str] | None:
        if rule.actor == "user" and self.by_admin:
            return None
        if rule.rooms is not None and not rule.rooms.fullmatch(self.room):
            return None
        if rule.not_rooms is not None and rule.not_rooms.fullmatch(self.room):
            return None
        event = self.event
        if rule.labels is not None:
            label = event.ctxcb_label if isinstance(event, ModerationResult) else None
            if label is None or label.casefold() not in rule.labels:
                return None
        if rule.coins_over is not None and not (
            isinstance(event, GiftToSend) and event.coins_total > rule.coins_over
        ):
            return None
        keys = list(self.metadata)
        if rule.filters_keys:
            keys = [key for key in keys if key in rule.key_names or key.startswith(rule.key_prefixes)]
            if not keys:
                return None
        if rule.terms:
            found = self._terms(rule, keys)
            if found is None:
                return None
            keys = found
        if rule.counted and not self._counts_hold(rule):
            return None
        if not self._state_holds(rule):
            return None
        return keys

    def _counts_hold(self, rule: CompiledRule) -> bool:
        """The rate, repeat and raid conditions, on the counts the ingress took (none: not held)."""
        for kind, condition in rule.counted:
            value = self.counts.get(count_key(kind, condition.within))
            if value is None:
                return False
            if condition.once:
                # The event that brought the count to at_least (for a raid: the arriving user's).
                if value != condition.at_least or (kind == "raid" and not self.counts.get(ARRIVED)):
                    return False
            elif not _within(value, condition.at_least, condition.below):
                return False
        return True

    def _terms(self, rule: CompiledRule, keys: list[str]) -> list[str] | None:
        """The keys whose values hold a term (metadata), ``keys`` when another text does; None: no term.
        What matched is left in ``self._hits`` (the first field that holds a term)."""
        fields = TEXT_FIELDS.get(self.command, ())
        if rule.fields is not None:
            fields = tuple(field for field in fields if field in rule.fields)
        for field in fields:
            if field == "Metadata":
                values = self.metadata
                hits = [
                    key
                    for key in keys
                    if (value := values[key]) and self._scan(rule, field, value, key=key, index=0)
                ]
                if hits:
                    return hits
            else:
                found = [
                    self._scan(rule, field, text, key=None, index=index)
                    for index, text in enumerate(_texts(self.event, field))
                ]
                if any(found):
                    return keys
        return None

    def _scan(self, rule: CompiledRule, field: str, text: str, *, key: str | None, index: int) -> bool:
        """Whether a term of the rule's lists is in ``text``; each match recorded in ``self._hits``."""
        found = False
        for terms in rule.terms:
            for match in terms.matches(text):
                found = True
                if len(self._hits) < MAX_HITS:
                    self._hits.append(
                        TermHit(
                            rule=rule.name,
                            list=match.list,
                            term=match.term,
                            field=field,
                            key=key,
                            index=index,
                            start=match.start,
                            end=match.end,
                            text=match.text[:200],
                        )
                    )
        return found

    def _state_holds(self, rule: CompiledRule) -> bool:
        if rule.sanctioned is not None and (
            self.user is None or self.state.sanction(self.room, self.user, self.now) not in rule.sanctioned
        ):
            return False
        if rule.strikes is not None:
            if self.user is None:
                return False
            added = self.added_strikes.get(self.user, 0)
            if rule.shadow:  # the strikes of the event as if the shadow rules above were live
                added = max(added, self.shadow_strikes.get(self.user, 0))
            if rule.strikes.new_only and not added:
                return False
            total = self._count("strike", self.user, rule.strikes.within) + added
            if not _within(total, rule.strikes.at_least, rule.strikes.below):
                return False
        if rule.violations is not None:
            kinds = rule.violations.kinds
            added = sum(self.added_violations.get(kind, 0) for kind in kinds)
            if rule.shadow:
                added += sum(self.shadow_violations.get(kind, 0) for kind in kinds)
            if rule.violations.new_only and not added:
                return False
            total = sum(self._count("violation", kind, rule.violations.within) for kind in kinds) + added
            if not _within(total, rule.violations.at_least, rule.violations.below):
                return False
        return True

    def _count(self, what: str, subject: str, window: int) -> int:
        key = (what, subject, window)
        if key not in self._counts:
            if what == "strike":
                self._counts[key] = self.state.strike_count(self.room, subject, window, self.now)
            else:
                self._counts[key] = self.state.violation_count(self.room, subject, window, self.now)
        return self._counts[key]

    # --- what a fired rule does ----------------------------------------------------------------

    def _verdict(self, rule: CompiledRule) -> Verdict:
        spec = rule.verdict
        assert spec is not None
        if spec.action == "reject":
            return Verdict(action="reject", code=REJECT, rule=rule.name, reason=spec.reason)
        if spec.action == "drop":
            return Verdict(action="drop", code=DROP, rule=rule.name, reason=spec.reason)
        if spec.action == "hold":
            # Told: rejected with our code and words; untold: dropped, the sender sees it sent.
            if spec.notify:
                code, reason = AWAITING_REVIEW, spec.reason or HOLD_REASON
            else:
                code, reason = DROP, spec.reason
            return Verdict(action="hold", code=code, rule=rule.name, reason=reason, expires=spec.expires)
        assert isinstance(self.event, MessageToSend)  # the loader allows mask on messages only
        body = []
        for element in self.event.msg_body:
            wire = element.model_dump(by_alias=True, mode="json")
            text = element.text
            if text is not None:
                for terms in rule.terms:
                    text = terms.mask(text, spec.mask_char)
                wire["MsgContent"] = {**element.msg_content, "Text": text}
            body.append(wire)
        return Verdict(action="rewrite", code=DELIVER, msg_body=body, rule=rule.name, reason=spec.reason)

    def _changes(self, rule: CompiledRule, keys: list[str]) -> list[StateChange]:
        changes: list[StateChange] = []
        room, user = self.room, self.user
        # A shadow rule's would-have changes count for the shadow rules below it only.
        strikes = self.shadow_strikes if rule.shadow else self.added_strikes
        violations = self.shadow_violations if rule.shadow else self.added_violations
        if rule.strike and user:
            # One event is one offence: it counts the largest strike count among its fired rules
            # (``strike: true`` is one), not their sum; a rule below adds only what it asks beyond.
            # A shadow rule asks beyond what the live rules and the shadow rules above it added, and
            # raises only the shadow rules' level.
            added = self.added_strikes.get(user, 0)
            if rule.shadow:
                added = max(added, self.shadow_strikes.get(user, 0))
            more = rule.strike_count - added
            if more > 0:
                changes.append(AddStrike(room_id=room, rule=rule.name, user_id=user, count=more))
                strikes[user] = rule.strike_count
        if rule.violation:
            changes.append(RecordViolation(room_id=room, rule=rule.name, violation=rule.violation))
            violations[rule.violation] = violations.get(rule.violation, 0) + 1
        if rule.sanction is not None and user:
            until = int(self.now) + rule.sanction.seconds
            changes.append(
                RecordSanction(
                    room_id=room, rule=rule.name, user_id=user, sanction=rule.sanction.kind, until=until
                )
            )
        if rule.snapshot:
            changes.extend(
                SaveSnapshot(room_id=room, rule=rule.name, key=key, value=self.metadata[key]) for key in keys
            )
        return changes

    def _actions(self, rule: CompiledRule, keys: list[str]) -> list[Action]:
        if not rule.actions:
            return []
        variables = self._variables(rule, keys)
        actions = []
        for action in rule.actions:
            if action.unless_empty is not None and not variables[action.unless_empty]:
                continue
            params = _validated(rule.name, action.command, action.params.render(variables.__getitem__))
            if params is not None:
                actions.append(
                    Action(
                        command=action.command,
                        params=params,
                        rule=rule.name,
                        delay_seconds=action.delay_seconds,
                    )
                )
        return actions

    def _variables(self, rule: CompiledRule, keys: list[str]) -> dict[str, Any]:
        """The values of the variables the rule's actions use (and only those: some read state)."""
        return {name: VARIABLES[name].resolve(self, rule.name, keys) for name in rule.variables}


def _within(total: int, at_least: int, below: int | None) -> bool:
    return total >= at_least and (below is None or total < below)


_COMMANDS: dict[str, Any] | None = None


def _validated(rule: str, command: str, params: Any) -> dict[str, Any] | None:
    """The params as LiveClient's request model for the command normalises them; None (and a warning)
    when they do not validate, so one bad action does not hold back the rest of the decision."""
    global _COMMANDS
    if _COMMANDS is None:
        from liveguard.tencent.commands import COMMANDS

        _COMMANDS = dict(COMMANDS)
    try:
        wire: dict[str, Any] = _COMMANDS[command].model_validate(params).to_wire()
    except ValidationError as error:
        logger.warning(
            "rule %s: %s params do not validate, action skipped: %s",
            rule,
            command,
            error.errors(include_url=False, include_input=False, include_context=False)[:3],
        )
        return None
    return wire


def _unique(actions: list[Action]) -> list[Action]:
    """The actions in order, a repeat of the same command and params (from two rules) dropped."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for action in actions:
        key = (action.command, json.dumps(action.params, sort_keys=True, ensure_ascii=False))
        if key not in seen:
            seen.add(key)
            unique.append(action)
    return unique
