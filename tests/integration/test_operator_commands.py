"""`liveguard dlq replay` against moto's server, and `liveguard tencent configure` against the
Tencent Live emulator with the app's secret in moto."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from liveguard.messages import ActionMessage, EventEnvelope
from liveguard.tencent.client import LiveClient
from liveguard.tencent.commands.config import GetCallback, GetCallbackToken
from liveguard.tencent.errors import TencentApiError
from liveguard_local.emulator.callbacks import Actor
from liveguard_local.emulator.faults import RestFault
from liveguard_local.emulator.server import Emulator, EmulatorConfig
from liveguard_local.events import actuator_actions, moderator_envelopes
from liveguard_local.receiver import WebhookReceiver
from liveguard_ops.cli import main
from liveguard_ops.dlq import prepare, replay_dead_letters
from liveguard_ops.stack import stack_from_local_file
from tests.aws import commands_moto_server

from .conftest import ADMIN, KEY, SDK_APP_ID, TOKEN

QUEUE_ATTRIBUTES = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "messageGroup",
    "FifoThroughputLimit": "perMessageGroupId",
}


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def endpoint(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server; boto3 gets fake credentials and a region, and no endpoint: the commands must
    be told it (--endpoint, or the local stack's file)."""
    with commands_moto_server(monkeypatch_module) as url:
        yield url


@pytest.fixture
def sqs(endpoint: str) -> Any:
    return boto3.client("sqs", endpoint_url=endpoint)


@pytest.fixture
def queues(sqs: Any) -> dict[str, str]:
    """The template's six queues, named for a stage of this test's own (the delayed-actions queue
    and its DLQ are standard queues)."""
    stage = uuid.uuid4().hex[:8]
    names = {
        "EventsQueueUrl": f"liveguard-events-{stage}.fifo",
        "EventsDeadLetterQueueUrl": f"liveguard-events-dlq-{stage}.fifo",
        "ActionsQueueUrl": f"liveguard-actions-{stage}.fifo",
        "ActionsDeadLetterQueueUrl": f"liveguard-actions-dlq-{stage}.fifo",
    }
    created = {
        output: sqs.create_queue(QueueName=name, Attributes=QUEUE_ATTRIBUTES)["QueueUrl"]
        for output, name in names.items()
    }
    for output, name in {
        "DelayedActionsQueueUrl": f"liveguard-delayed-actions-{stage}",
        "DelayedActionsDeadLetterQueueUrl": f"liveguard-delayed-actions-dlq-{stage}",
    }.items():
        created[output] = sqs.create_queue(QueueName=name)["QueueUrl"]
    return created


@pytest.fixture
def local_file(tmp_path: Path, queues: dict[str, str]) -> Path:
    """A local stack's file as `liveguard local up` writes it (the queue URLs are moto's, so they
    also say where moto is)."""
    path = tmp_path / "local.json"
    path.write_text(json.dumps({"queues": queues}))
    return path


