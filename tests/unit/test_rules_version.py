"""The rules version on what the rules decide: the moderator's audit records and action messages,
the actuator's action records; and the messages and records written before versions existed."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from typing import Any

from liveguard.memory import MemoryState
from liveguard.messages import ActionMessage, EventEnvelope
from liveguard.moderator import Moderator
from liveguard.rules.engine import evaluate, snapshots_from_admin
from liveguard.rules.loader import parse_rules
from liveguard.state import AuditRecord
from liveguard_local.events import CALLBACK_BODIES, queued_envelope

RULES = """\
terms:
  spam: [free coins]
rules:
  - name: comment-terms
    on: [Group.CallbackAfterSendMsg]
    when: {terms: [spam]}
    then:
      - command: mute_member
        params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"], MuteTime: 60}
"""


@dataclass
class RecordingQueue:
    sent: list[ActionMessage] = field(default_factory=list)

    def send(self, messages: Any) -> None:
        self.sent.extend(messages)

    def delay(self, delayed: Any) -> None:
        self.sent.extend(message for message, _ in delayed)


def comment(text: str) -> EventEnvelope:
    body = copy.deepcopy(CALLBACK_BODIES["Group.CallbackAfterSendMsg"])
    body["MsgBody"] = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
    return queued_envelope("Group.CallbackAfterSendMsg", body, received_at_ms=1_800_000_000_000)


def test_the_moderators_audit_record_and_actions_name_the_rules_version_that_decided():
    # Given a moderator running a version of the rules
    rules = replace(parse_rules(RULES), version="v-9:0123456789ab")
    state, queue = MemoryState(), RecordingQueue()
    moderator = Moderator(
        state=state, actions=queue, delayed=queue, evaluate=evaluate, rules=rules, admin="administrator",
        snapshots_from_admin=snapshots_from_admin,
    )  # fmt: skip
    # When a comment fires a rule with an action
    envelope = comment("get free coins")
    moderator.moderate(envelope)
    # Then its audit record and the action message both name that version
    [record] = state.audit_for_room(envelope.event["GroupId"])
    assert record["rules_version"] == "v-9:0123456789ab"
    [action] = queue.sent
    assert action.rules_version == "v-9:0123456789ab"
    # And the actuator's record of the action names it too (from the message)
    assert AuditRecord.of_action(action, at_ms=1, outcome="done").rules_version == "v-9:0123456789ab"


def test_messages_and_records_written_before_versions_still_parse():
    # Given an envelope, an action and an audit record as an older version wrote them (no field)
    envelope = comment("hello").model_dump(mode="json", by_alias=True)
    del envelope["rules_version"]
    action = {
        "v": 1, "id": "a" * 64, "command": "kick_user", "params": {"RoomId": "r"}, "room": "r", "rule": "x",
        "cause": "e" * 64,
    }  # fmt: skip
    record = {
        "id": "e" * 64,
        "at_ms": 1,
        "kind": "event",
        "command": "Group.CallbackAfterSendMsg",
        "outcome": "decided",
    }
    # When they are read
    # Then they parse, with no version
    assert EventEnvelope.model_validate_json(json.dumps(envelope)).rules_version is None
    assert ActionMessage.model_validate(action).rules_version is None
    assert AuditRecord.model_validate(record).rules_version is None
    # And an action without a version is written as before (the field left out of its body)
    assert "rules_version" not in ActionMessage.model_validate(action).message_body()
