"""`liveguard local up`, end to end: the stack from template.yaml started in-process on free ports,
then driven over HTTP only (the emulator's client API as app users, the API front, moto's endpoint):
webhook -> API front -> ingress -> events queue -> moderator -> actions queue -> actuator -> emulator.

Queues get a 1 s visibility timeout here (the template says 180 s) so that retries and redrive to the
DLQs happen within the test's time; everything else is the template's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from liveguard_local.stack import LocalStack, LocalStackError, LocalStackOptions
from liveguard_local.stack.pollers import failed_ids
from liveguard_local.stack.template import SqsSource
from liveguard_local.stack.workers import FunctionPool, Result, WorkerSpec
from tests.aws import free_port

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY = 1


@dataclass
class Local:
    stack: LocalStack
    settings: dict[str, Any]
    console: list[str]
    http: httpx.Client

    @property
    def emulator(self) -> str:
        return str(self.settings["endpoints"]["emulator"])

    def aws(self, service: str) -> Any:
        credentials = self.settings["aws_credentials"]
        return boto3.client(
            service,
            endpoint_url=self.settings["endpoints"]["aws"],
            region_name=credentials["AWS_REGION"],
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )

    def act(self, action: str, user: str, **fields: Any) -> dict[str, Any]:
        """An app user's action through the emulator's client API."""
        reply: dict[str, Any] = self.http.post(
            f"{self.emulator}/emulator/v1/client/{action}", json={"UserId": user, **fields}
        ).json()
        return reply

    def metadata(self, room_id: str) -> dict[str, str]:
        room = self.http.get(f"{self.emulator}/emulator/v1/rooms/{room_id}").json()
        return {item["Key"]: item["Value"] for item in room.get("Metadata", [])}

    def calls(self, command: str, room_id: str) -> list[dict[str, Any]]:
        calls = self.http.get(f"{self.emulator}/emulator/v1/calls").json()["calls"]
        return [
            call
            for call in calls
            if call["command"] == command and (call["body"] or {}).get("RoomId") == room_id
        ]

    def faults(self, body: dict[str, Any]) -> None:
        self.http.post(f"{self.emulator}/emulator/v1/faults", json=body).raise_for_status()

    def settle(self, timeout: float = 10) -> None:
        """Wait until nothing moves: webhooks delivered, the events and actions queues empty, and no
        action waiting in the delayed-actions queue (so the
        effects of earlier tests cannot use up this test's injected faults)."""
        self.http.get(f"{self.emulator}/emulator/v1/webhooks")  # returns once deliveries are done
        sqs = self.aws("sqs")

        def empty() -> bool:
            for name in ("EventsQueue", "ActionsQueue", "DelayedActionsQueue"):
                attributes = sqs.get_queue_attributes(
                    QueueUrl=self.settings["queues"][name],
                    AttributeNames=[
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed",
                    ],
                )["Attributes"]
                if any(int(value) for value in attributes.values()):
                    return False
            return True

        wait_for(empty, timeout, "the queues to empty")


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``check`` every 50 ms until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    state = tmp_path_factory.mktemp("local-stack")
    console: list[str] = []
    options = LocalStackOptions(
        port=0,
        emulator_port=0,
        aws_port=0,
        template=ROOT / "template.yaml",
        state_dir=state,
        visibility_timeout=VISIBILITY,
        console=console.append,
    )
    with LocalStack(options) as stack, httpx.Client(timeout=10) as http:
        settings = json.loads((state / "local.json").read_text(encoding="utf-8"))
        yield Local(stack, settings, console, http)
    assert not (state / "local.json").exists(), "local.json outlived the stack"


def test_local_json_names_every_endpoint_and_the_generated_credentials(local):
    settings = local.settings
    endpoints = settings["endpoints"]
    assert set(endpoints) >= {"api", "callback", "emulator", "aws"}
    assert endpoints["callback"] == endpoints["api"] + "/tencent/callback"
    # Each answers: the API front as an HTTP API does for a route the template does not declare...
    assert local.http.get(endpoints["api"] + "/nowhere").status_code == 404
    # ...the emulator...
    assert local.http.get(endpoints["emulator"] + "/emulator/v1/faults").json() == {"rest": []}
    # ...and moto, with the template's six queues under the Stage=local names.
    assert set(settings["queues"]) == {
        "EventsQueue",
        "EventsDeadLetterQueue",
        "ActionsQueue",
        "ActionsDeadLetterQueue",
        "DelayedActionsQueue",
        "DelayedActionsDeadLetterQueue",
    }
    assert sorted(local.aws("sqs").list_queues()["QueueUrls"]) == sorted(settings["queues"].values())
    assert settings["queues"]["EventsQueue"].endswith("/liveguard-events-local.fifo")
    assert settings["tables"] == {"StateTable": "liveguard-state-local"}
    assert settings["outputs"]["CallbackUrl"] == endpoints["callback"]
    # The generated secret: in local.json and in the local Secrets Manager alike.
    secret = settings["secret"]
    assert secret["SdkAppId"] == 1400000001
    assert secret["AdminIdentifier"] == "administrator"
    assert secret["ApiBaseUrl"] == endpoints["emulator"]
    assert len(secret["SecretKey"]) >= 32
    assert len(secret["CallbackToken"]) >= 32
    # Each Tencent side its own token, so every local run checks the ingress picks the right one.
    assert len(secret["ChatCallbackToken"]) >= 32
    assert secret["ChatCallbackToken"] != secret["CallbackToken"]
    arn = settings["secrets"]["TencentSecret"]
    assert ":secret:liveguard/local/tencent-" in arn
    stored = local.aws("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    assert json.loads(stored) == secret
    assert settings["aws_credentials"]["AWS_ENDPOINT_URL"] == endpoints["aws"]
    assert settings["functions"]["IngressFunction"]["environment"]["TENCENT_SECRET_ARN"] == arn


def test_a_function_logging_in_lambdas_json_format_sees_lambdas_log_variables(local):
    # Given the template's ingress, which logs in Lambda's JSON format, and the moderator, in text
    specs = {spec.logical_id: spec for spec in local.stack.functions}
    # When their processes' environments are made
    ingress = local.stack.function_environment(specs["IngressFunction"])
    moderator = local.stack.function_environment(specs["ModeratorFunction"])
    # Then the ingress sees what Lambda sets for it (Powertools' Logger follows AWS_LAMBDA_LOG_LEVEL),
    # at LogLevel INFO's application level; the moderator sees neither, as in Lambda
    assert (ingress["AWS_LAMBDA_LOG_FORMAT"], ingress["AWS_LAMBDA_LOG_LEVEL"]) == ("JSON", "INFO")
    assert not {"AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL"} & set(moderator)


def test_the_queues_and_the_table_are_made_from_the_templates_definitions(local):
    sqs = local.aws("sqs")
    queues = local.settings["queues"]
    events = sqs.get_queue_attributes(QueueUrl=queues["EventsQueue"], AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=queues["EventsDeadLetterQueue"], AttributeNames=["QueueArn"])
    assert events["FifoQueue"] == "true"
    assert events["ContentBasedDeduplication"] == "false"
    assert events["DeduplicationScope"] == "messageGroup"
    assert events["FifoThroughputLimit"] == "perMessageGroupId"
    assert events["MessageRetentionPeriod"] == "1209600"
    assert events["VisibilityTimeout"] == str(VISIBILITY)  # the one override (the template: 180)
    assert json.loads(events["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq["Attributes"]["QueueArn"],
        "maxReceiveCount": 5,
    }
    dynamodb = local.aws("dynamodb")
    table = dynamodb.describe_table(TableName="liveguard-state-local")["Table"]
    assert {(key["AttributeName"], key["KeyType"]) for key in table["KeySchema"]} == {
        ("pk", "HASH"),
        ("sk", "RANGE"),
    }
    ttl = dynamodb.describe_time_to_live(TableName="liveguard-state-local")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}


def test_the_delayed_actions_queue_is_standard_and_holds_a_message_for_its_delay(local):
    # Given the delayed-actions queue as the template makes it
    sqs = local.aws("sqs")
    url = local.settings["queues"]["DelayedActionsQueue"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert url.endswith("/liveguard-delayed-actions-local")
    assert "FifoQueue" not in attributes
    dlq = sqs.get_queue_attributes(
        QueueUrl=local.settings["queues"]["DelayedActionsDeadLetterQueue"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq, "maxReceiveCount": 5}
    # When a message is sent with a delay, as the moderator sends a delayed action (this one is not
    # an action: the actuator that polls the queue dead-letters it once it is visible)
    sqs.send_message(QueueUrl=url, MessageBody="not an action", DelaySeconds=30)
    try:
        # Then moto keeps it hidden for its delay, as SQS does
        counted = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )
        assert counted["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
        assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    finally:
        sqs.purge_queue(QueueUrl=url)


def test_a_new_room_gets_its_default_metadata_through_the_whole_chain(local):
    # Given a host who starts a live in the app
    local.act("create_room", "host", RoomId="local-1")
    # Then rule 8 set the room's default metadata: webhook -> API -> ingress -> events queue ->
    # moderator -> actions queue -> actuator -> the emulator's REST API
    values = wait_for(lambda: local.metadata("local-1"), 10, "the default metadata")
    assert values.get("lg.rules-version") == "1"
    # And every function ran in its own instance, one console line per invocation (the actuator's
    # line comes once its invocation has returned, a moment after the emulator has the metadata)
    functions = {"IngressFunction", "ModeratorFunction", "ActuatorFunction"}
    wait_for(lambda: {i.function for i in local.stack.invocations} >= functions, 5, "every function")
    wait_for(lambda: len(local.console) == len(local.stack.invocations), 5, "a line per invocation")
    assert any("ActuatorFunction" in line and " ok " in line for line in local.console)


def test_a_paused_event_source_leaves_its_queue_alone_until_resumed(local):
    # Given the moderator's pollers paused (as a disabled event source mapping)
    (pollers,) = local.stack.pollers("ModeratorFunction")
    assert pollers.pause(10)
    try:
        # When a room is created: its webhook is queued for the moderator
        local.act("create_room", "host", RoomId="local-paused")
        sqs = local.aws("sqs")

        def queued() -> int:
            attributes = sqs.get_queue_attributes(
                QueueUrl=local.settings["queues"]["EventsQueue"],
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]
            return int(attributes["ApproximateNumberOfMessages"])

        wait_for(queued, 10, "the event in the events queue")
        time.sleep(1.5)  # longer than a long poll: a poller that was not paused would have taken it
        # Then it stays there, and the room gets no default metadata meanwhile
        assert queued() == 1
        assert local.metadata("local-paused") == {}
    finally:
        pollers.resume()
    # And once resumed, the moderator takes it and the chain runs to the end
    values = wait_for(lambda: local.metadata("local-paused"), 10, "the default metadata")
    assert values.get("lg.rules-version") == "1"


def test_a_comment_with_a_banned_term_comes_back_masked(local):
    local.act("create_room", "host", RoomId="local-2")
    local.act("enter_room", "viewer", RoomId="local-2")
    # The emulator asks the ingress before delivering (Group.CallbackBeforeSendMsg), in time
    reply = local.act("send_text_msg", "viewer", RoomId="local-2", Text="free coins here")
    assert reply["ErrorCode"] == 0
    assert reply["Response"]["text"] == "********** here"


def test_a_failing_action_is_retried_from_the_delayed_actions_queue_until_done(local):
    # Given Tencent failing the next 6 set_room_metadata calls with a retryable error: more than
    # LiveClient retries within one invocation (4 attempts), so the actuator retries the action later
    local.settle()
    local.faults({"rest": [{"command": "set_room_metadata", "code": 100001, "next": 6}]})
    # When a room is created (rule 8 queues its default metadata)
    local.act("create_room", "host", RoomId="local-3")
    # Then the action comes back from the delayed-actions queue after its first backoff (5 s), and
    # that invocation gets it done
    wait_for(lambda: local.metadata("local-3").get("lg.rules-version") == "1", 20, "the retried action")
    codes = [call["code"] for call in local.calls("set_room_metadata", "local-3")]
    assert codes == [100001] * 6 + [0]

    def actuator_outcomes() -> list[str]:
        return [
            invocation.outcome
            for invocation in local.stack.invocations
            if invocation.function == "ActuatorFunction" and invocation.detail == "group local-3"
        ]

    # The poller's own record: the FIFO record was completed (its room's group not held), not failed
    assert actuator_outcomes()[:1] == ["ok"]


def test_an_action_failing_on_every_receive_is_redriven_to_the_dlq(local):
    # Given Tencent failing every set_room_metadata call for a while (5 receives x 4 attempts), and
    # SQS refusing the actuator's retries (sends to the delayed-actions queue), so each record fails
    local.settle()
    local.faults({"rest": [{"command": "set_room_metadata", "code": 100001, "next": 20}]})
    local.stack.refuse_sqs_sends(["liveguard-delayed-actions-local"])
    try:
        local.act("create_room", "host", RoomId="local-4")
        # Then after maxReceiveCount (5) receives the action is in the actions DLQ, by SQS's redrive
        sqs = local.aws("sqs")
        dlq = local.settings["queues"]["ActionsDeadLetterQueue"]

        def dead_letters() -> list[dict[str, Any]]:
            return sqs.receive_message(
                QueueUrl=dlq, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], WaitTimeSeconds=1
            ).get("Messages", [])

        # Each receive: LiveClient's 4 attempts, then boto3's own retries of the refused send
        messages = wait_for(dead_letters, 60, "the action in the DLQ")
        assert len(messages) == 1
        action = json.loads(messages[0]["Body"])
        assert (action["command"], action["room"]) == ("set_room_metadata", "local-4")
        assert messages[0]["Attributes"]["MessageGroupId"] == "local-4"
        assert len(local.calls("set_room_metadata", "local-4")) == 20
        assert "lg.rules-version" not in local.metadata("local-4")
    finally:
        local.stack.refuse_sqs_sends([])
        local.faults({"clear": True})


def test_moto_hands_a_fifo_group_back_in_order_after_a_timeout_and_redrives_it_in_order(local):
    # moto 5.2.5 alone hands back the group's last message first; the stack's moto is fixed.
    sqs = local.aws("sqs")
    fifo = {"FifoQueue": "true", "VisibilityTimeout": "1"}
    dlq = sqs.create_queue(QueueName="order-dlq.fifo", Attributes=fifo)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    queue = sqs.create_queue(QueueName="order.fifo", Attributes={**fifo, "RedrivePolicy": redrive})[
        "QueueUrl"
    ]
    for body in "abc":
        sqs.send_message(QueueUrl=queue, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=body)

    def receive(url: str, wait: int) -> list[str]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait)
        return [message["Body"] for message in messages.get("Messages", [])]

    assert receive(queue, 0) == ["a", "b", "c"]  # none deleted: all three time out together
    assert receive(queue, 3) == ["a", "b", "c"]  # once they do, in order (moto alone: ["c"])

    def redriven() -> list[str]:
        assert receive(queue, 0) == []  # received twice (maxReceiveCount): a receive redrives them
        return receive(dlq, 0)

    assert wait_for(redriven, 5, "the redrive") == ["a", "b", "c"]


def test_moto_deduplicates_fifo_messages_as_sqs_does(local):
    # SQS remembers a deduplication id for 5 minutes, deleted or not, per group with the
    # messageGroup scope the template's queues use; moto alone forgets it once deleted, queue-wide.
    sqs = local.aws("sqs")
    queue = sqs.create_queue(
        QueueName="dedup.fifo", Attributes={"FifoQueue": "true", "DeduplicationScope": "messageGroup"}
    )["QueueUrl"]

    def send(group: str, deduplication_id: str) -> None:
        sqs.send_message(
            QueueUrl=queue, MessageBody=group, MessageGroupId=group, MessageDeduplicationId=deduplication_id
        )

    send("g1", "same")
    first = sqs.receive_message(QueueUrl=queue)["Messages"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=first[0]["ReceiptHandle"])
    send("g1", "same")  # a duplicate delivery after the first was processed: dropped
    send("g2", "same")  # the same id in another group: a different message
    bodies = [
        m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    ]
    assert bodies == ["g2"]


def test_moto_refuses_sqs_sends_while_the_fault_switch_is_on_and_only_to_the_named_queues(local):
    # Given two queues, and the switch refusing sends to one of them
    from botocore.exceptions import ClientError

    sqs = local.aws("sqs")
    down = sqs.create_queue(QueueName="fault-down")["QueueUrl"]
    up = sqs.create_queue(QueueName="fault-up")["QueueUrl"]
    local.stack.refuse_sqs_sends(["fault-down"])
    try:
        # When something sends to each
        with pytest.raises(ClientError) as refused:
            sqs.send_message(QueueUrl=down, MessageBody="lost?")
        sqs.send_message(QueueUrl=up, MessageBody="taken")
    finally:
        local.stack.refuse_sqs_sends([])
    # Then the named queue answered as an unavailable SQS does (503), and the other took its message
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=up).get("Messages", [])] == ["taken"]
    # And once switched off, the first takes messages again
    sqs.send_message(QueueUrl=down, MessageBody="taken too")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=down).get("Messages", [])] == ["taken too"]