def dead_letter(sqs: Any, url: str, body: str, *, group: str, dedup: str, reason: str | None = None) -> None:
    extra: dict[str, Any] = {}
    if reason is not None:
        extra["MessageAttributes"] = {"Reason": {"DataType": "String", "StringValue": reason}}
    sqs.send_message(
        QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=dedup, **extra
    )


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message in the queue, in order (each group's in its order), deleted."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)


def envelopes() -> list[EventEnvelope]:
    return moderator_envelopes(received_at_ms=1_800_000_000_000)


def replay(*args: str) -> int:
    return main(["dlq", "replay", *args])


# --- dlq replay ------------------------------------------------------------------------------------


def test_events_go_back_to_their_queue_with_group_dedup_id_and_body_kept(sqs, queues, local_file, capsys):
    # Given three dead events, two of one room (in order) and one of another
    first, second, other = envelopes()[2], envelopes()[3], envelopes()[0]
    other = other.model_copy(update={"group": "live-room-9"})
    for envelope in (first, second, other):
        dedup = f"dead-{envelope.id[:20]}"
        dead_letter(
            sqs,
            queues["EventsDeadLetterQueueUrl"],
            envelope.model_dump_json(by_alias=True),
            group=envelope.group,
            dedup=dedup,
            reason="moderator: state unavailable",
        )
    # When they are replayed
    assert replay("--queue", "events", "--local-file", str(local_file)) == 0
    # Then each is back on the events queue as it was dead-lettered, each room's in order
    back = drain(sqs, queues["EventsQueueUrl"])
    assert [m["Body"] for m in back if m["Attributes"]["MessageGroupId"] == first.group] == [
        first.model_dump_json(by_alias=True),
        second.model_dump_json(by_alias=True),
    ]
    assert {m["Attributes"]["MessageGroupId"] for m in back} == {first.group, "live-room-9"}
    assert {m["Attributes"]["MessageDeduplicationId"] for m in back} == {
        f"dead-{e.id[:20]}" for e in (first, second, other)
    }
    # And the DLQ is empty, and the operator saw one line each and a summary
    assert drain(sqs, queues["EventsDeadLetterQueueUrl"]) == []
    out = capsys.readouterr().out
    assert out.count("replayed  ") == 3
    assert "(was: moderator: state unavailable)" in out
    assert "3 replayed, 0 failed, 0 left in the DLQ" in out


def test_a_refused_action_goes_back_without_the_error_the_actuator_added(sqs, queues, local_file, capsys):
    action = actuator_actions(envelopes())[0]
    error = {"code": 10004, "info": "invalid parameter", "request_id": "req-1", "category": "permanent"}
    body = json.dumps({**action.model_dump(mode="json"), "error": error}, separators=(",", ":"))
    dead_letter(sqs, queues["ActionsDeadLetterQueueUrl"], body, group=action.room, dedup="sqs-message-id-1")

    assert replay("--queue", "actions", "--local-file", str(local_file)) == 0

    (back,) = drain(sqs, queues["ActionsQueueUrl"])
    assert ActionMessage.model_validate_json(back["Body"]) == action  # the actuator's model forbids extras
    assert "error" not in json.loads(back["Body"])
    assert back["Attributes"]["MessageGroupId"] == action.room
    assert back["Attributes"]["MessageDeduplicationId"] == "sqs-message-id-1"
    assert "(was: ErrorCode 10004: invalid parameter)" in capsys.readouterr().out


def test_a_delayed_action_goes_back_to_the_delayed_actions_queue_without_group_or_dedup_id(
    sqs, queues, local_file, capsys
):
    # Given an action the actuator failed to handle 5 times from the delayed-actions queue (standard)
    action = actuator_actions(envelopes())[0].model_copy(update={"not_before": 1_800_000_000})
    sqs.send_message(QueueUrl=queues["DelayedActionsDeadLetterQueueUrl"], MessageBody=action.message_body())
    # When it is replayed
    assert replay("--queue", "delayed", "--local-file", str(local_file)) == 0
    # Then it is back in the delayed-actions queue as it was, with no FIFO attributes, and gone from the DLQ
    (back,) = drain(sqs, queues["DelayedActionsQueueUrl"])
    assert ActionMessage.model_validate_json(back["Body"]) == action
    assert "MessageGroupId" not in back["Attributes"]
    assert drain(sqs, queues["DelayedActionsDeadLetterQueueUrl"]) == []
    assert "delayed DLQ -> delayed queue: 1 replayed" in capsys.readouterr().out


def test_limit_moves_only_that_many_in_queue_order(sqs, queues, local_file):
    batch = envelopes()
    for envelope in batch[:5]:
        dead_letter(
            sqs,
            queues["EventsDeadLetterQueueUrl"],
            envelope.model_dump_json(by_alias=True),
            group="live-room-1",
            dedup=envelope.id,
        )
    assert replay("--queue", "events", "--limit", "2", "--local-file", str(local_file)) == 0
    moved = [EventEnvelope.model_validate_json(m["Body"]).id for m in drain(sqs, queues["EventsQueueUrl"])]
    assert moved == [envelope.id for envelope in batch[:2]]
    left = drain(sqs, queues["EventsDeadLetterQueueUrl"])
    assert [EventEnvelope.model_validate_json(m["Body"]).id for m in left] == [e.id for e in batch[2:5]]


def test_dry_run_moves_nothing_and_leaves_every_message_visible(sqs, queues, local_file, capsys):
    for envelope in envelopes()[:3]:
        dead_letter(
            sqs,
            queues["EventsDeadLetterQueueUrl"],
            envelope.model_dump_json(by_alias=True),
            group=envelope.group,
            dedup=envelope.id,
        )
    assert replay("--queue", "events", "--dry-run", "--local-file", str(local_file)) == 0
    out = capsys.readouterr().out
    assert out.count("would replay  ") == 3
    assert "3 would be replayed (dry run: nothing moved)" in out
    assert drain(sqs, queues["EventsQueueUrl"]) == []
    assert len(drain(sqs, queues["EventsDeadLetterQueueUrl"])) == 3  # visible at once, not in 120 s


def test_a_message_that_cannot_be_sent_stays_in_the_dlq_with_the_rest_of_its_group(
    sqs, queues, tmp_path, capsys
):
    # Given the events queue the file names does not exist
    broken = {**queues, "EventsQueueUrl": queues["EventsQueueUrl"].replace("-events-", "-gone-")}
    local_file = tmp_path / "local.json"
    local_file.write_text(json.dumps(broken))
    for envelope in envelopes()[2:4]:
        dead_letter(
            sqs,
            queues["EventsDeadLetterQueueUrl"],
            envelope.model_dump_json(by_alias=True),
            group="live-room-1",
            dedup=envelope.id,
        )
    # When a replay is tried, it fails and says so
    assert replay("--queue", "events", "--local-file", str(local_file)) == 1
    out = capsys.readouterr().out
    assert "FAILED    " in out
    # And nothing was deleted: both wait in the DLQ, in order, visible again
    left = drain(sqs, queues["EventsDeadLetterQueueUrl"])
    assert [EventEnvelope.model_validate_json(m["Body"]).id for m in left] == [e.id for e in envelopes()[2:4]]


def test_the_queues_come_from_the_stacks_outputs_with_stack(sqs, endpoint, capsys):
    # Given a deployed stack (moto's CloudFormation) with the template's queue outputs
    stage = uuid.uuid4().hex[:8]
    queue = {"Type": "AWS::SQS::Queue"}
    resources = {
        logical: {**queue, "Properties": {"QueueName": name, "FifoQueue": True}}
        for logical, name in {
            "EventsQueue": f"liveguard-events-{stage}.fifo",
            "EventsDeadLetterQueue": f"liveguard-events-dlq-{stage}.fifo",
            "ActionsQueue": f"liveguard-actions-{stage}.fifo",
            "ActionsDeadLetterQueue": f"liveguard-actions-dlq-{stage}.fifo",
        }.items()
    }
    outputs = {f"{logical}Url": {"Value": {"Ref": logical}} for logical in resources}
    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint)
    cloudformation.create_stack(
        StackName=f"liveguard-{stage}",
        TemplateBody=json.dumps({"Resources": resources, "Outputs": outputs}),
    )
    dlq = sqs.get_queue_url(QueueName=f"liveguard-actions-dlq-{stage}.fifo")["QueueUrl"]
    action = actuator_actions(envelopes())[-1]
    dead_letter(sqs, dlq, action.model_dump_json(), group=action.room, dedup=action.id)
    # When replayed by stack name
    status = replay("--queue", "actions", "--stack", f"liveguard-{stage}", "--endpoint", endpoint)
    # Then it is back on the stack's actions queue
    assert status == 0
    source = sqs.get_queue_url(QueueName=f"liveguard-actions-{stage}.fifo")["QueueUrl"]
    (back,) = drain(sqs, source)
    assert ActionMessage.model_validate_json(back["Body"]) == action


