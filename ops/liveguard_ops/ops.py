"""Operations on a running LiveGuard, deployed or local: `liveguard dlq replay` and
`liveguard tencent configure` (docs/operations.md is the runbook around them).

Where the stack is: ``--stack NAME`` reads its CloudFormation outputs (EventsQueueUrl,
EventsDeadLetterQueueUrl, ActionsQueueUrl, ActionsDeadLetterQueueUrl, TencentSecretArn); without it,
``.liveguard/local.json`` (written by `liveguard local up`) when present. ``--endpoint`` points boto3
elsewhere than AWS (moto locally); a local stack's endpoint is taken from its queue URLs.

Nothing here prints a body's user content, the webhook token or the app's SecretKey: a line names a
message's id, group, command and why it was dead-lettered.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError

from liveguard.messages import message_group
from liveguard.webhooks.commands import LIVE_SIDE_NAMESPACES, is_live_side

LOCAL_FILE = Path(".liveguard") / "local.json"
# The region moto (and `liveguard local up`) uses when nothing else says.
LOCAL_REGION = "us-east-1"

QueueKind = Literal["events", "actions"]
# The stack outputs naming each queue and its DLQ (template.yaml, Outputs).
QUEUE_OUTPUTS: dict[QueueKind, tuple[str, str]] = {
    "events": ("EventsQueueUrl", "EventsDeadLetterQueueUrl"),
    "actions": ("ActionsQueueUrl", "ActionsDeadLetterQueueUrl"),
}
SECRET_OUTPUT = "TencentSecretArn"  # noqa: S105 - an output name
# Other spellings of those outputs in local.json: the resources' logical ids and the functions'
# environment variable names (compared lower-case, without separators).
_ALIASES = {
    "EventsQueueUrl": ("EventsQueue", "EVENTS_QUEUE_URL"),
    "EventsDeadLetterQueueUrl": ("EventsDeadLetterQueue", "EVENTS_DLQ_URL", "EventsDlq"),
    "ActionsQueueUrl": ("ActionsQueue", "ACTIONS_QUEUE_URL"),
    "ActionsDeadLetterQueueUrl": ("ActionsDeadLetterQueue", "ACTIONS_DLQ_URL", "ActionsDlq"),
    "TencentSecretArn": ("TencentSecret", "TENCENT_SECRET_ARN"),
}
# The template's resource names (QueueName: liveguard-events-${Stage}.fifo ...; the secret
# liveguard/${Stage}/tencent): how a value in local.json is recognised whatever its key.
_NAME_PATTERNS = {
    "EventsQueueUrl": re.compile(r"^https?://[^?#]+/liveguard-events-(?!dlq-)[^/]+\.fifo$"),
    "EventsDeadLetterQueueUrl": re.compile(r"^https?://[^?#]+/liveguard-events-dlq-[^/]+\.fifo$"),
    "ActionsQueueUrl": re.compile(r"^https?://[^?#]+/liveguard-actions-(?!dlq-)[^/]+\.fifo$"),
    "ActionsDeadLetterQueueUrl": re.compile(r"^https?://[^?#]+/liveguard-actions-dlq-[^/]+\.fifo$"),
    "TencentSecretArn": re.compile(r"^arn:aws[a-z-]*:secretsmanager:[^:]*:[0-9]{12}:secret:liveguard/.+$"),
}
_ENDPOINT_KEYS = {"awsendpointurl", "awsendpoint", "motoendpoint", "motourl"}
_REGION_KEYS = {"awsregion"}


class OpsError(Exception):
    """Something the operator must fix before the command can run (said in one line, exit 2)."""


class CheckFailed(Exception):  # noqa: N818 - a condition of the outcome, said in one line
    """Tencent took the calls, but reading the configuration back does not show it (exit 1)."""


def _squash(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _leaves(document: object, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (key, string value) in a JSON document, at any depth."""
    if isinstance(document, Mapping):
        for child_key, child in document.items():
            yield from _leaves(child, str(child_key))
    elif isinstance(document, list):
        for child in document:
            yield from _leaves(child, key)
    elif isinstance(document, str):
        yield key, document


# --- where the stack is ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    """The stack's outputs that these commands use, and how to reach its AWS services."""

    outputs: dict[str, str]
    source: str
    endpoint: str | None = None
    region: str | None = None

    def output(self, name: str) -> str:
        value = self.outputs.get(name)
        if not value:
            raise OpsError(f"{self.source} does not say {name}")
        return value


