"""Build the events under events/: an API Gateway proxy event per Tencent callback (payload format
2.0, the stack's HTTP API's; one in 1.0 under events/rest-api/, as a REST API would send it), the
main refusals, the SQS batches the moderator and the actuator receive, and the scheduled event that
starts the spool drain.

    python -m liveguard_local.events          # (or `make events`) rewrite events/ signed for now
    sam local invoke IngressFunction -e events/callbacks/Live.CallbackAfterSetMetadata.json
    sam local invoke ModeratorFunction -e events/sqs/moderator-batch.json
    sam local invoke ActuatorFunction -e events/sqs/actuator-batch.json
    sam local invoke SpoolDrainFunction -e events/scheduled/spool-drain.json

Events are signed for the local test secret (events/local-secret.json) with the current time, and
Tencent's signatures are good for 60 s: regenerate right before `sam local invoke`. Tests use
``resign`` to refresh an event file's signature instead. The SQS batches need no signature; their
envelopes are those the ingress would queue for the same callbacks (same event ids).
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from liveguard.messages import ActionMessage, CallbackQuery, EventEnvelope, action_id, event_id, message_group
from liveguard.rules.verdict import decide
from liveguard.tencent.commands import COMMANDS
from liveguard.tencent.webhook_signature import webhook_sign
from liveguard.webhooks.models import BEFORE_COMMANDS, UnknownCallback, parse_callback

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
LOCAL_SECRET: dict[str, Any] = {
    "SdkAppId": 1400000001,
    "SecretKey": "local-dev-secret-key-not-for-production",
    "AdminIdentifier": "administrator",
    "CallbackToken": "local-dev-callback-token",
    "ApiBaseUrl": "http://127.0.0.1:9000",
}

# Bodies as Tencent's documentation shows them (reference §2.2, §6.1, §6.3), EventTime added where
# the doc's table lists it and its example left it out.
CALLBACK_BODIES: dict[str, dict[str, Any]] = {
    "Live.CallbackAfterCreateRoom": {
        "CallbackCommand": "Live.CallbackAfterCreateRoom",
        "Operator_Account": "host-1",
        "RoomInfo": {
            "RoomId": "live-room-1", "RoomName": "Chess night", "RoomType": "Live", "Owner_Account": "host-1",
            "MaxMemberCount": 300, "IsMessageDisabled": False, "CustomInfo": "", "IsSeatEnabled": True,
            "TakeSeatMode": "ApplyToTake", "MaxSeatCount": 16, "CreateTime": 1703589922,
            "IsPublicVisible": True, "CoverURL": "https://example.com/cover.png", "Category": [1, 2],
        },
        "EventTime": 1703589922780,
    },
    "Live.CallbackAfterDestroyRoom": {
        "CallbackCommand": "Live.CallbackAfterDestroyRoom", "Operator_Account": "host-1", "RoomId": "live-room-1",
        "EventType": "DestroyByUser", "EventTime": 1703589922780,
        "RoomInfo": {
            "RoomName": "Chess night", "RoomType": "Live", "Owner_Account": 144115216631667826,
            "IsSeatEnabled": True, "TakeSeatMode": "FreeToTake", "MaxMemberCount": 400, "MaxSeatCount": 4,
            "Category": [1, 2, 3], "CustomInfo": "", "IsMessageDisabled": False, "CoverURL": "cover url",
            "ActivityStatus": 0, "IsPublicVisible": False, "ViewCount": 0, "BackgroundURL": "background url",
            "IsUnlimitedRoomEnabled": True,
        },
        "Statistic": {
            "TotalViewers": 0, "TotalGiftsSent": 0, "TotalGiftCoins": 0, "TotalUniqueGiftSenders": 0,
            "TotalLikesReceived": 0,
        },
    },
    "Live.CallbackAfterUpdateRoomInfo": {
        "CallbackCommand": "Live.CallbackAfterUpdateRoomInfo", "Operator_Account": "host-1",
        "RoomInfo": {
            "RoomId": "live-room-1", "RoomName": "rname-123", "MaxMemberCount": 300, "IsMessageDisabled": False,
            "CoverURL": "https://example.com/cover.png", "Category": [1, 2, 3], "ActivityStatus": 1,
            "IsPublicVisible": False, "TakeSeatMode": "ApplyToTake", "CustomInfo": "custom123",
        },
        "EventTime": 1670574414123,
    },
    "Live.CallbackAfterSetMetadata": {
        "CallbackCommand": "Live.CallbackAfterSetMetadata", "Operator_Account": "viewer-7", "RoomId": "live-room-1",
        "Metadata": [{"Key": "topic", "Value": "chess"}, {"Key": "lang", "Value": "en"}], "EventTime": 1739965885831,
    },
    "Live.CallbackAfterDelMetadata": {
        "CallbackCommand": "Live.CallbackAfterDelMetadata", "Operator_Account": "viewer-7", "RoomId": "live-room-1",
        "Keys": ["topic"], "EventTime": 1739966441121,
    },
    "Live.CallbackAfterCreateRoomReachingThreshold": {
        "CallbackCommand": "Live.CallbackAfterCreateRoomReachingThreshold", "Operator_Account": "host-1",
        "EventTime": 1739966441121, "CurRoomCount": 400, "MaxRoomCount": 500,
    },
    "Live.CallbackAfterMemberStateChanged": {
        "CallbackCommand": "Live.CallbackAfterMemberStateChanged", "RoomId": "live-room-1", "EventType": "Online",
        "EventCause": "Enter", "MemberList": [{"Member_Account": "jared"}, {"Member_Account": "tommy"}],
        "EventTime": 1703589922780,
    },
    "Live.CallbackAfterChangeOwner": {
        "CallbackCommand": "Live.CallbackAfterChangeOwner", "RoomId": "live-room-1", "EventTime": 1703589922780,
        "Operator_Account": "host-1", "CurrentOwner_Account": "user2", "OriginalOwner_Account": "host-1",
    },
    "Live.CallbackAfterModifyAdmin": {
        "CallbackCommand": "Live.CallbackAfterModifyAdmin", "RoomId": "live-room-1", "EventTime": 1703589922780,
        "Operator_Account": "host-1", "Admin_Account": ["user1", "user2"], "opType": "add",
    },
    "Mic.CallbackAfterSeatInfoChanged": {
        "CallbackCommand": "Mic.CallbackAfterSeatInfoChanged", "RoomId": "live-room-1",
        "SeatList": [
            {"Index": 1, "Member_Account": 144115233775727695, "IsTakenDisabled": False, "IsVideoDisabled": False,
             "IsAudioDisabled": False},
            {"Index": 2, "IsTakenDisabled": False, "IsVideoDisabled": False, "IsAudioDisabled": False},
        ],
        "EventTime": 1670574414123,
    },
    "Live.CallbackAfterCreateBattle": {
        "CallbackCommand": "Live.CallbackAfterCreateBattle", "Operator_Account": "host-1", "BattleId": "battle-1",
        "FromRoomId": "live-room-1", "ToRoomIdList": ["live-room-2"], "Timeout": 10000, "Duration": 300000,
        "NeedResponse": True, "ExtensionInfo": "", "EventTime": 1703589922780,
    },
    "Live.CallbackAfterStartBattle": {
        "CallbackCommand": "Live.CallbackAfterStartBattle", "BattleId": "battle-1", "Duration": 300000,
        "CreateTime": 1703589922, "StartTime": 1703589930,
        "FromRoomInfo": {"RoomId": "live-room-1", "Owner_Account": "host-1"},
        "ToRoomList": [{"RoomId": "live-room-2", "Owner_Account": "host-2"}], "EventTime": 1703589930780,
    },
    "Live.CallbackAfterEndBattle": {
        "CallbackCommand": "Live.CallbackAfterEndBattle", "BattleId": "battle-1", "Duration": 300000,
        "CreateTime": 1703589922, "StartTime": 1703589930, "EndTime": 1703590230, "OpType": 0,
        "FromRoomInfo": {"RoomId": "live-room-1", "Score": 120, "Owner_Account": "host-1"},
        "ToRoomList": [{"RoomId": "live-room-2", "Score": 80, "Owner_Account": "host-2"}], "EventTime": 1703590230780,
    },
    "Live.CallbackBeforeSendGift": {
        "CallbackCommand": "Live.CallbackBeforeSendGift", "Operator_Account": "viewer-7", "RoomId": "live-room-1",
        "GiftWater": {"From_Account": "viewer-7", "To_Account": ["host-1"], "Time": 1703589922, "GiftId": "rose",
                      "Count": 1, "Coins": 1000},
    },
    "Group.CallbackBeforeSendMsg": {
        "CallbackCommand": "Group.CallbackBeforeSendMsg", "GroupId": "live-room-1", "Type": "Live",
        "From_Account": "viewer-7", "Operator_Account": "viewer-7", "Random": 123456,
        "MsgId": "144115233406643804-1727580296-4026038328",
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}}],
        "CloudCustomData": "your cloud custom data", "EventTime": "1670574414123",
    },
    "Group.CallbackAfterSendMsg": {
        "CallbackCommand": "Group.CallbackAfterSendMsg", "GroupId": "live-room-1", "Type": "Live",
        "From_Account": "viewer-7", "Operator_Account": "viewer-7", "Random": 123456, "MsgSeq": 123,
        "MsgTime": 1670574414, "MsgId": "144115233406643804-1727580296-4026038328",
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}}],
        "CloudCustomData": "your cloud custom data", "EventTime": 1670574414123,
    },
    "Follow.CallbackAfterFollowAdd": {
        "CallbackCommand": "Follow.CallbackAfterFollowAdd", "From_Account": "viewer-7",
        "FollowList": [{"To_Account": "host-1"}], "EventTime": 1670574414123,
    },
    "Follow.CallbackAfterFollowDelete": {
        "CallbackCommand": "Follow.CallbackAfterFollowDelete", "From_Account": "viewer-7",
        "To_Account": ["host-1"], "EventTime": 1670574414123,
    },
    "ContentCallback.ResultNotify": {
        "CallbackCommand": "ContentCallback.ResultNotify", "Scene": "Group", "SdkAppId": 1400000001,
        "From_Account": "viewer-7", "ContactItem": {"ContactType": 2, "ToGroupId": "live-room-1"},
        "ContentType": "Text", "TextContent": ["buy followers now"], "MsgID": "msg-1", "CtxcbResult": 1,
        "CtxcbRequestId": "req-1", "CtxcbKeywords": ["buy followers"], "CtxcbSuggestion": "Block",
        "CtxcbLabel": "Ad", "CtxcbSubLabel": "", "CtxcbSubLabelDesc": "", "CtxcbLibName": "",
        "CloudCustomData": "",
    },
}  # fmt: skip


def proxy_event(
    command: str,
    body: str,
    *,
    secret: dict[str, Any] = LOCAL_SECRET,
    request_time: int | None = None,
    query: dict[str, str | None] | None = None,
    version: str = "2.0",
) -> dict[str, Any]:
    """The API Gateway proxy event for POST /tencent/callback, as Tencent would call it: payload format
    2.0 (the stack's HTTP API), or 1.0 (a REST API in front of the ingress)."""
    stamp = int(time.time()) if request_time is None else request_time
    params: dict[str, str | None] = {
        "SdkAppid": str(secret["SdkAppId"]),
        "CallbackCommand": command,
        "contenttype": "json",
        "ClientIP": "203.0.113.7",
        "OptPlatform": "Android",
    }
    if secret.get("CallbackToken"):
        params["RequestTime"] = str(stamp)
        params["Sign"] = webhook_sign(secret["CallbackToken"], stamp)
    params.update(query or {})
    clean = {key: value for key, value in params.items() if value is not None}
    request_id = f"local-{command}-{stamp}"
    if version == "1.0":
        return _rest_api_event(clean, body, request_id, stamp)
    return {
        "version": "2.0",
        "routeKey": "POST /tencent/callback",
        # A named stage's path carries the stage, as the deployed CallbackUrl does.
        "rawPath": "/dev/tencent/callback",
        "rawQueryString": urlencode(clean, errors="surrogatepass"),
        "headers": {
            "content-type": "application/json",
            "user-agent": "Tencent-IM-Callback",
            "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-proto": "https",
        },
        "queryStringParameters": clean,
        "requestContext": {
            "accountId": SAMPLE_ACCOUNT,
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": "POST",
                "path": "/dev/tencent/callback",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "Tencent-IM-Callback",
            },
            "requestId": request_id,
            "routeKey": "POST /tencent/callback",
            "stage": "dev",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(stamp)),
            "timeEpoch": stamp * 1000,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def _rest_api_event(query: dict[str, str], body: str, request_id: str, stamp: int) -> dict[str, Any]:
    """Payload format 1.0: what a REST API's Lambda proxy integration sends."""
    return {
        "resource": "/tencent/callback",
        "path": "/tencent/callback",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "User-Agent": "Tencent-IM-Callback"},
        "multiValueHeaders": {"Content-Type": ["application/json"], "User-Agent": ["Tencent-IM-Callback"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {key: [value] for key, value in query.items()},
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": SAMPLE_ACCOUNT,
            "apiId": "abcdef1234",
            "resourcePath": "/tencent/callback",
            "httpMethod": "POST",
            "path": "/dev/tencent/callback",
            "protocol": "HTTP/1.1",
            "stage": "dev",
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(stamp)),
            "requestTimeEpoch": stamp * 1000,
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def resign(
    event: dict[str, Any], secret: dict[str, Any] = LOCAL_SECRET, now: int | None = None
) -> dict[str, Any]:
    """The same event (either payload format), its RequestTime and Sign made anew (for files older
    than Tencent's 60 s)."""
    fresh = copy.deepcopy(event)
    query = fresh["queryStringParameters"]
    if "Sign" in query and secret.get("CallbackToken"):
        stamp = int(time.time()) if now is None else now
        query["RequestTime"] = str(stamp)
        query["Sign"] = webhook_sign(secret["CallbackToken"], stamp)
        if "multiValueQueryStringParameters" in fresh:
            fresh["multiValueQueryStringParameters"] = {key: [value] for key, value in query.items()}
        if "rawQueryString" in fresh:
            fresh["rawQueryString"] = urlencode(query, errors="surrogatepass")
    return fresh


def refusal_events(now: int) -> dict[str, dict[str, Any]]:
    metadata = json.dumps(CALLBACK_BODIES["Live.CallbackAfterSetMetadata"])
    command = "Live.CallbackAfterSetMetadata"
    return {
        "bad-signature": proxy_event(command, metadata, request_time=now, query={"Sign": "0" * 64}),
        "unsigned": proxy_event(
            command, metadata, request_time=now, query={"Sign": None, "RequestTime": None}
        ),
        "stale-request-time": proxy_event(command, metadata, request_time=now - 3600),
        "wrong-sdkappid": proxy_event(command, metadata, request_time=now, query={"SdkAppid": "1400999999"}),
        "not-json": proxy_event(command, "{this is not json", request_time=now),
        "too-large": proxy_event(
            command,
            json.dumps({**CALLBACK_BODIES[command], "Metadata": [{"Key": "k", "Value": "v" * 70_000}]}),
            request_time=now,
        ),
        "missing-room-id": proxy_event(
            command,
            json.dumps({k: v for k, v in CALLBACK_BODIES[command].items() if k != "RoomId"}),
            request_time=now,
        ),
        # Nothing Tencent sends nests past five levels; the ingress refuses more than 32 (MAX_DEPTH).
        "nested-too-deep": proxy_event(
            command,
            json.dumps(
                {
                    **CALLBACK_BODIES[command],
                    "Extra": json.loads("[" * 40 + "]" * 40),
                }
            ),
            request_time=now,
        ),
        "not-a-command": proxy_event("Live.CallbackAfterSetMetadata;DROP", metadata, request_time=now),
    }


# --- SQS batches: what Lambda's event source mapping hands the moderator and the actuator -------

# The account and region of the queue ARNs in the sample batches (the dev stage's queue names).
SAMPLE_ACCOUNT = "123456789012"
SAMPLE_REGION = "us-east-1"
EVENTS_QUEUE = "liveguard-events-dev.fifo"
ACTIONS_QUEUE = "liveguard-actions-dev.fifo"
# uuid5 namespace for message ids: the same message gets the same id each time the files are written.
_MESSAGE_IDS = uuid.UUID("6f1e2b0c-4f53-4c1e-9a43-6c1d0e7a5a10")

# The moderator's sample batch, in queue order: a room is created, our admin sets its defaults (an
# echo), a viewer sets and deletes metadata, the host renames it, the viewer chats and sends a gift,
# Tencent's content moderation flags a message, and two members come online. Ten: a full batch.
MODERATOR_BATCH = [
    "Live.CallbackAfterCreateRoom",
    "admin-echo",
    "Live.CallbackAfterSetMetadata",
    "Live.CallbackAfterDelMetadata",
    "Live.CallbackAfterUpdateRoomInfo",
    "Group.CallbackBeforeSendMsg",
    "Group.CallbackAfterSendMsg",
    "Live.CallbackBeforeSendGift",
    "ContentCallback.ResultNotify",
    "Live.CallbackAfterMemberStateChanged",
]


def admin_echo_body(secret: dict[str, Any] = LOCAL_SECRET) -> dict[str, Any]:
    """Metadata our own admin set (as the actuator does): the ingress marks its callback an echo."""
    return {
        **CALLBACK_BODIES["Live.CallbackAfterSetMetadata"],
        "Operator_Account": secret["AdminIdentifier"],
        "Metadata": [{"Key": "topic", "Value": "chess"}, {"Key": "lang", "Value": "en"}],
    }


def queued_envelope(
    command: str, body: dict[str, Any], *, received_at_ms: int, secret: dict[str, Any] = LOCAL_SECRET
) -> EventEnvelope:
    """The envelope the ingress queues for ``body`` delivered as the proxy event ``proxy_event``
    builds (the raw body is the same ``json.dumps``, so the event id is too)."""
    raw = json.dumps(body)
    callback = parse_callback(command, body)
    echo = callback.operator is not None and callback.operator == secret["AdminIdentifier"]
    return EventEnvelope(
        id=event_id(secret["SdkAppId"], command, raw.encode("utf-8")),
        command=command,
        received_at=received_at_ms,
        query=CallbackQuery(client_ip="203.0.113.7", opt_platform="Android"),
        event=callback.model_dump(mode="json", by_alias=True, exclude_unset=True),
        # No rules at hand here: the allow-all default the ingress answers without any.
        decision=decide(callback) if command in BEFORE_COMMANDS else None,
        known=not isinstance(callback, UnknownCallback),
        echo=echo,
        group=message_group(callback.room_key),
    )


def moderator_envelopes(received_at_ms: int) -> list[EventEnvelope]:
    """The events of MODERATOR_BATCH as queued, a millisecond apart."""
    envelopes = []
    for offset, name in enumerate(MODERATOR_BATCH):
        if name == "admin-echo":
            command, body = "Live.CallbackAfterSetMetadata", admin_echo_body()
        else:
            command, body = name, CALLBACK_BODIES[name]
        envelopes.append(queued_envelope(command, body, received_at_ms=received_at_ms + offset))
    return envelopes


def sample_action(
    command: str, params: dict[str, Any], *, rule: str, cause: EventEnvelope, room: str = "live-room-1"
) -> ActionMessage:
    """An action as the moderator queues it; its params must be a valid request for ``command``."""
    COMMANDS[command].model_validate(params)
    return ActionMessage(
        id=action_id(cause.id, rule, command, params),
        command=command,
        params=params,
        room=room,
        rule=rule,
        cause=cause.id,
    )


def actuator_actions(envelopes: Sequence[EventEnvelope]) -> list[ActionMessage]:
    """One action of each kind the default rules take, each caused by an event of the moderator's
    sample batch (rule names are illustrative)."""
    by_command = {envelope.command: envelope for envelope in envelopes if not envelope.echo}
    metadata_set = by_command["Live.CallbackAfterSetMetadata"]
    chat = by_command["Group.CallbackAfterSendMsg"]
    flagged = by_command["ContentCallback.ResultNotify"]
    room = "live-room-1"
    admin = LOCAL_SECRET["AdminIdentifier"]
    warning = {"type": "liveguard.warning", "text": "This room broke the content rules; it will be closed."}
    return [
        sample_action(
            "del_room_metadata",
            {"RoomId": room, "Keys": ["topic"]},
            rule="metadata-banned-terms",
            cause=metadata_set,
        ),
        sample_action(
            "set_room_metadata",
            {"RoomId": room, "Metadata": [{"Key": "lang", "Value": "en"}]},
            rule="protected-keys",
            cause=metadata_set,
        ),
        sample_action(
            "mute_member",
            {"RoomId": room, "MemberList_Account": ["viewer-7"], "MuteTime": 600},
            rule="strikes-mute",
            cause=chat,
        ),
        sample_action(
            "ban_member",
            {
                "RoomId": room,
                "MemberList_Account": ["viewer-7"],
                "Duration": 3600,
                "Reason": "repeated strikes",
            },
            rule="strikes-ban",
            cause=chat,
        ),
        sample_action(
            "send_custom_msg",
            {
                "RoomId": room,
                "Sender_Account": admin,
                "BusinessId": "liveguard.warning",
                "Data": json.dumps(warning, separators=(",", ":")),
            },
            rule="content-warn-host",
            cause=flagged,
        ),
        sample_action("destroy_room", {"RoomId": room}, rule="content-destroy-room", cause=flagged),
    ]


def queue_arn(queue_name: str) -> str:
    return f"arn:aws:sqs:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:{queue_name}"


def sqs_batch(
    queue_name: str,
    messages: Sequence[EventEnvelope | ActionMessage],
    *,
    sent_at_ms: int | None = None,
    receive_count: int = 1,
) -> dict[str, Any]:
    """Lambda's SQS event for a batch received from the FIFO queue ``queue_name``: one record per
    message, in order, bodies serialized as their producer sends them (group = room, dedup id = the
    message's id). ``receive_count`` above 1 makes a redelivered batch."""
    sent = int(time.time() * 1000) if sent_at_ms is None else sent_at_ms
    records = []
    for index, message in enumerate(messages):
        if isinstance(message, EventEnvelope):
            body, group = message.model_dump_json(by_alias=True), message.group
        else:
            body, group = message.model_dump_json(), message_group(message.room)
        handle = f"{queue_name}/{message.id}/{receive_count}".encode()
        records.append(
            {
                "messageId": str(uuid.uuid5(_MESSAGE_IDS, f"{queue_name}/{message.id}")),
                "receiptHandle": "AQEB" + base64.b64encode(hashlib.sha256(handle).digest() * 3).decode(),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": str(sent + index),
                    # FIFO sequence numbers: 20 digits, increasing in queue order.
                    "SequenceNumber": str(18_880_000_000_000_000_000 + sent * 1000 + index),
                    "MessageGroupId": group,
                    "SenderId": "AROAEXAMPLEROLEID0001:liveguard",
                    "MessageDeduplicationId": message.id,
                    "ApproximateFirstReceiveTimestamp": str(sent + len(messages) + 5),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn(queue_name),
                "awsRegion": SAMPLE_REGION,
            }
        )
    return {"Records": records}


def scheduled_event(rule: str, now: int) -> dict[str, Any]:
    """What EventBridge sends a function for a schedule rule (``rate(1 minute)``)."""
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rule}/{now}")),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": SAMPLE_ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "region": SAMPLE_REGION,
        "resources": [f"arn:aws:events:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


def write_events(directory: Path = EVENTS_DIR, now: int | None = None) -> list[Path]:
    stamp = int(time.time()) if now is None else now
    written: list[Path] = []
    files: dict[Path, Any] = {directory / "local-secret.json": LOCAL_SECRET}
    for command, body in CALLBACK_BODIES.items():
        files[directory / "callbacks" / f"{command}.json"] = proxy_event(
            command, json.dumps(body), request_time=stamp
        )
    for name, event in refusal_events(stamp).items():
        files[directory / "refusals" / f"{name}.json"] = event
    # Payload format 1.0, for whoever fronts the ingress with a REST API of their own.
    command = "Live.CallbackAfterSetMetadata"
    files[directory / "rest-api" / f"{command}.json"] = proxy_event(
        command, json.dumps(CALLBACK_BODIES[command]), request_time=stamp, version="1.0"
    )
    envelopes = moderator_envelopes(received_at_ms=stamp * 1000)
    files[directory / "sqs" / "moderator-batch.json"] = sqs_batch(
        EVENTS_QUEUE, envelopes, sent_at_ms=stamp * 1000 + 20
    )
    files[directory / "sqs" / "actuator-batch.json"] = sqs_batch(
        ACTIONS_QUEUE, actuator_actions(envelopes), sent_at_ms=stamp * 1000 + 100
    )
    files[directory / "scheduled" / "spool-drain.json"] = scheduled_event(
        "liveguard-dev-SpoolDrainFunctionEveryMinute", stamp
    )
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, default=EVENTS_DIR)
    args = parser.parse_args(argv)
    written = write_events(args.dir)
    print(
        f"wrote {len(written)} files under {args.dir}, signed for RequestTime {int(time.time())} (good for 60 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
