"""The Tencent secret broken or out of reach, for each function as Lambda imports it (ingress,
moderator, actuator) and for `liveguard tencent configure`, against moto's Secrets Manager.

- A misconfigured secret never leaks: everything they print, log, answer or raise is searched for the
  secret's values and any part of them.
- Secrets Manager unreachable, throttling or without the secret: the ingress answers 503 50302 in
  time, the queue consumers fail the record so SQS delivers it again; nothing raises.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event, queued_envelope
from liveguard_ops import cli
from tests.aws import FAKE_CREDENTIALS, create_state_table, free_port, moto_server
from tests.functions import load_function
from tests.integration.test_moderator_handler import record
from tests.unit.test_actuator import actuator_context, make_action

ROOT = Path(__file__).resolve().parents[2]
TABLE = "liveguard-state-leak-test"
# Canaries with letters outside hex, so no request id or hash matches a piece of them by chance.
KEY = "Kq3Zr8Tn5Wx1Vb7M"
TOKEN = "Hy6Pd2Lc9Fs4Ge0J"
CHAT_TOKEN = "Uw5Nj8Rk2Yt7Qm3X"
SECRETS = (KEY, TOKEN, CHAT_TOKEN)
PIECE = 6  # no run of this many characters of a value may appear, in any case
GOOD = {"SdkAppId": 1400000001, "AdminIdentifier": "administrator", "Region": "Singapore"}

BROKEN: dict[str, str] = {
    "misspelt token key": json.dumps({**GOOD, "SecretKey": KEY, "CallbackTokn": TOKEN}),
    "misspelt chat token key": json.dumps(
        {**GOOD, "SecretKey": KEY, "CallbackToken": TOKEN, "ChatCallbackTokn": CHAT_TOKEN}
    ),
    "missing region": json.dumps(
        {"SdkAppId": 1400000001, "SecretKey": KEY, "AdminIdentifier": "administrator", "CallbackToken": TOKEN}
    ),
    "wrong types": json.dumps(
        {
            **GOOD,
            "SdkAppId": TOKEN,
            "SecretKey": [KEY],
            "CallbackToken": {"value": TOKEN},
            "ChatCallbackToken": 7,
        }
    ),
    "values in the wrong keys": json.dumps(
        {**GOOD, "SecretKey": KEY, "AdminIdentifier": KEY * 3, "Region": TOKEN, "CallbackToken": TOKEN}
    ),
    "token too long": json.dumps({**GOOD, "SecretKey": KEY, "CallbackToken": TOKEN * 9}),
    "a token pasted as a key": json.dumps({**GOOD, "SecretKey": KEY, TOKEN: CHAT_TOKEN}),
    "plain http off loopback": json.dumps(
        {**GOOD, "SecretKey": KEY, "CallbackToken": TOKEN, "ApiBaseUrl": f"http://{TOKEN}.example.com/{KEY}"}
    ),
    "not json": f"SecretKey={KEY}\nCallbackToken={TOKEN}",
    "json but not an object": json.dumps([KEY, TOKEN]),
    "sdk app id zero": json.dumps({**GOOD, "SdkAppId": 0, "SecretKey": KEY, "CallbackToken": TOKEN}),
}


def leaks(text: str) -> list[str]:
    """Every piece of a secret value found in ``text`` (case-insensitive)."""
    haystack = text.lower()
    return sorted(
        {
            value[start : start + PIECE]
            for value in SECRETS
            for start in range(len(value) - PIECE + 1)
            if value[start : start + PIECE].lower() in haystack
        }
    )


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def aws(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto's server with what the three functions use, and one secret they all read."""
    with moto_server() as endpoint:
        for key, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
            monkeypatch_module.setenv(key, value)
        sqs, dynamodb = boto3.client("sqs"), boto3.client("dynamodb")
        create_state_table(dynamodb, TABLE)
        fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
        urls = {
            name: sqs.create_queue(QueueName=f"liveguard-{name}-leak-test.fifo", Attributes=fifo)["QueueUrl"]
            for name in ("events", "events-dlq", "actions", "actions-dlq")
        }
        urls["delayed-actions"] = sqs.create_queue(QueueName="liveguard-delayed-actions-leak-test")[
            "QueueUrl"
        ]
        secrets = boto3.client("secretsmanager")
        arn = secrets.create_secret(
            Name="liveguard/leak-test/tencent", SecretString=json.dumps(LOCAL_SECRET)
        )["ARN"]
        environment = {
            "EVENTS_QUEUE_URL": urls["events"],
            "EVENTS_DLQ_URL": urls["events-dlq"],
            "ACTIONS_QUEUE_URL": urls["actions"],
            "DELAYED_ACTIONS_QUEUE_URL": urls["delayed-actions"],
            "ACTIONS_DLQ_URL": urls["actions-dlq"],
            "STATE_TABLE_NAME": TABLE,
            "TENCENT_SECRET_ARN": arn,
            "TENCENT_SECRET_MAX_AGE": "0",
            "POWERTOOLS_METRICS_NAMESPACE": "LiveGuardTest",
            "DRY_RUN": "false",
        }
        for key, value in environment.items():
            monkeypatch_module.setenv(key, value)
        monkeypatch_module.delenv("RULES_FILE", raising=False)
        DEFAULT_PROVIDERS.clear()
        yield {"endpoint": endpoint, "arn": arn, "secrets": secrets, "sqs": sqs, "urls": urls}
        DEFAULT_PROVIDERS.clear()