def stack_from_local_file(path: Path, endpoint: str | None = None) -> Stack:
    """The queue URLs, the secret ARN and moto's endpoint from `liveguard local up`'s JSON file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise OpsError(f"{path}: cannot read it: {error}") from None
    leaves = list(_leaves(document))
    outputs: dict[str, str] = {}
    for name, aliases in _ALIASES.items():
        wanted = {_squash(name), *(_squash(alias) for alias in aliases)}
        kind = ("arn:",) if name == SECRET_OUTPUT else ("http://", "https://")
        by_key = [value for key, value in leaves if _squash(key) in wanted and value.startswith(kind)]
        by_value = [value for _, value in leaves if _NAME_PATTERNS[name].match(value)]
        found = by_key or by_value
        if found:
            outputs[name] = found[0]
    if endpoint is None:
        named = [value for key, value in leaves if _squash(key) in _ENDPOINT_KEYS and value]
        endpoint = named[0] if named else _endpoint_of(outputs)
    regions = [value for key, value in leaves if _squash(key) in _REGION_KEYS and value]
    return Stack(outputs, str(path), endpoint, regions[0] if regions else None)


def _endpoint_of(outputs: Mapping[str, str]) -> str | None:
    """moto's queue URLs are ``http://HOST:PORT/ACCOUNT/NAME``: its endpoint is their origin."""
    for name in QUEUE_OUTPUTS["events"] + QUEUE_OUTPUTS["actions"]:
        parts = urlsplit(outputs.get(name) or "")
        if parts.scheme and parts.hostname and not parts.hostname.endswith(".amazonaws.com"):
            return f"{parts.scheme}://{parts.netloc}"
    return None


def stack_from_cloudformation(name: str, cloudformation: Any) -> Stack:
    """A deployed stack's outputs (describe_stacks)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except (BotoCoreError, ClientError) as error:
        raise OpsError(f"stack {name}: {error}") from None
    if not stacks:
        raise OpsError(f"stack {name}: not found")
    outputs = {
        str(output["OutputKey"]): str(output["OutputValue"]) for output in stacks[0].get("Outputs", [])
    }
    return Stack(outputs, f"stack {name}")


def aws_client(service: str, *, endpoint: str | None, region: str | None) -> Any:
    """A boto3 client; pointed at ``endpoint`` (moto) it gets the local region and, when the
    environment has none, moto's fake credentials."""
    import boto3
    from botocore.exceptions import NoRegionError

    session: Any = boto3.session.Session()  # Any: its client() is typed per service name
    options: dict[str, Any] = {}
    if endpoint:
        options["endpoint_url"] = endpoint
        options["region_name"] = region or session.region_name or LOCAL_REGION
        if session.get_credentials() is None:
            options["aws_access_key_id"] = "testing"
            options["aws_secret_access_key"] = "testing"  # noqa: S105 - moto's, not a secret
    elif region:
        options["region_name"] = region
    try:
        return session.client(service, **options)
    except NoRegionError:
        raise OpsError("no AWS region: give --region or set AWS_REGION") from None


def locate(args: argparse.Namespace) -> Stack:
    """``--stack`` when given, else the local stack's file, else an error saying what to give."""
    if args.stack:
        cloudformation = aws_client("cloudformation", endpoint=args.endpoint, region=args.region)
        stack = stack_from_cloudformation(args.stack, cloudformation)
        return Stack(stack.outputs, stack.source, args.endpoint, args.region)
    local_file = Path(args.local_file)
    if local_file.is_file():
        stack = stack_from_local_file(local_file, args.endpoint)
        return Stack(stack.outputs, stack.source, stack.endpoint, args.region or stack.region)
    raise OpsError(
        f"no {local_file} here (is `liveguard local up` running?): give --stack NAME (e.g. liveguard-dev)"
    )


# --- liveguard dlq replay ---------------------------------------------------------------------------


@dataclass
class ReplayReport:
    replayed: int = 0
    failed: int = 0
    left: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0


@dataclass(frozen=True)
class _Replay:
    """One dead letter, as it goes back: the body, the group and the dedup id it is sent with."""

    body: str
    group: str
    deduplication_id: str
    label: str  # id, group, command: what the operator sees
    key: str  # the message's own id (event or action id): replayed once per run
    why: str  # what it died of, when the dead letter says


