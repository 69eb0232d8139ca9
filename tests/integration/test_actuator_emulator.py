"""The actuator with real queue messages, moto for SQS/DynamoDB/Secrets Manager and the Tencent emulator
over HTTP: its effects are checked in the emulator's state, its calls in the emulator's call record."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from moto import mock_aws

from liveguard.actuator import Actuator
from liveguard.aws.state_table import StateTable
from liveguard.tencent.client import LiveClient
from liveguard_local.emulator.server import Emulator
from tests.aws import FAKE_CREDENTIALS
from tests.functions import load_function, process_batch
from tests.unit.test_actuator import (
    Aws,
    ImmediateDelays,
    actuator_context,
    create_resources,
    deliver,
    fresh_secret_readers,
    idempotency,
    make_action,
)

from .conftest import ADMIN, KEY, SDK_APP_ID

ROOT = Path(__file__).resolve().parents[2]
ROOM = "live-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(), fresh_secret_readers():
        yield create_resources()


@pytest.fixture
def live(emulator: Emulator, http: httpx.Client) -> LiveClient:
    """LiveClient on the emulator with short backoff pauses (its four attempts stay the same)."""
    return LiveClient(
        sdk_app_id=SDK_APP_ID,
        secret_key=KEY,
        admin_identifier=ADMIN,
        base_url=emulator.base_url,
        http=http,
        backoff_base=0.01,
    )


@pytest.fixture
def actuator(aws: Aws, live: LiveClient) -> Actuator:
    return Actuator(
        client=lambda: live,
        idempotency=idempotency(aws),
        queues=aws.queues(),
        audit=StateTable(aws.table, aws.dynamodb),
    )


@pytest.fixture
def room(raw_call: Callable[..., dict[str, Any]], app_user: Callable[..., dict[str, Any]]) -> str:
    """A live room with a host and a viewer, bob, inside."""
    created = raw_call(
        "create_room", {"RoomInfo": {"RoomId": ROOM, "RoomType": "Live", "Owner_Account": "host"}}
    )
    assert created["ErrorCode"] == 0, created
    assert app_user("enter_room", "bob", RoomId=ROOM)["ErrorCode"] == 0
    return ROOM


class Tencent:
    """The emulator's inspection and control endpoints."""

    def __init__(self, emulator: Emulator, http: httpx.Client) -> None:
        self.base = f"{emulator.base_url}/emulator/v1"
        self.http = http

    def room(self, room_id: str = ROOM) -> dict[str, Any] | None:
        reply = self.http.get(f"{self.base}/rooms/{room_id}")
        return None if reply.status_code == 404 else reply.json()

    def calls(self, command: str) -> list[dict[str, Any]]:
        return [
            call for call in self.http.get(f"{self.base}/calls").json()["calls"] if call["command"] == command
        ]

    def fault(self, **rule: Any) -> None:
        self.http.post(f"{self.base}/faults", json={"rest": [rule]}).raise_for_status()


@pytest.fixture
def tencent(emulator: Emulator, http: httpx.Client) -> Tencent:
    return Tencent(emulator, http)


# --- effects -----------------------------------------------------------------------------------


def test_set_metadata_is_applied_in_the_room(aws, actuator, room, tencent):
    aws.send(
        make_action("set_room_metadata", {"RoomId": room, "Metadata": [{"Key": "topic", "Value": "chess"}]})
    )
    assert deliver(aws, actuator) == {"batchItemFailures": []}
    assert {"Key": "topic", "Value": "chess"} in tencent.room()["Metadata"]
    assert [audit["outcome"] for audit in aws.audit(room)] == ["done"]


def test_del_metadata_removes_the_key(aws, actuator, room, tencent, raw_call):
    raw_call("set_room_metadata", {"RoomId": room, "Metadata": [{"Key": "topic", "Value": "spam"}]})
    aws.send(make_action("del_room_metadata", {"RoomId": room, "Keys": ["topic"]}))
    deliver(aws, actuator)
    assert all(item["Key"] != "topic" for item in tencent.room()["Metadata"])


def test_mute_silences_the_user(aws, actuator, room, tencent):
    aws.send(make_action("mute_member", {"RoomId": room, "MemberList_Account": ["bob"], "MuteTime": 600}))
    deliver(aws, actuator)
    assert "bob" in json.dumps(tencent.room()["MutedAccountList"])


def test_ban_removes_the_user(aws, actuator, room, tencent):
    aws.send(
        make_action(
            "ban_member",
            {"RoomId": room, "MemberList_Account": ["bob"], "Duration": 3600, "Reason": "strikes"},
        )
    )
    deliver(aws, actuator)
    state = tencent.room()
    assert "bob" in json.dumps(state["BannedAccountList"])
    assert "bob" not in json.dumps(state["MemberList"])


def test_destroy_ends_the_room(aws, actuator, room, tencent):
    aws.send(make_action("destroy_room", {"RoomId": room}, rule="content-moderation"))
    deliver(aws, actuator)
    assert tencent.room() is None