@pytest.mark.parametrize("character", ["\uffff", "\x00", "\ud800"])
def test_moto_refuses_a_message_body_with_a_character_sqs_refuses(local, character):
    # Given a queue, and a body holding a character outside SQS's documented set
    from botocore.exceptions import ClientError

    sqs = local.aws("sqs")
    url = sqs.create_queue(QueueName="characters")["QueueUrl"]
    # When it is sent (raw: boto3 would refuse to encode a lone surrogate, so the request is built
    # by hand for that one)
    with pytest.raises((ClientError, UnicodeEncodeError)) as refused:
        sqs.send_message(QueueUrl=url, MessageBody=f"before{character}after")
    # Then SQS's own refusal comes back, and nothing is queued
    if isinstance(refused.value, ClientError):
        assert refused.value.response["Error"]["Code"] == "InvalidMessageContents"
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []


def test_a_comment_with_u_ffff_and_a_banned_term_is_masked_and_moderated(local):
    # Given a viewer whose comment holds a banned term and U+FFFF, which SQS refuses in a body
    local.act("create_room", "host", RoomId="local-ffff")
    local.act("enter_room", "viewer", RoomId="local-ffff")
    # When it is sent
    reply = local.act("send_text_msg", "viewer", RoomId="local-ffff", Text="free coins\uffff here")
    # Then it is masked inline (once a 503, so Tencent delivered it as typed)
    assert reply["ErrorCode"] == 0
    assert reply["Response"]["text"] == "**********\uffff here"
    # And the event reached the moderator through SQS: the room's audit records its decisions
    table = local.stack.settings()["tables"]["StateTable"]

    def audited() -> list[dict[str, Any]]:
        return local.aws("dynamodb").query(
            TableName=table,
            KeyConditionExpression="pk = :room AND begins_with(sk, :audit)",
            ExpressionAttributeValues={":room": {"S": "ROOM#local-ffff"}, ":audit": {"S": "AUDIT#"}},
        )["Items"]

    items = wait_for(
        lambda: [i for i in audited() if "Group.CallbackBeforeSendMsg" in json.dumps(i)], 10, "the audit"
    )
    assert items