def prepare(kind: QueueKind, message: Mapping[str, Any]) -> _Replay:
    """What to send back for one received DLQ message.

    Kept: the body (an action loses the ``error`` the actuator added when it dead-lettered it; a
    malformed action's ``raw`` body is unwrapped), the MessageGroupId, and the MessageDeduplicationId
    it carried (else the body's id, else a digest of the body).
    """
    text = str(message.get("Body", ""))
    attributes: Mapping[str, Any] = message.get("Attributes") or {}
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    why = ""
    if kind == "events":
        reason = (message.get("MessageAttributes") or {}).get("Reason") or {}
        why = str(reason.get("StringValue") or "")
    if kind == "actions" and isinstance(parsed, dict) and "error" in parsed:
        error = parsed.pop("error")
        if isinstance(error, Mapping):
            code = error.get("code")
            why = f"{'' if code is None else f'ErrorCode {code}: '}{error.get('info') or ''}".strip()
        if set(parsed) == {"raw"} and isinstance(parsed["raw"], str):  # not an ActionMessage at all
            text = parsed["raw"]
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
        else:
            text = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
    body_id = parsed.get("id") if isinstance(parsed, dict) and isinstance(parsed.get("id"), str) else None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    group = str(attributes.get("MessageGroupId") or "")
    if not group and isinstance(parsed, dict):
        if kind == "events" and isinstance(parsed.get("group"), str):
            group = parsed["group"]
        elif kind == "actions" and isinstance(parsed.get("room"), str):
            group = message_group(parsed["room"])
    group = group or message_group(None)
    deduplication_id = str(attributes.get("MessageDeduplicationId") or body_id or digest)
    command = parsed.get("command") if isinstance(parsed, dict) else None
    name = (body_id or str(message.get("MessageId") or digest))[:16]
    label = f"{name}  group {group}" + (f"  {command}" if isinstance(command, str) else "")
    return _Replay(text, group, deduplication_id, label, body_id or digest, why)