def test_without_a_local_stack_or_a_stack_name_it_says_what_to_give(endpoint, tmp_path, capsys):
    status = replay("--queue", "events", "--local-file", str(tmp_path / "absent.json"))
    assert status == 2
    assert "--stack" in capsys.readouterr().err


def test_an_action_dead_lettered_again_during_the_run_is_not_replayed_twice(sqs, queues):
    # Given a source that dead-letters every action straight back (as for a permanent refusal)
    class BouncingSqs:
        def __init__(self, client: Any) -> None:
            self.client = client

        def __getattr__(self, name: str) -> Any:
            return getattr(self.client, name)

        def send_message(self, **message: Any) -> Any:
            sent = self.client.send_message(**message)
            dead_letter(
                self.client,
                queues["ActionsDeadLetterQueueUrl"],
                message["MessageBody"],
                group=message["MessageGroupId"],
                dedup=uuid.uuid4().hex,
            )
            return sent

    action = actuator_actions(envelopes())[0]
    dead_letter(sqs, queues["ActionsDeadLetterQueueUrl"], action.model_dump_json(), group="g", dedup="d1")
    lines: list[str] = []
    report = replay_dead_letters(
        BouncingSqs(sqs),
        kind="actions",
        source_url=queues["ActionsQueueUrl"],
        dlq_url=queues["ActionsDeadLetterQueueUrl"],
        out=lines.append,
    )
    # Then it went back once, and its second dead letter waits in the DLQ
    assert (report.replayed, report.left, report.failed) == (1, 1, 0)
    assert len(drain(sqs, queues["ActionsQueueUrl"])) == 1
    assert len(drain(sqs, queues["ActionsDeadLetterQueueUrl"])) == 1


