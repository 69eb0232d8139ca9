"""The inline decision for before-callbacks: the seam between the ingress and the rules engine.

``decide(event, rules)`` is pure: an event and a compiled rule set in, a verdict out. The ingress
answers Tencent with ``verdict.reply()``, and queues only the events the rules can act on
(``CompiledRules.acts_on``). Until rules are configured, everything is allowed and nothing queued.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from liveguard.webhooks.commands import GIFT_BEFORE

# Tencent's answer codes for Group.CallbackBeforeSendMsg (0 deliver, 1 reject, 2 drop) and
# Live.CallbackBeforeSendGift (0 allow, 1 reject).
DELIVER, REJECT, DROP = 0, 1, 2
AWAITING_REVIEW = 10100
"""A held comment whose sender is told: Tencent rejects a message answered with an ErrorCode in
10100-10200 and passes that ErrorCode and our ErrorInfo on to the sender's client (a plain 1 reaches
it as 10016 without our words). A hold that tells nobody answers DROP: the sender sees it sent."""
HOLD_REASON = "your comment awaits review"
"""The ErrorInfo of a hold that tells its sender, when the rule gives no reason."""


class Verdict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal["deliver", "reject", "drop", "rewrite", "hold"]
    code: int = Field(description="the ErrorCode answered to Tencent")
    msg_body: list[dict[str, Any]] | None = Field(default=None, description="the rewritten MsgBody")
    rule: str | None = Field(default=None, description="the rule that decided, None for the default")
    reason: str = ""
    fallback: bool = Field(default=False, description="Tencent's default, answered because deciding failed")
    expires: int | None = Field(
        default=None, ge=1, description="hold: seconds the held comment may wait for review"
    )

    def reply(self) -> dict[str, Any]:
        """The body Tencent reads: ErrorCode decides; MsgBody rewrites (only with ErrorCode 0)."""
        body: dict[str, Any] = {"ActionStatus": "OK", "ErrorInfo": self.reason, "ErrorCode": self.code}
        if self.action == "rewrite" and self.msg_body is not None:
            body["MsgBody"] = self.msg_body
        return body


ALLOW = Verdict(action="deliver", code=DELIVER)


def tencent_default(command: str) -> Verdict:
    """What Tencent itself does when our answer does not come: deliver a message, block a gift."""
    if command == GIFT_BEFORE:
        return Verdict(action="reject", code=REJECT, reason="moderation unavailable", fallback=True)
    return Verdict(action="deliver", code=DELIVER, fallback=True)


class CompiledRules(Protocol):
    """A rule set ready to decide inline (built once per cold start)."""

    def verdict(self, event: Any, counts: Mapping[str, int] | None = None) -> Verdict | None:
        """The verdict of the first rule that fires, or None when no rule has an opinion; ``counts``:
        the event's flood counts, when ``counter_plan`` asked for some."""

    def acts_on(self, command: str, *, echo: bool) -> bool:
        """Whether the moderator can do anything with an event of ``command`` (``echo``: caused by our
        admin): the ingress answers the others and queues nothing (``RuleSet.acts_on``)."""

    def counter_plan(self, command: str) -> Any:
        """What the ingress counts for an event of ``command`` before deciding it
        (``RuleSet.counter_plan``: a ``liveguard.counters.CounterPlan``); None: nothing."""

    @property
    def version(self) -> str | None:
        """Which rules these are (``RuleSet.version``), stamped on the envelope; None: no rules."""


class AllowAll:
    """The rule set with no rules: no verdict, nothing to act on."""

    version: str | None = None

    def verdict(self, event: Any, counts: Mapping[str, int] | None = None) -> Verdict | None:
        return None

    def acts_on(self, command: str, *, echo: bool) -> bool:
        return False

    def counter_plan(self, command: str) -> Any:
        return None


ALLOW_ALL: CompiledRules = AllowAll()


class DeferredRules:
    """Rules built on first use: importing the ingress does not pay for loading the rule file
    (pydantic models, YAML, term lists); its first callback does (or the SnapStart init, ``load``)."""

    def __init__(self, build: Callable[[], CompiledRules]) -> None:
        self._build = build
        self._rules: CompiledRules | None = None

    def load(self) -> CompiledRules:
        if self._rules is None:
            self._rules = self._build()
        return self._rules

    def verdict(self, event: Any, counts: Mapping[str, int] | None = None) -> Verdict | None:
        rules = self.load()
        return rules.verdict(event, counts) if counts is not None else rules.verdict(event)

    def acts_on(self, command: str, *, echo: bool) -> bool:
        return self.load().acts_on(command, echo=echo)

    @property
    def version(self) -> str | None:
        return self.load().version

    def counter_plan(self, command: str) -> Any:
        return self.load().counter_plan(command)


def decide(event: Any, rules: CompiledRules = ALLOW_ALL, counts: Mapping[str, int] | None = None) -> Verdict:
    """The verdict for a before-callback event: the rules' answer, or allow. ``counts``: the event's
    flood counts (``liveguard.counters``), given only when the rules asked for some."""
    if counts is not None:
        return rules.verdict(event, counts) or ALLOW
    return rules.verdict(event) or ALLOW