def replay_dead_letters(
    sqs: Any,
    *,
    kind: QueueKind,
    source_url: str,
    dlq_url: str,
    limit: int | None = None,
    dry_run: bool = False,
    out: Callable[[str], None] = print,
    wait_seconds: int = 1,
    visibility_timeout: int = 120,
) -> ReplayReport:
    """Move up to ``limit`` messages from ``dlq_url`` back to ``source_url``, in each group's order.

    A message is deleted from the DLQ only once its send succeeded. After a failure its group's
    later messages stay (order holds); so does a message whose id was already replayed in this run
    (it failed again at once: replaying it again would loop). Whatever stays is made visible again
    at the end, as is everything a dry run looked at.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    report = ReplayReport()
    fifo = source_url.endswith(".fifo")
    held_groups: set[str] = set()
    replayed_keys: set[str] = set()
    seen_messages: set[str] = set()
    to_release: list[str] = []

    def say(line: str) -> None:
        report.lines.append(line)
        out(line)

    handled = 0
    while limit is None or handled < limit:
        wanted = 10 if limit is None else min(10, limit - handled)
        try:
            received = sqs.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=wanted,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=visibility_timeout,
                WaitTimeSeconds=wait_seconds,
            ).get("Messages", [])
        except (BotoCoreError, ClientError) as error:
            say(f"FAILED    cannot receive from the {kind} DLQ: {error}")
            report.failed += 1
            break
        fresh = [message for message in received if message["MessageId"] not in seen_messages]
        # Seen already: a long run's first messages came round again. Put them back, and stop when
        # nothing new comes.
        to_release.extend(m["ReceiptHandle"] for m in received if m["MessageId"] in seen_messages)
        if not fresh:
            break
        for message in fresh:
            seen_messages.add(message["MessageId"])
            handled += 1
            replay = prepare(kind, message)
            was = f"  (was: {replay.why})" if replay.why else ""
            if dry_run:
                say(f"would replay  {replay.label}{was}")
                report.replayed += 1
                to_release.append(message["ReceiptHandle"])
                continue
            if replay.group in held_groups:
                say(f"left      {replay.label}: behind a message of its group that stays")
                report.left += 1
                to_release.append(message["ReceiptHandle"])
                continue
            if replay.key in replayed_keys:
                say(f"left      {replay.label}: replayed once in this run already, and failed again")
                report.left += 1
                held_groups.add(replay.group)
                to_release.append(message["ReceiptHandle"])
                continue
            send: dict[str, Any] = {"QueueUrl": source_url, "MessageBody": replay.body}
            if fifo:
                send["MessageGroupId"] = replay.group
                send["MessageDeduplicationId"] = replay.deduplication_id
            try:
                sqs.send_message(**send)
            except (BotoCoreError, ClientError) as error:
                say(f"FAILED    {replay.label}: not sent, kept in the DLQ: {error}")
                report.failed += 1
                held_groups.add(replay.group)
                to_release.append(message["ReceiptHandle"])
                continue
            replayed_keys.add(replay.key)
            try:
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            except (BotoCoreError, ClientError) as error:
                say(
                    f"FAILED    {replay.label}: sent, but not deleted from the DLQ (a second replay "
                    f"within 5 minutes is deduplicated): {error}"
                )
                report.failed += 1
                continue
            say(f"replayed  {replay.label}{was}")
            report.replayed += 1
    for receipt_handle in to_release:
        # Should this fail, the message becomes visible again after the visibility timeout anyway.
        with contextlib.suppress(BotoCoreError, ClientError):
            sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)
    if dry_run:
        say(f"{kind} DLQ: {report.replayed} would be replayed (dry run: nothing moved)")
    else:
        say(
            f"{kind} DLQ -> {kind} queue: {report.replayed} replayed, {report.failed} failed, "
            f"{report.left} left in the DLQ"
        )
    return report


def dlq_replay_command(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        print("liveguard dlq replay: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        stack = locate(args)
        source_name, dlq_name = QUEUE_OUTPUTS[args.queue]
        source_url, dlq_url = stack.output(source_name), stack.output(dlq_name)
        sqs = aws_client("sqs", endpoint=stack.endpoint, region=stack.region)
    except OpsError as error:
        print(f"liveguard dlq replay: {error}", file=sys.stderr)
        return 2
    print(f"{args.queue} DLQ {dlq_url} -> {source_url}" + (" (dry run)" if args.dry_run else ""))
    report = replay_dead_letters(
        sqs,
        kind=args.queue,
        source_url=source_url,
        dlq_url=dlq_url,
        limit=args.limit,
        dry_run=args.dry_run,
    )
    return 0 if report.ok else 1


# --- liveguard tencent configure ------------------------------------------------------------------


def _secret_string(secrets: Any, arn: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = secrets.get_secret_value(SecretId=arn).get("SecretString")
    except (BotoCoreError, ClientError) as error:
        raise OpsError(f"secret {arn}: {error}") from None
    if not isinstance(value, str):
        raise OpsError(f"secret {arn}: holds no SecretString")
    return value


CHAT_TOKEN_KEY = "ChatCallbackToken"  # noqa: S105 - a key's name
LIVE_TOKEN_KEY = "CallbackToken"  # noqa: S105 - a key's name


def read_tencent_secret(secrets: Any, arn: str) -> tuple[Any, str]:
    """The app's settings (liveguard.settings.TencentSecret) from Secrets Manager, and the name of the
    key that holds the Chat side's webhook token: ``ChatCallbackToken`` when set, else ``CallbackToken``.

    Only the key's name comes out for the Chat token: configure never sends it anywhere (the Chat
    side has no REST command), it tells the operator which key to copy into the Chat console.
    """
    from liveguard.settings import TencentSecret, describe_secret_errors

    try:
        secret = TencentSecret.model_validate_json(_secret_string(secrets, arn))
    except ValidationError as error:  # keys and reasons, never values (nor a pasted token as a key)
        raise OpsError(
            f"secret {arn}: not LiveGuard's Tencent settings: {describe_secret_errors(error)}"
        ) from None
    return secret, CHAT_TOKEN_KEY if secret.chat_callback_token is not None else LIVE_TOKEN_KEY


def read_token(secrets: Any, arn: str) -> str:
    """A webhook token from a secret: its ``CallbackToken`` key, or the whole string."""
    text = _secret_string(secrets, arn)
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        token = parsed.get("CallbackToken")
        if not isinstance(token, str) or not token.strip():
            raise OpsError(f"secret {arn}: has no CallbackToken")
        return token
    if not text.strip():
        raise OpsError(f"secret {arn}: is empty")
    return text


# Where each CallbackCommand is configured at Tencent (docs/operations.md, "Configuring Tencent"): the
# Live side (live_config over REST, or the Live console) for Live.* and Mic.*; the Chat side (the Chat
# console only) for the rest. live_config's command list also takes Group.* and Follow.* (Tencent's
# Live command list, trtc.io 64413, names them); ContentCallback.* it does not list.
LIVE_CONFIG_NAMESPACES = (*LIVE_SIDE_NAMESPACES, "Group.", "Follow.")


def live_config_commands(commands: Sequence[str]) -> list[str]:
    """The commands live_config's CallbackCommandList takes, of ``commands``."""
    return sorted({command for command in commands if command.startswith(LIVE_CONFIG_NAMESPACES)})