def test_prepare_falls_back_to_the_bodys_id_and_unwraps_a_malformed_actions_raw_body():
    action = actuator_actions(envelopes())[0]
    replay = prepare("actions", {"MessageId": "m1", "Body": action.model_dump_json(), "Attributes": {}})
    assert (replay.deduplication_id, replay.group) == (action.id, action.room)
    raw = '{"v": 1, "command": "mute_member"}'
    error = {"code": None, "info": "not an ActionMessage: id: Field required", "category": "permanent"}
    replay = prepare(
        "actions",
        {
            "MessageId": "m2",
            "Body": json.dumps({"raw": raw, "error": error}),
            "Attributes": {"MessageGroupId": "live-room-1", "MessageDeduplicationId": "m0"},
        },
    )
    assert (replay.body, replay.group, replay.deduplication_id) == (raw, "live-room-1", "m0")
    assert replay.why == "not an ActionMessage: id: Field required"


def test_the_local_file_is_read_whatever_its_keys(tmp_path, queues):
    endpoint = queues["EventsQueueUrl"].rsplit("/", 2)[0]
    shapes = [
        queues,
        # as `liveguard local up` writes it: the template's outputs, endpoints, moto's credentials
        {
            "endpoints": {"aws": endpoint},
            "aws_credentials": {"AWS_ENDPOINT_URL": endpoint},
            "outputs": queues,
        },
        {"aws": {"endpoint": "x", "sqs": {"events": {"url": queues["EventsQueueUrl"]}}}, "other": queues},
        {"EVENTS_QUEUE_URL": queues["EventsQueueUrl"], "events_dlq_url": queues["EventsDeadLetterQueueUrl"]},
        {"queues": list(queues.values())},
    ]
    for shape in shapes:
        path = tmp_path / "local.json"
        path.write_text(json.dumps(shape))
        stack = stack_from_local_file(path)
        assert stack.output("EventsQueueUrl") == queues["EventsQueueUrl"], shape
        assert stack.output("EventsDeadLetterQueueUrl") == queues["EventsDeadLetterQueueUrl"], shape
        assert stack.endpoint is not None
        assert queues["EventsQueueUrl"].startswith(stack.endpoint)


# --- tencent configure -----------------------------------------------------------------------------

NEW_TOKEN = "rotated-callback-token-for-tests"