def load(function: str, **environment: str) -> ModuleType:
    """functions/<function>/app.py, imported as a Lambda cold start would."""
    return load_function(
        function,
        module_name=f"{function}_leak_app",
        environment={
            "POWERTOOLS_SERVICE_NAME": f"liveguard-{function}",
            "AWS_LAMBDA_FUNCTION_NAME": f"liveguard-{function}-leak-test",
            **environment,
        },
    )


@pytest.fixture(params=sorted(BROKEN), ids=lambda case: case.replace(" ", "-"))
def broken(request: pytest.FixtureRequest, aws: dict[str, Any]) -> Iterator[str]:
    """The shared secret holds one misconfiguration for the test; no reader has it cached."""
    aws["secrets"].put_secret_value(SecretId=aws["arn"], SecretString=BROKEN[request.param])
    DEFAULT_PROVIDERS.clear()
    yield request.param
    DEFAULT_PROVIDERS.clear()


# Loggers that do not propagate to the root (Powertools' copy_config_to_registered_loggers makes the
# layer's loggers write straight to the function's handler), so the recorder is attached to each.
OWN_LOGGERS = ("liveguard", "liveguard-ingress", "liveguard-moderator", "liveguard-actuator")


class Recorder(logging.Handler):
    """Every record, formatted with its traceback, as CloudWatch would receive its text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{self.format(record)} {record.__dict__}")


@pytest.fixture
def captured(capfd: pytest.CaptureFixture[str]) -> Iterator[Callable[..., str]]:
    """Everything the code under test printed (both file descriptors) and logged (with tracebacks),
    plus whatever the test hands in (replies, exception texts)."""
    recorder = Recorder()
    # Everything of ours; botocore's DEBUG wire log (off in Lambda) would show the secret it fetched.
    loggers = {"": logging.INFO, **dict.fromkeys(OWN_LOGGERS, logging.DEBUG)}
    levels = {name: logging.getLogger(name).level for name in loggers}
    restore: list[tuple[logging.StreamHandler[Any], Any]] = []
    for name, level in loggers.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(recorder)
        # Powertools' handlers keep the stdout of the test that first made them: point them at this
        # one's (not with setStream, which flushes the old stream, maybe closed).
        for handler in logger.handlers if name else []:
            if type(handler) is logging.StreamHandler:
                restore.append((handler, handler.stream))
                handler.stream = sys.stdout

    def everything(*extra: Any) -> str:
        out = capfd.readouterr()
        return "\n".join([out.out, out.err, *recorder.lines, *map(str, extra)])

    yield everything
    for name, level in levels.items():
        logging.getLogger(name).removeHandler(recorder)
        logging.getLogger(name).setLevel(level)
    for handler, stream in restore:
        handler.stream = stream


def test_the_ingress_refuses_as_not_configured_and_leaks_nothing(broken, aws, captured):
    # Given the ingress cold-starting under SnapStart (it reads the secret at init) with a broken secret
    app = load("ingress", AWS_LAMBDA_INITIALIZATION_TYPE="snap-start")
    event = proxy_event(
        "Live.CallbackAfterSetMetadata",
        json.dumps(CALLBACK_BODIES["Live.CallbackAfterSetMetadata"]),
        secret={**LOCAL_SECRET, "CallbackToken": TOKEN},
    )
    # When Tencent delivers a callback
    response = app.lambda_handler(event, actuator_context())
    # Then it answers 503 50302, and nothing it said anywhere holds a piece of the key or tokens
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["ErrorCode"] == 50302
    assert leaks(captured(response)) == []


def one_event_batch() -> dict[str, Any]:
    """An events-queue batch of one metadata event, as the moderator's event source hands it."""
    envelope = queued_envelope(
        "Live.CallbackAfterSetMetadata",
        CALLBACK_BODIES["Live.CallbackAfterSetMetadata"],
        received_at_ms=1_800_000_000_000,
    )
    return {"Records": [record(envelope.model_dump_json(by_alias=True), group=envelope.group)]}