def chat_side_commands(commands: Sequence[str]) -> list[str]:
    """The commands whose callbacks Tencent configures on the Chat side (its console), of ``commands``."""
    return sorted({command for command in commands if not is_live_side(command)})


@dataclass(frozen=True)
class CallbackState:
    """Tencent's live_config for the app, as read back: the configuration (None when there is none)
    and the token (None when none was ever set). The token stays a SecretStr: never printed."""

    url: str | None
    commands: frozenset[str]
    token: SecretStr | None
    token_enabled: bool | None

    def token_is(self, token: str) -> bool:
        return (
            self.token is not None and self.token.get_secret_value() == token and self.token_enabled is True
        )

    def points_at(self, url: str, commands: Sequence[str]) -> bool:
        return self.url == url and self.commands == frozenset(commands)


class ConfigureError(Exception):
    """A configuration call failed; the message says in which state Tencent was left."""


def read_callback_state(client: Any) -> CallbackState:
    """get_callback and get_callback_token, with Tencent's "none yet" answers (100301, 100302) read as
    absent rather than as errors."""
    from liveguard.tencent.commands.config import (
        NO_CALLBACK,
        NO_CALLBACK_TOKEN,
        GetCallback,
        GetCallbackToken,
    )
    from liveguard.tencent.errors import TencentApiError

    try:
        config = client.call(GetCallback())
        url, commands = config.url or None, frozenset(config.callback_command_list)
    except TencentApiError as error:
        if error.code != NO_CALLBACK:
            raise
        url, commands = None, frozenset()
    try:
        token = client.call(GetCallbackToken())
        secret, enabled = token.token, token.is_token_enable
    except TencentApiError as error:
        if error.code != NO_CALLBACK_TOKEN:
            raise
        secret, enabled = None, None
    return CallbackState(url, commands, secret, enabled)


def _write_callback(client: Any, exists: bool, url: str, commands: list[str]) -> str:
    """Create or update the configuration (set_callback only creates, update_callback only updates);
    when Tencent says the other one was needed (100300, 100301), use it. Returns the command used."""
    from liveguard.tencent.commands.config import CALLBACK_EXISTS, NO_CALLBACK, SetCallback, UpdateCallback
    from liveguard.tencent.errors import TencentApiError

    create = SetCallback(url=url, callback_command_list=commands)
    update = UpdateCallback(url=url, callback_command_list=commands)
    first, second, wrong = (update, create, NO_CALLBACK) if exists else (create, update, CALLBACK_EXISTS)
    try:
        client.call(first)
        return first.command.name
    except TencentApiError as error:
        if error.code != wrong:
            raise
    client.call(second)
    return second.command.name


def configure_callbacks(client: Any, *, url: str, token: str, commands: Sequence[str]) -> list[str]:
    """Make Tencent's Live-side webhook configuration (live_config) send ``commands`` to ``url``, signed
    with ``token``, changing only what differs; returns what to print (never the token).

    Re-runnable: it reads the configuration first, and an identical second run changes nothing. All or
    nothing: the token is switched first (so that the new URL never receives a callback the stack would
    refuse), then the URL; should the URL fail, the token is put back as it was, so Tencent is left
    in its complete previous state; should that fail too, ConfigureError says so and a re-run
    finishes the job. Raises TencentApiError when a call fails before anything changed,
    ConfigureError after, CheckFailed when reading back does not show the new configuration.
    """
    from liveguard.tencent.commands.config import SetCallbackToken
    from liveguard.tencent.errors import TencentApiError

    wanted = live_config_commands(commands)
    before = read_callback_state(client)
    lines = [
        "before: "
        + (f"{before.url}, {len(before.commands)} commands" if before.url else "no webhook configuration")
        + (
            ", token " + ("set, enabled" if before.token_enabled else "set, disabled")
            if before.token
            else ", no token"
        )
    ]
    token_changes = not before.token_is(token)
    config_changes = not before.points_at(url, wanted)
    if not token_changes and not config_changes:
        lines.append("already configured as asked: nothing changed")
        return lines
    if token_changes:
        reply = client.call(SetCallbackToken(token=SecretStr(token), is_token_enable=True))
        lines.append(f"set_callback_token: token set, signatures enabled (RequestId {reply.request_id})")
    if config_changes:
        try:
            used = _write_callback(client, before.url is not None, url, wanted)
        except TencentApiError as error:
            if not token_changes:
                raise ConfigureError(f"{error}; nothing was changed") from None
            raise ConfigureError(f"{error}; {_restore_token(client, before)}") from None
        lines.append(f"{used}: {url}, {len(wanted)} commands")
    after = read_callback_state(client)
    if not after.token_is(token) or not after.points_at(url, wanted):
        raise CheckFailed("get_callback and get_callback_token do not show the configuration just made")
    lines.append("get_callback, get_callback_token: the URL, the commands and the token are as asked")
    return lines