@pytest.fixture
def app_secret(endpoint: str, emulator: Emulator) -> str:
    """LiveGuard's Tencent secret in moto, pointing at the emulator, with a new webhook token."""
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint)
    value = {
        "SdkAppId": SDK_APP_ID,
        "SecretKey": KEY,
        "AdminIdentifier": ADMIN,
        "CallbackToken": NEW_TOKEN,
        "ApiBaseUrl": emulator.base_url,
    }
    arn: str = secrets.create_secret(
        Name=f"liveguard/{uuid.uuid4().hex[:8]}/tencent", SecretString=json.dumps(value)
    )["ARN"]
    return arn


@pytest.fixture
def new_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(token=NEW_TOKEN) as server:
        yield server


def configure(*args: str) -> int:
    return main(["tencent", "configure", *args])


def test_configure_points_the_webhooks_at_the_url_signed_with_the_secrets_token(
    endpoint, app_secret, client, app_user, receiver, new_receiver, capsys
):
    # When LiveGuard's stack is configured as the app's webhook, from its secret
    status = configure("--url", new_receiver.url, "--secret", app_secret, "--endpoint", endpoint)
    # Then the emulator holds the secret's token, enabled
    assert status == 0
    current = client.call(GetCallbackToken())
    assert current.token is not None
    assert (current.token.get_secret_value(), current.is_token_enable) == (NEW_TOKEN, True)
    # And the app's webhooks go to the new URL, signed with it
    app_user("create_room", "host", RoomId="r1")
    (created,) = new_receiver.wait_for("Live.CallbackAfterCreateRoom")
    assert created.signature == "valid"
    assert receiver.commands() == []
    # And neither the token nor the key was printed
    out = capsys.readouterr()
    assert NEW_TOKEN not in out.out + out.err
    assert KEY not in out.out + out.err
    assert "update_callback: " in out.out  # the emulator starts configured, as in the console
    assert "set_callback_token: token set" in out.out


def test_configure_subscribes_only_the_commands_given(endpoint, app_secret, app_user, new_receiver):
    status = configure(
        "--url",
        new_receiver.url,
        "--secret",
        app_secret,
        "--endpoint",
        endpoint,
        "--commands",
        "Live.CallbackAfterSetMetadata",
    )
    assert status == 0
    app_user("create_room", "host", RoomId="r2")
    app_user("set_room_metadata", "host", RoomId="r2", Metadata=[{"Key": "topic", "Value": "chess"}])
    new_receiver.wait_for("Live.CallbackAfterSetMetadata")
    assert new_receiver.commands() == ["Live.CallbackAfterSetMetadata"]


def test_configure_takes_the_token_from_another_secret(endpoint, app_secret, client):
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint)
    token_arn = secrets.create_secret(
        Name=f"tokens/{uuid.uuid4().hex[:8]}", SecretString="from-its-own-secret"
    )["ARN"]
    status = configure(
        "--url",
        "https://example.com/dev/tencent/callback",
        "--secret",
        app_secret,
        "--token-from-secret",
        token_arn,
        "--endpoint",
        endpoint,
    )
    assert status == 0
    current = client.call(GetCallbackToken())
    assert current.token is not None
    assert current.token.get_secret_value() == "from-its-own-secret"


def test_configure_finds_the_secret_in_the_local_stacks_file(endpoint, app_secret, client, tmp_path, queues):
    local_file = tmp_path / "local.json"
    local_file.write_text(json.dumps({"queues": queues, "secrets": {"TencentSecretArn": app_secret}}))
    status = configure("--url", "https://example.com/cb", "--local-file", str(local_file))
    assert status == 0
    current = client.call(GetCallbackToken())
    assert current.token is not None
    assert current.token.get_secret_value() == NEW_TOKEN


def test_an_unusable_secret_is_refused_without_showing_its_values(endpoint, emulator, client, capsys):
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint)
    long_token = "t" * 200  # over Tencent's 128 characters
    value = {
        "SdkAppId": SDK_APP_ID,
        "SecretKey": KEY,
        "AdminIdentifier": ADMIN,
        "CallbackToken": long_token,
        "ApiBaseUrl": emulator.base_url,
    }
    arn = secrets.create_secret(
        Name=f"liveguard/{uuid.uuid4().hex[:8]}/tencent", SecretString=json.dumps(value)
    )["ARN"]
    status = configure("--url", "https://example.com/cb", "--secret", arn, "--endpoint", endpoint)
    assert status == 2
    out = capsys.readouterr()
    assert "CallbackToken" in out.err
    assert long_token not in out.out + out.err
    assert KEY not in out.out + out.err
    # And the emulator still has the token it started with
    current = client.call(GetCallbackToken())
    assert current.token is not None
    assert current.token.get_secret_value() == TOKEN