def test_the_moderator_fails_the_record_for_a_retry_and_leaks_nothing(broken, aws, captured):
    # Given the moderator and a queued event it must read the secret for (its AdminIdentifier)
    app = load("moderator")
    event = one_event_batch()
    # When the batch is handled
    response = app.lambda_handler(event, actuator_context())
    # Then the record fails (SQS delivers it again later) and nothing holds a piece of a secret value
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == [
        event["Records"][0]["messageId"]
    ]
    assert leaks(captured(response)) == []


def test_the_actuator_fails_the_record_for_a_retry_and_leaks_nothing(broken, aws, captured):
    # Given the actuator and an action it must read the secret for (LiveClient's credentials)
    app = load("actuator")
    action = make_action("del_room_metadata", {"RoomId": "live-1", "Keys": ["topic"]})
    event = {"Records": [record(action.model_dump_json(), group="live-1")]}
    # When the batch is handled
    response = app.lambda_handler(event, actuator_context())
    # Then the record fails (SQS delivers it again later) and nothing holds a piece of a secret value
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == [
        event["Records"][0]["messageId"]
    ]
    assert leaks(captured(response)) == []


def test_tencent_configure_refuses_the_secret_and_leaks_nothing(broken, aws, captured):
    # Given an operator configuring Tencent from the broken secret
    argv = [
        "tencent",
        "configure",
        "--url",
        "https://example.com/dev/tencent/callback",
        "--secret",
        aws["arn"],
        "--endpoint",
        aws["endpoint"],
        "--region",
        "us-east-1",
    ]
    # When the command runs
    raised: BaseException | None = None
    code: int | None = None
    try:
        code = cli.main(argv)
    except BaseException as error:
        raised = error
    # Then it stops with an error, and nothing it printed or raised holds a piece of a secret value
    assert raised is None
    assert code not in (None, 0)
    assert leaks(captured(code)) == []


# --- Secrets Manager out of reach ---------------------------------------------------------------


class ThrottlingSecretsManager(BaseHTTPRequestHandler):
    """Secrets Manager answering every call as it does when an account's rate is exceeded."""

    calls = 0

    def do_POST(self) -> None:
        ThrottlingSecretsManager.calls += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def throttling_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ThrottlingSecretsManager)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


MISSING_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:liveguard/leak-test/none-AbCdEf"
FAULTS = ["no such secret", "unreachable", "throttling"]