# --- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [100001, 60007])
def test_a_burst_past_liveclients_retries_is_retried_from_the_delayed_queue_and_completes(
    aws, actuator, room, tencent, code
):
    # Given set_room_metadata fails with a retryable code for LiveClient's four attempts
    tencent.fault(command="set_room_metadata", code=code, next=4)
    actuator.queues = ImmediateDelays(aws)
    aws.send(make_action("set_room_metadata", {"RoomId": room, "Metadata": [{"Key": "k", "Value": "v"}]}))
    # When the record is delivered, it completes (its room's group goes on), nothing is
    # dead-lettered, and the action waits for its retry in the delayed-actions queue
    assert deliver(aws, actuator) == {"batchItemFailures": []}
    assert aws.dead_letters() == []
    assert [retries for _, retries, _ in actuator.queues.delays] == [1]
    # And when that queue hands it over, it completes and takes effect
    assert deliver(aws, actuator, delayed=True) == {"batchItemFailures": []}
    assert [call["code"] for call in tencent.calls("set_room_metadata")] == [code] * 4 + [0]
    assert {"Key": "k", "Value": "v"} in tencent.room()["Metadata"]


def test_an_invalid_parameter_from_tencent_ends_in_the_dlq_with_the_error(aws, actuator, room, tencent):
    # Given Tencent answers 100002 to the command
    tencent.fault(command="mute_member", code=100002)
    action = make_action("mute_member", {"RoomId": room, "MemberList_Account": ["bob"], "MuteTime": 60})
    aws.send(action)
    # When it is delivered, the record completes
    assert deliver(aws, actuator) == {"batchItemFailures": []}
    # Then the DLQ holds the action with Tencent's error and request id, and the audit says so
    [dead] = aws.dead_letters()
    [call] = tencent.calls("mute_member")
    assert dead["id"] == action.id
    assert dead["error"] == {
        "code": 100002,
        "info": "injected fault",
        "request_id": call["request_id"],
        "category": "permanent",
    }
    [audit] = aws.audit(room)
    assert audit["outcome"] == "failed"
    assert audit["error"]["code"] == 100002


def test_destroying_a_room_that_is_already_gone_is_done(aws, actuator, tencent):
    # Given no such room (Tencent answers 100004)
    aws.send(make_action("destroy_room", {"RoomId": "never-was"}, room="never-was"))
    # When the destroy action is delivered
    response = deliver(aws, actuator)
    # Then it completes as gone, with nothing dead-lettered
    assert response == {"batchItemFailures": []}
    assert [call["code"] for call in tencent.calls("destroy_room")] == [100004]
    assert aws.dead_letters() == []
    assert [audit["outcome"] for audit in aws.audit("never-was")] == ["gone"]


def test_the_same_action_delivered_twice_makes_one_rest_call(aws, actuator, room, tencent):
    action = make_action("set_room_metadata", {"RoomId": room, "Metadata": [{"Key": "k", "Value": "v"}]})
    aws.send(action)
    event = aws.receive_event()
    first = process_batch(actuator.handle_record, event, actuator_context())
    again = process_batch(actuator.handle_record, event, actuator_context())  # the same delivery, again
    aws.complete(event, again)
    aws.send(action.model_dump_json(), group=room, dedup="later")  # and a later copy
    later = deliver(aws, actuator)
    assert first == again == later == {"batchItemFailures": []}
    assert len(tencent.calls("set_room_metadata")) == 1


def test_an_action_failing_retryably_steps_out_of_its_rooms_line_and_lands_after_its_retry(
    aws, actuator, room, tencent
):
    # Given two metadata writes for one room, the first failing retryably past LiveClient's own
    # retries, and an action for another room
    tencent.fault(command="set_room_metadata", code=100001, next=4)
    actuator.queues = ImmediateDelays(aws)
    aws.send(make_action("set_room_metadata", {"RoomId": room, "Metadata": [{"Key": "first", "Value": "1"}]}))
    aws.send(
        make_action("set_room_metadata", {"RoomId": room, "Metadata": [{"Key": "second", "Value": "2"}]})
    )
    aws.send(make_action("destroy_room", {"RoomId": "elsewhere"}, room="elsewhere"))
    # When the batch is delivered, every record completes: the room's second write and the other
    # room's destroy run at once, behind nothing
    assert deliver(aws, actuator) == {"batchItemFailures": []}
    assert len(tencent.calls("destroy_room")) == 1
    assert [item["Key"] for item in tencent.room()["Metadata"]] == ["second"]
    # Then the first write lands when its retry comes from the delayed-actions queue: after the second
    assert deliver(aws, actuator, delayed=True) == {"batchItemFailures": []}
    keys = [item["Key"] for item in tencent.room()["Metadata"]]
    assert keys.index("second") < keys.index("first")