# --- tencent configure: re-runnable, all or nothing ---------------------------------------------------


def tencent_secret(endpoint: str, base_url: str, **keys: str) -> str:
    """A Tencent secret in moto for the app at ``base_url``, with the given extra keys."""
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint)
    value = {
        "SdkAppId": SDK_APP_ID,
        "SecretKey": KEY,
        "AdminIdentifier": ADMIN,
        "ApiBaseUrl": base_url,
        **keys,
    }
    arn: str = secrets.create_secret(
        Name=f"liveguard/{uuid.uuid4().hex[:8]}/tencent", SecretString=json.dumps(value)
    )["ARN"]
    return arn


def set_secret_token(endpoint: str, arn: str, token: str) -> None:
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint)
    value = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({**value, "CallbackToken": token}))


def written(emulator: Emulator) -> list[str]:
    """The live_config writes the emulator answered, in order (reads left out)."""
    return [
        f"{call['command']}:{call['code']}"
        for call in emulator.calls()
        if call["service"] == "live_config" and not call["command"].startswith("get_")
    ]


def code_of(call: Any) -> int | None:
    with pytest.raises(TencentApiError) as raised:
        call()
    return raised.value.code


@pytest.fixture
def fresh_emulator() -> Iterator[Emulator]:
    """An app nobody configured: no webhook configuration, no token."""
    with Emulator(EmulatorConfig(sdk_app_id=SDK_APP_ID, secret_key=KEY, admin=ADMIN)) as running:
        yield running


@pytest.fixture
def fresh_client(fresh_emulator: Emulator, http: Any) -> LiveClient:
    return LiveClient(
        sdk_app_id=SDK_APP_ID,
        secret_key=KEY,
        admin_identifier=ADMIN,
        base_url=fresh_emulator.base_url,
        http=http,
    )


def test_a_first_run_on_a_fresh_app_creates_the_configuration(
    endpoint, fresh_emulator, fresh_client, new_receiver, capsys
):
    # Given an app with no webhook configuration and no token
    arn = tencent_secret(endpoint, fresh_emulator.base_url, CallbackToken=NEW_TOKEN)
    # When configure runs
    status = configure("--url", new_receiver.url, "--secret", arn, "--endpoint", endpoint)
    # Then it set the token, then created the configuration (set_callback), nothing else
    assert status == 0
    assert written(fresh_emulator) == ["set_callback_token:0", "set_callback:0"]
    current = fresh_client.call(GetCallback())
    assert current.url == new_receiver.url
    assert "Live.CallbackAfterCreateRoom" in current.callback_command_list
    assert "ContentCallback.ResultNotify" not in current.callback_command_list  # not a live_config command
    # And the app's callbacks reach the URL, signed with the secret's token
    fresh_emulator.world.create_room(Actor("host", platform="iOS"), {"RoomId": "r1", "RoomType": "Live"})
    (created,) = new_receiver.wait_for("Live.CallbackAfterCreateRoom")
    assert created.signature == "valid"
    out = capsys.readouterr()
    assert NEW_TOKEN not in out.out + out.err
    assert KEY not in out.out + out.err


def test_a_second_identical_run_changes_nothing(endpoint, fresh_emulator, new_receiver, capsys):
    # Given an app configured by a first run
    arn = tencent_secret(endpoint, fresh_emulator.base_url, CallbackToken=NEW_TOKEN)
    assert configure("--url", new_receiver.url, "--secret", arn, "--endpoint", endpoint) == 0
    first = written(fresh_emulator)
    capsys.readouterr()
    # When the same command runs again
    status = configure("--url", new_receiver.url, "--secret", arn, "--endpoint", endpoint)
    # Then it succeeds having written nothing, and says so
    assert status == 0
    assert written(fresh_emulator) == first
    assert "already configured as asked: nothing changed" in capsys.readouterr().out