def test_the_spool_drain_runs_on_the_templates_schedule(local):
    # Given the stack started without a schedule interval of its own
    # When it describes itself
    # Then the drain is invoked every minute, as the template's rate(1 minute) says
    assert "  schedule  SpoolDrainFunction every 60 s" in local.stack.describe().splitlines()


def test_the_stack_names_the_rules_it_runs_the_layers_defaults_when_not_given(local):
    # Given the stack started without --rules
    # When it describes itself
    line = next(line for line in local.stack.describe().splitlines() if line.startswith("  rules "))
    # Then it says the functions run the layer's defaults, and what they hold
    from liveguard.rules.loader import load_rules

    assert line == f"  rules     the layer's defaults: {load_rules().summary()}"
    assert local.settings["rules"] == {"file": None, "summary": load_rules().summary()}


def test_a_rules_file_the_functions_would_refuse_stops_the_stack_with_its_mistakes(tmp_path):
    # Given a rules file with a mistake
    rules = tmp_path / "broken.yaml"
    rules.write_text("rules:\n- {name: a, on: [Group.CallbackBeforeSendMsg], strike: 1}\n", encoding="utf-8")
    options = LocalStackOptions(
        port=0, emulator_port=0, aws_port=0, template=ROOT / "template.yaml", state_dir=tmp_path, rules=rules
    )
    # When the stack starts with it
    with pytest.raises(LocalStackError) as refused:
        LocalStack(options).start()
    # Then it stops at once, naming the file and the mistake, not a function's failed init
    assert str(refused.value).splitlines() == [
        f"{rules.resolve()}: invalid",
        'rule "a": strike: write true or false (or {count: N}: N strikes for one event), not "1"',
    ]
    assert not (tmp_path / "local.json").exists()


