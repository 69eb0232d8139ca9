"""The queue message bodies: whatever a viewer typed, SQS takes them and readers get the text back."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from liveguard.messages import ActionMessage, sqs_safe

# SQS's documented message-body characters.
SQS_BODY = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
ID = "0" * 64


@given(text=st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_any_text_in_a_json_body_becomes_sqs_safe_and_reads_back_the_same(text: str) -> None:
    # Given JSON written without ASCII escaping, holding any code point (lone surrogates included)
    body = json.dumps({"Text": text, "list": [text]}, ensure_ascii=False)

    # When it is made SQS-safe
    safe = sqs_safe(body)

    # Then SQS takes every character, and JSON reads back exactly the same text
    assert SQS_BODY.fullmatch(safe)
    assert json.loads(safe) == {"Text": text, "list": [text]}


def test_an_action_carrying_a_viewers_u_ffff_is_sqs_safe() -> None:
    # Given an action whose params hold a metadata key a viewer chose (U+FFFF in it)
    action = ActionMessage(
        id=ID, command="del_room_metadata", params={"RoomId": "r1", "Keys": ["topic\uffff"]},
        room="r1", rule="banned-metadata", cause=ID,
    )  # fmt: skip

    # When it is written for the actions queue
    body = action.message_body()

    # Then SQS takes it and the actuator reads the key back unchanged
    assert SQS_BODY.fullmatch(body)
    assert ActionMessage.model_validate_json(body).params["Keys"] == ["topic\uffff"]


def test_a_body_sqs_takes_is_left_as_it_is() -> None:
    body = json.dumps({"Text": "你好, 世界 🎉"}, ensure_ascii=False)

    assert sqs_safe(body) is body