@pytest.fixture(params=FAULTS, ids=lambda fault: fault.replace(" ", "-"))
def fault(
    request: pytest.FixtureRequest,
    aws: dict[str, Any],
    throttling_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, str]]:
    """The environment a function is loaded with for the fault, set for the test's duration too."""
    aws["secrets"].put_secret_value(SecretId=aws["arn"], SecretString=json.dumps(LOCAL_SECRET))
    environment = {
        "no such secret": {"TENCENT_SECRET_ARN": MISSING_ARN},
        # Nothing listens there: connections are refused.
        "unreachable": {"AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{free_port()}"},
        "throttling": {"AWS_ENDPOINT_URL_SECRETS_MANAGER": throttling_endpoint},
    }[request.param]
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    DEFAULT_PROVIDERS.clear()
    yield environment
    DEFAULT_PROVIDERS.clear()


def test_the_ingress_answers_not_configured_in_time_when_the_secret_store_fails(fault, aws, captured):
    # Given the ingress, Secrets Manager failing as the fault says
    app = load("ingress", **fault)
    event = proxy_event(
        "Live.CallbackAfterSetMetadata", json.dumps(CALLBACK_BODIES["Live.CallbackAfterSetMetadata"])
    )
    # When Tencent delivers a callback
    started = time.monotonic()
    response = app.lambda_handler(event, actuator_context())
    took = time.monotonic() - started
    # Then it answers the documented 503 50302 (not an exception, which API Gateway would make a 502),
    # within Tencent's 2 s, and logs why without a value of the secret
    assert (response["statusCode"], json.loads(response["body"])["ErrorCode"]) == (503, 50302)
    assert took < 2.0
    output = captured(response)
    assert "tencent secret unusable" in output
    assert leaks(output) == []


def test_the_moderator_fails_the_record_for_a_retry_when_the_secret_store_fails(fault, aws, captured):
    app = load("moderator", **fault)
    event = one_event_batch()
    response = app.lambda_handler(event, actuator_context())
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == [
        event["Records"][0]["messageId"]
    ]
    output = captured(response)
    assert "the Tencent secret could not be read" in output
    assert leaks(output) == []


def test_the_actuator_fails_the_record_for_a_retry_when_the_secret_store_fails(fault, aws, captured):
    app = load("actuator", **fault)
    action = make_action("del_room_metadata", {"RoomId": "live-1", "Keys": ["topic"]})
    event = {"Records": [record(action.model_dump_json(), group="live-1")]}
    response = app.lambda_handler(event, actuator_context())
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == [
        event["Records"][0]["messageId"]
    ]
    output = captured(response)
    assert "the Tencent secret could not be read" in output
    assert leaks(output) == []


def test_a_batch_of_many_rooms_fails_after_one_read_of_a_throttling_store(
    aws, throttling_endpoint, monkeypatch
):
    # Given Secrets Manager throttling, and a batch of events from ten rooms
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", throttling_endpoint)
    DEFAULT_PROVIDERS.clear()
    app = load("moderator")
    body = CALLBACK_BODIES["Live.CallbackAfterSetMetadata"]
    envelopes = [
        queued_envelope(
            "Live.CallbackAfterSetMetadata", {**body, "RoomId": f"room-{n}"}, received_at_ms=1_800_000_000_000
        )
        for n in range(10)
    ]
    event = {"Records": [record(e.model_dump_json(by_alias=True), group=e.group) for e in envelopes]}
    calls = ThrottlingSecretsManager.calls
    # When the moderator handles it
    started = time.monotonic()
    response = app.lambda_handler(event, actuator_context())
    took = time.monotonic() - started
    # Then every record fails for a retry, after one bounded read (its attempts), not one per record
    assert len(response["batchItemFailures"]) == 10
    assert ThrottlingSecretsManager.calls - calls <= 3
    assert took < 10
    DEFAULT_PROVIDERS.clear()
