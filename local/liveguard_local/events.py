"""Build the API Gateway proxy events under events/: one per Tencent callback, and the main refusals.

    python -m liveguard_local.events          # (or `make events`) rewrite events/ signed for now
    sam local invoke IngressFunction -e events/callbacks/Live.CallbackAfterSetMetadata.json

Events are signed for the local test secret (events/local-secret.json) with the current time, and
Tencent's signatures are good for 60 s: regenerate right before `sam local invoke`. Tests use
``resign`` to refresh an event file's signature instead.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

from liveguard.tencent.webhook_signature import webhook_sign

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
        "FollowList": [{"To_Account": "host-1"}], "EventTime": 1670574414123,
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
) -> dict[str, Any]:
    """An API Gateway REST proxy event for POST /tencent/callback, as Tencent would call it."""
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
    return {
        "resource": "/tencent/callback",
        "path": "/tencent/callback",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "User-Agent": "Tencent-IM-Callback"},
        "multiValueHeaders": {"Content-Type": ["application/json"], "User-Agent": ["Tencent-IM-Callback"]},
        "queryStringParameters": clean,
        "multiValueQueryStringParameters": {key: [value] for key, value in clean.items()},
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/tencent/callback",
            "httpMethod": "POST",
            "stage": "dev",
            "requestId": f"local-{command}-{stamp}",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def resign(
    event: dict[str, Any], secret: dict[str, Any] = LOCAL_SECRET, now: int | None = None
) -> dict[str, Any]:
    """The same event, its RequestTime and Sign made anew (for files older than Tencent's 60 s)."""
    fresh = copy.deepcopy(event)
    query = fresh["queryStringParameters"]
    if "Sign" in query and secret.get("CallbackToken"):
        stamp = int(time.time()) if now is None else now
        query["RequestTime"] = str(stamp)
        query["Sign"] = webhook_sign(secret["CallbackToken"], stamp)
        fresh["multiValueQueryStringParameters"] = {key: [value] for key, value in query.items()}
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
        "command-mismatch": proxy_event("Live.CallbackAfterDelMetadata", metadata, request_time=now),
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