def test_an_app_configured_in_the_console_is_updated_not_created(
    endpoint, app_secret, emulator, client, new_receiver
):
    # Given an app whose webhook was set in Tencent's console (the emulator starts with a URL and a token)
    # When configure runs
    status = configure("--url", new_receiver.url, "--secret", app_secret, "--endpoint", endpoint)
    # Then the configuration was updated (set_callback would answer 100300), after the token
    assert status == 0
    assert written(emulator) == ["set_callback_token:0", "update_callback:0"]
    assert client.call(GetCallback()).url == new_receiver.url


def test_a_rotated_token_is_the_only_thing_changed(
    endpoint, app_secret, emulator, client, app_user, new_receiver
):
    # Given an app configured with the secret's token
    assert configure("--url", new_receiver.url, "--secret", app_secret, "--endpoint", endpoint) == 0
    before = written(emulator)
    # When the secret's token is rotated and configure runs again
    set_secret_token(endpoint, app_secret, "the-next-token")
    status = configure("--url", new_receiver.url, "--secret", app_secret, "--endpoint", endpoint)
    # Then only the token was written, and callbacks are signed with the new one
    assert status == 0
    assert written(emulator)[len(before) :] == ["set_callback_token:0"]
    token = client.call(GetCallbackToken()).token
    assert token is not None
    assert token.get_secret_value() == "the-next-token"
    with WebhookReceiver(token="the-next-token") as checker:
        client.execute(
            "update_callback", {"Url": checker.url, "CallbackCommandList": ["Live.CallbackAfterCreateRoom"]}
        )
        app_user("create_room", "host", RoomId="r9")
        (created,) = checker.wait_for("Live.CallbackAfterCreateRoom")
        assert created.signature == "valid"


def test_a_failure_after_the_token_leaves_tencent_as_it_was(
    endpoint, app_secret, emulator, client, http, app_user, receiver, new_receiver, capsys
):
    # Given an app configured in the console (URL receiver.url, token TOKEN), and Tencent failing
    # update_callback for good
    http.post(
        f"{emulator.base_url}/emulator/v1/faults",
        json={"rest": [{"command": "update_callback", "code": 60020}]},
    )
    # When configure runs: the token is switched, then the URL fails
    status = configure("--url", new_receiver.url, "--secret", app_secret, "--endpoint", endpoint)
    # Then it fails saying Tencent was put back, and never shows a token
    assert status == 1
    out = capsys.readouterr()
    assert "the previous token was put back" in out.err
    assert NEW_TOKEN not in out.out + out.err
    assert TOKEN not in out.out + out.err
    assert written(emulator) == ["set_callback_token:0", "update_callback:60020", "set_callback_token:0"]
    # And Tencent is complete in its previous state: the old URL, the old token, enabled
    http.post(f"{emulator.base_url}/emulator/v1/faults", json={"clear": True})
    assert client.call(GetCallback()).url == receiver.url
    token = client.call(GetCallbackToken())
    assert token.token is not None
    assert (token.token.get_secret_value(), token.is_token_enable) == (TOKEN, True)
    # So callbacks still reach the old URL, validly signed for it, and none the new one
    app_user("create_room", "host", RoomId="r1")
    (created,) = receiver.wait_for("Live.CallbackAfterCreateRoom")
    assert created.signature == "valid"
    assert new_receiver.commands() == []