def test_the_cli_runs_aws_only_until_sigterm_and_cleans_up(tmp_path):
    state = tmp_path / "state"
    ports = [str(free_port()) for _ in range(3)]
    command = [sys.executable, "-m", "liveguard_ops.cli", "local", "up", "--aws-only"]
    command += ["--port", ports[0], "--emulator-port", ports[1], "--aws-port", ports[2]]
    command += ["--state-dir", str(state), "--template", str(ROOT / "template.yaml")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        settings_file = state / "local.json"
        wait_for(settings_file.exists, 20, "local.json")
        settings = json.loads(settings_file.read_text(encoding="utf-8"))
        assert settings["aws_only"] is True
        assert settings["endpoints"]["aws"] == f"http://127.0.0.1:{ports[2]}"
        assert settings["endpoints"]["callback"] == f"http://127.0.0.1:{ports[0]}/tencent/callback"
        assert httpx.get(f"http://127.0.0.1:{ports[1]}/emulator/v1/faults").status_code == 200
        with pytest.raises(httpx.ConnectError):  # the API is left to `sam local start-api`
            httpx.get(settings["endpoints"]["api"])
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output.decode()
    assert not settings_file.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{ports[2]}/moto-api/")
    assert b"moto and the emulator only" in output
    assert os.path.isdir(state / "logs")


HANDLER = """
import os
import time

CALLS = []  # module-level state, as a cached client or secret would be


def handler(event, context):
    CALLS.append(event)
    time.sleep(event.get("sleep", 0))
    return {
        "pid": os.getpid(),
        "calls": len(CALLS),
        "left_ms": context.get_remaining_time_in_millis(),
        "only_here": os.environ.get("ONLY_HERE"),
    }
"""


def test_a_grown_function_runs_as_many_invocations_at_once_as_it_has_instances(tmp_path):
    # Given a function with one instance, grown to two (as Lambda scales under load)
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(textwrap.dedent(HANDLER))
    spec = WorkerSpec(
        function="Grown",
        name="Grown",
        arn="arn:aws:lambda:us-east-1:123456789012:function:Grown",
        handler="app.handler",
        code_dir=str(code),
        layer_dirs=(),
        environment={"PATH": os.environ.get("PATH", "")},
        memory=128,
        timeout=5.0,
        log_path=str(tmp_path / "Grown.log"),
        log_group="/aws/lambda/Grown",
    )
    pool = FunctionPool(spec)
    try:
        pool.spawn()
        assert pool.wait_ready() is None
        assert pool.grow(2) is None
        # When two slow invocations come at once
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=2) as invokers:
            results = list(invokers.map(pool.invoke, [{"sleep": 1}, {"sleep": 1}]))
        took = time.monotonic() - started
        # Then they ran side by side, one in each instance, neither a cold start
        assert {r.status for r in results} == {"ok"}
        assert len({r.payload["pid"] for r in results}) == 2
        assert not any(r.cold for r in results)
        assert took < 1.9
    finally:
        pool.stop()