# --- commands no rule may run ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "params"),
    [
        ("set_callback", {"Url": "https://attacker.example/cb", "CallbackCommandList": []}),
        ("set_callback_token", {"Token": "attacker-token", "IsTokenEnable": False}),
        ("get_room_list", {}),
    ],
)
def test_a_configuration_command_on_the_actions_queue_never_reaches_tencent(
    aws, actuator, room, tencent, receiver, app_user, command, params
):
    # Given someone wrote a configuration command (or a read) to the actions queue
    aws.send(make_action(command, params, room=room))
    # When the actuator handles it
    assert deliver(aws, actuator) == {"batchItemFailures": []}
    # Then Tencent never received it: the emulator's call record has no such call
    assert tencent.calls(command) == []
    # And it is in the DLQ with its reason, audited as failed
    [dead] = aws.dead_letters()
    assert "is not a command rules may run" in dead["error"]["info"]
    assert [audit["outcome"] for audit in aws.audit(room)] == ["failed"]
    # And Tencent's webhooks still go where they went, signed with the token they had
    before = len(receiver.wait_for("Live.CallbackAfterMemberStateChanged", timeout=0))
    app_user("leave_room", "bob", RoomId=room)
    delivered = receiver.wait_for("Live.CallbackAfterMemberStateChanged", count=before + 1)
    assert [received.signature for received in delivered[before:]] == ["valid"]


# --- the Lambda handler, as deployed -----------------------------------------------------------


@pytest.fixture
def load_app(aws: Aws, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Callable[..., ModuleType]:
    """Import functions/actuator/app.py as a cold start would, its secret pointing at the emulator."""
    import boto3

    secret = {
        "SdkAppId": SDK_APP_ID,
        "SecretKey": KEY,
        "AdminIdentifier": ADMIN,
        "ApiBaseUrl": emulator.base_url,
    }
    arn = boto3.client("secretsmanager").create_secret(
        Name=f"liveguard/test/{emulator.base_url.rsplit(':', 1)[-1]}", SecretString=json.dumps(secret)
    )["ARN"]

    def load(**environment: str) -> ModuleType:
        settings = {
            "DELAYED_ACTIONS_QUEUE_URL": aws.delayed_url,
            "ACTIONS_DLQ_URL": aws.dlq_url,
            "STATE_TABLE_NAME": aws.table,
            "TENCENT_SECRET_ARN": arn,
            "POWERTOOLS_SERVICE_NAME": "liveguard-actuator",
            "POWERTOOLS_METRICS_NAMESPACE": "LiveGuardTest",
            **environment,
        }
        for key, value in settings.items():
            monkeypatch.setenv(key, value)
        return load_function("actuator")

    return load


def invoke(aws: Aws, app: ModuleType, *, delayed: bool = False) -> dict[str, Any]:
    event = aws.receive_event(delayed=delayed)
    response: dict[str, Any] = app.lambda_handler(event, actuator_context())
    aws.complete(event, response)
    aws.release(event, response)
    return response


def test_the_lambda_handler_runs_an_action_with_the_secrets_liveclient(aws, load_app, room, tencent, capsys):
    app = load_app(ACTUATOR_CONCURRENCY="2")
    aws.send(make_action("set_room_metadata", {"RoomId": room, "Metadata": [{"Key": "k", "Value": "v"}]}))
    assert invoke(aws, app) == {"batchItemFailures": []}
    assert {"Key": "k", "Value": "v"} in tencent.room()["Metadata"]
    assert app.actuator._client().limiter.rate("set_room_metadata") == 100
    # and the metric went out in the EMF line Powertools prints
    assert '"ActionDone"' in capsys.readouterr().out


def test_the_lambda_handler_runs_a_due_action_from_the_delayed_actions_queue(aws, load_app, room, tencent):
    # Given an action that waited in the delayed-actions queue (a standard queue) and is due now
    app = load_app()
    action = make_action("set_room_metadata", {"RoomId": room, "Metadata": [{"Key": "late", "Value": "v"}]})
    aws.sqs.send_message(QueueUrl=aws.delayed_url, MessageBody=action.message_body())
    # When the handler gets it as that queue's event source hands it over (no message group)
    # Then it runs, through the standard batch processor, and Tencent holds the metadata
    assert invoke(aws, app, delayed=True) == {"batchItemFailures": []}
    assert {"Key": "late", "Value": "v"} in tencent.room()["Metadata"]


def test_the_lambda_handler_in_dry_run_makes_no_rest_call(aws, load_app, room, tencent):
    app = load_app(DRY_RUN="true")
    aws.send(make_action("destroy_room", {"RoomId": room}))
    assert invoke(aws, app) == {"batchItemFailures": []}
    assert tencent.calls("destroy_room") == []
    assert tencent.room() is not None
    assert [audit["outcome"] for audit in aws.audit(room)] == ["dry_run"]


def test_the_lambda_handler_completes_a_retryable_failure_and_delays_its_retry(aws, load_app, room, tencent):
    app = load_app()
    app.actuator._client().backoff_base = 0.01
    tencent.fault(command="del_room_metadata", code=100001, next=4)
    aws.send(make_action("del_room_metadata", {"RoomId": room, "Keys": ["k"]}))
    event = aws.receive_event()
    response = app.lambda_handler(event, actuator_context())
    assert response == {"batchItemFailures": []}
    waiting = aws.sqs.get_queue_attributes(
        QueueUrl=aws.delayed_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert waiting["ApproximateNumberOfMessagesDelayed"] == "1"