def test_a_failure_on_a_fresh_app_leaves_it_unconfigured_and_unsigned(
    endpoint, fresh_emulator, fresh_client, http, new_receiver, capsys
):
    # Given a fresh app, and Tencent failing set_callback for good
    arn = tencent_secret(endpoint, fresh_emulator.base_url, CallbackToken=NEW_TOKEN)
    http.post(
        f"{fresh_emulator.base_url}/emulator/v1/faults",
        json={"rest": [{"command": "set_callback", "code": 60020}]},
    )
    # When configure runs
    status = configure("--url", new_receiver.url, "--secret", arn, "--endpoint", endpoint)
    # Then it fails, and the app is left as it was: no configuration, and no signing in force
    # (a token cannot be deleted, so the one set is switched off)
    assert status == 1
    assert "the previous token was put back" in capsys.readouterr().err
    http.post(f"{fresh_emulator.base_url}/emulator/v1/faults", json={"clear": True})
    assert code_of(lambda: fresh_client.call(GetCallback())) == 100301
    assert fresh_client.call(GetCallbackToken()).is_token_enable is False


def test_a_failing_token_step_changes_nothing(endpoint, app_secret, emulator, client, http, receiver, capsys):
    # Given Tencent failing set_callback_token
    http.post(
        f"{emulator.base_url}/emulator/v1/faults",
        json={"rest": [{"command": "set_callback_token", "code": 60020}]},
    )
    # When configure runs
    status = configure("--url", "https://example.com/cb", "--secret", app_secret, "--endpoint", endpoint)
    # Then it fails before any change: the URL was never touched
    assert status == 1
    assert written(emulator) == ["set_callback_token:60020"]
    http.post(f"{emulator.base_url}/emulator/v1/faults", json={"clear": True})
    assert client.call(GetCallback()).url == receiver.url


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ({"CallbackToken": NEW_TOKEN}, "the CallbackToken key of secret"),
        (
            {"CallbackToken": NEW_TOKEN, "ChatCallbackToken": "chat-only-token"},
            "the ChatCallbackToken key of secret",
        ),
    ],
)
def test_the_chat_side_is_explained_naming_the_secrets_key_never_its_value(
    endpoint, fresh_emulator, new_receiver, capsys, keys, named
):
    # Given a secret with the Live token, and maybe a separate Chat token
    arn = tencent_secret(endpoint, fresh_emulator.base_url, **keys)
    # When configure runs
    assert configure("--url", new_receiver.url, "--secret", arn, "--endpoint", endpoint) == 0
    # Then it says what to set in the Chat console: the same URL, the token by its key, the callbacks
    out = capsys.readouterr()
    assert "Chat console" in out.out
    assert f"callback URL: {new_receiver.url}" in out.out
    assert f"{named} {arn}" in out.out
    assert "Group.CallbackBeforeSendMsg" in out.out
    assert "ContentCallback.ResultNotify" in out.out
    for value in (*keys.values(), KEY):
        assert value not in out.out + out.err


def test_when_putting_the_token_back_fails_too_it_says_so_and_a_rerun_finishes(
    endpoint, app_secret, emulator, client, http, new_receiver, capsys
):
    # Given Tencent failing update_callback (slowly), and failing set_callback_token from the moment
    # the first set_callback_token has gone through: the put-back will fail too
    http.post(
        f"{emulator.base_url}/emulator/v1/faults",
        json={"rest": [{"command": "update_callback", "code": 60020, "latency": 1.0}]},
    )

    def break_token_after_first_success() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(c["command"] == "set_callback_token" and c["code"] == 0 for c in emulator.calls()):
                emulator.faults.add([RestFault(command="set_callback_token", code=60020)])
                return
            time.sleep(0.005)

    breaker = threading.Thread(target=break_token_after_first_success)
    breaker.start()
    # When configure runs
    status = configure("--url", new_receiver.url, "--secret", app_secret, "--endpoint", endpoint)
    breaker.join()
    # Then it fails saying exactly in which state Tencent is, and what to do
    assert status == 1
    err = capsys.readouterr().err
    assert "signs with the new token but calls the previous URL; run this command again" in err
    # And once Tencent works again, running it again finishes the job
    http.post(f"{emulator.base_url}/emulator/v1/faults", json={"clear": True})
    assert configure("--url", new_receiver.url, "--secret", app_secret, "--endpoint", endpoint) == 0
    assert client.call(GetCallback()).url == new_receiver.url
    token = client.call(GetCallbackToken()).token
    assert token is not None
    assert token.get_secret_value() == NEW_TOKEN