def _restore_token(client: Any, before: CallbackState) -> str:
    """Put the token back as ``before`` had it; say in which state that leaves Tencent."""
    from liveguard.tencent.commands.config import SetCallbackToken
    from liveguard.tencent.errors import TencentApiError

    if before.token is not None:
        restore = SetCallbackToken(token=before.token, is_token_enable=before.token_enabled)
    else:
        # A token cannot be deleted: switching signing off is how the app behaved without one.
        restore = SetCallbackToken(is_token_enable=False)
    try:
        client.call(restore)
    except TencentApiError as error:
        return (
            f"putting the previous token back failed too ({error}): Tencent now signs with the new "
            "token but calls the previous URL; run this command again"
        )
    return "the previous token was put back: Tencent is configured as it was before"


def chat_side_instructions(url: str, commands: Sequence[str], kept_in: str) -> list[str]:
    """What the operator sets in Tencent's Chat console (no REST command configures the Chat side);
    ``kept_in`` says where the token is, never what it is."""
    chat = chat_side_commands(commands)
    if not chat:
        return []
    return [
        "Chat side (Group.*, Follow.*, ContentCallback.*): Tencent configures it only in its Chat console,",
        "  Chat > Webhook (Callback Configuration) of this app; set there, once:",
        f"  - callback URL: {url}",
        f"  - authentication on, with the token in {kept_in}",
        "  - these callbacks switched on: " + ", ".join(chat),
    ]


def tencent_configure_command(args: argparse.Namespace) -> int:
    from liveguard.tencent.client import LiveClient
    from liveguard.tencent.errors import TencentApiError
    from liveguard.webhooks.models import KNOWN_COMMANDS

    commands = sorted(set(args.commands)) if args.commands else sorted(KNOWN_COMMANDS)
    try:
        if args.secret:
            endpoint, region = args.endpoint, args.region
            secret_arn = args.secret
        else:
            stack = locate(args)
            endpoint, region = stack.endpoint, stack.region
            secret_arn = stack.output(SECRET_OUTPUT)
        secrets = aws_client("secretsmanager", endpoint=endpoint, region=region)
        secret, chat_token_key = read_tencent_secret(secrets, secret_arn)
        if args.token is not None:
            token = args.token
        elif args.token_from_secret:
            token = read_token(secrets, args.token_from_secret)
        elif secret.callback_token is not None:
            token = secret.callback_token.get_secret_value()
        else:
            raise OpsError(
                f"secret {secret_arn} has no CallbackToken: give --token-from-secret ARN or --token"
            )
        client = LiveClient.from_secret(secret)
        print(f"app {secret.sdk_app_id} at {secret.base_url}, as {secret.admin_identifier}")
        for line in configure_callbacks(client, url=args.url, token=token, commands=commands):
            print(line)
        if args.token is not None:
            kept_in = "--token (the token given on the command line)"
        elif args.token_from_secret:
            kept_in = f"secret {args.token_from_secret}"
        else:
            kept_in = f"the {chat_token_key} key of secret {secret_arn}"
        for line in chat_side_instructions(args.url, commands, kept_in):
            print(line)
    except OpsError as error:
        print(f"liveguard tencent configure: {error}", file=sys.stderr)
        return 2
    except (TencentApiError, CheckFailed, ConfigureError) as error:
        print(f"liveguard tencent configure: {error}", file=sys.stderr)
        return 1
    return 0