def test_each_function_has_its_own_process_and_a_timed_out_instance_starts_cold(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(textwrap.dedent(HANDLER))

    def pool(name: str, environment: dict[str, str]) -> FunctionPool:
        spec = WorkerSpec(
            function=name,
            name=name,
            arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            handler="app.handler",
            code_dir=str(code),
            layer_dirs=(),
            environment={"PATH": os.environ.get("PATH", ""), **environment},
            memory=128,
            timeout=1.0,
            log_path=str(tmp_path / f"{name}.log"),
            log_group=f"/aws/lambda/{name}",
        )
        return FunctionPool(spec)

    one, two = pool("One", {"ONLY_HERE": "one"}), pool("Two", {})
    try:
        one.spawn()
        two.spawn()
        assert one.wait_ready() is None
        assert two.wait_ready() is None
        first, second, other = one.invoke({}), one.invoke({}), two.invoke({})
        # The same module, imported once per function: its state is the function's own
        assert [r.payload["calls"] for r in (first, second, other)] == [1, 2, 1]
        assert first.payload["pid"] == second.payload["pid"]
        assert len({first.payload["pid"], other.payload["pid"], os.getpid()}) == 3
        assert (first.payload["only_here"], other.payload["only_here"]) == ("one", None)
        assert 0 < first.payload["left_ms"] <= 1000  # the Timeout, counting down
        # Over its Timeout the instance is killed; the next invocation is a cold start
        slow = one.invoke({"sleep": 5})
        assert slow.status == "timeout"
        assert slow.error["errorMessage"] == "Task timed out after 1.00 seconds"
        after = one.invoke({})
        assert after.cold
        assert after.payload["calls"] == 1
        assert after.payload["pid"] != first.payload["pid"]
    finally:
        one.stop()
        two.stop()


BATCH = ["a", "b"]


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (Result("ok", None), set()),
        (Result("ok", {}), set()),
        (Result("ok", {"batchItemFailures": []}), set()),
        (Result("ok", {"batchItemFailures": None}), set()),
        (Result("ok", {"batchItemFailures": [{"itemIdentifier": "b"}]}), {"b"}),
        (Result("ok", {"batchItemFailures": [{"itemIdentifier": ""}]}), set(BATCH)),
        (Result("ok", {"batchItemFailures": [{"itemIdentifier": None}]}), set(BATCH)),
        (Result("ok", {"batchItemFailures": [{"itemIdentifier": "zzz"}]}), set(BATCH)),
        (Result("ok", {"batchItemFailures": [{"id": "a"}]}), set(BATCH)),
        (Result("ok", "not a batch response"), set(BATCH)),
        (Result("error", None), set(BATCH)),
        (Result("timeout", None), set(BATCH)),
        (Result("crashed", None), set(BATCH)),
    ],
)
def test_what_stays_in_the_queue_follows_lambdas_partial_batch_response_rules(result, failed):
    source = SqsSource("Q", "arn:aws:sqs:us-east-1:123456789012:q", 10, 0, True, None, True)
    assert failed_ids(source, result, BATCH) == failed
    # Without ReportBatchItemFailures, a successful invocation deletes the whole batch
    plain = SqsSource("Q", "arn:aws:sqs:us-east-1:123456789012:q", 10, 0, False, None, True)
    assert failed_ids(plain, result, BATCH) == (set() if result.status == "ok" else set(BATCH))


@pytest.mark.parametrize(
    ("expression", "seconds"), [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200)]
)
def test_a_schedules_rate_is_read_as_eventbridge_means_it(expression, seconds):
    from liveguard_local.stack.template import rate_seconds

    assert rate_seconds(expression) == seconds


def test_a_cron_schedule_is_refused_rather_than_run_at_the_wrong_times():
    from liveguard_local.stack.template import TemplateError, rate_seconds

    with pytest.raises(TemplateError, match="only rate"):
        rate_seconds("cron(0 12 * * ? *)")
