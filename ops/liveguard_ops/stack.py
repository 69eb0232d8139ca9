"""Where a running LiveGuard is, for the operator commands (`liveguard dlq replay`, `liveguard tencent
configure`, `liveguard audit`, `liveguard rules publish|status|rollback`): its queues' URLs, its
Tencent secret's ARN, its state table's and rules bucket's names, and boto3 clients that reach them.

``--stack NAME`` reads the deployed stack's CloudFormation outputs (EventsQueueUrl,
EventsDeadLetterQueueUrl, ActionsQueueUrl, ActionsDeadLetterQueueUrl, TencentSecretArn,
StateTableName, RulesBucketName); without it,
``.liveguard/local.json`` (written by `liveguard local up`) when present. ``--endpoint`` points boto3
elsewhere than AWS (moto locally); a local stack's endpoint is taken from its queue URLs.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

# The region moto (and `liveguard local up`) uses when nothing else says.
LOCAL_REGION = "us-east-1"

QueueKind = Literal["events", "actions", "delayed"]
# The stack outputs naming each queue and its DLQ (template.yaml, Outputs).
QUEUE_OUTPUTS: dict[QueueKind, tuple[str, str]] = {
    "events": ("EventsQueueUrl", "EventsDeadLetterQueueUrl"),
    "actions": ("ActionsQueueUrl", "ActionsDeadLetterQueueUrl"),
    # Standard queues: a replay sends without group or dedup id, and the actuator's idempotency
    # keeps a replayed action from running twice.
    "delayed": ("DelayedActionsQueueUrl", "DelayedActionsDeadLetterQueueUrl"),
}
SECRET_OUTPUT = "TencentSecretArn"  # noqa: S105 - an output name
TABLE_OUTPUT = "StateTableName"
RULES_BUCKET_OUTPUT = "RulesBucketName"
# Outputs whose values are plain names (not URLs or ARNs).
_PLAIN_OUTPUTS = frozenset({TABLE_OUTPUT, RULES_BUCKET_OUTPUT})
CALLBACK_OUTPUT = "CallbackUrl"
# Other spellings of those outputs in local.json: the resources' logical ids and the functions'
# environment variable names (compared lower-case, without separators).
_ALIASES = {
    "EventsQueueUrl": ("EventsQueue", "EVENTS_QUEUE_URL"),
    "EventsDeadLetterQueueUrl": ("EventsDeadLetterQueue", "EVENTS_DLQ_URL", "EventsDlq"),
    "ActionsQueueUrl": ("ActionsQueue", "ACTIONS_QUEUE_URL"),
    "ActionsDeadLetterQueueUrl": ("ActionsDeadLetterQueue", "ACTIONS_DLQ_URL", "ActionsDlq"),
    "DelayedActionsQueueUrl": ("DelayedActionsQueue", "DELAYED_ACTIONS_QUEUE_URL"),
    "DelayedActionsDeadLetterQueueUrl": ("DelayedActionsDeadLetterQueue", "DelayedActionsDlq"),
    "TencentSecretArn": ("TencentSecret", "TENCENT_SECRET_ARN"),
    "StateTableName": ("StateTable", "STATE_TABLE_NAME"),
    "RulesBucketName": ("RulesBucket", "RULES_BUCKET"),
    "CallbackUrl": ("callback", "CALLBACK_URL"),
}
# The template's resource names (QueueName: liveguard-events-${Stage}.fifo ...; the secret
# liveguard/${Stage}/tencent): how a value in local.json is recognised whatever its key.
_NAME_PATTERNS = {
    "EventsQueueUrl": re.compile(r"^https?://[^?#]+/liveguard-events-(?!dlq-)[^/]+\.fifo$"),
    "EventsDeadLetterQueueUrl": re.compile(r"^https?://[^?#]+/liveguard-events-dlq-[^/]+\.fifo$"),
    "ActionsQueueUrl": re.compile(r"^https?://[^?#]+/liveguard-actions-(?!dlq-)[^/]+\.fifo$"),
    "ActionsDeadLetterQueueUrl": re.compile(r"^https?://[^?#]+/liveguard-actions-dlq-[^/]+\.fifo$"),
    "DelayedActionsQueueUrl": re.compile(r"^https?://[^?#]+/liveguard-delayed-actions-(?!dlq-)[^/.]+$"),
    "DelayedActionsDeadLetterQueueUrl": re.compile(r"^https?://[^?#]+/liveguard-delayed-actions-dlq-[^/.]+$"),
    "TencentSecretArn": re.compile(r"^arn:aws[a-z-]*:secretsmanager:[^:]*:[0-9]{12}:secret:liveguard/.+$"),
    "StateTableName": re.compile(r"^liveguard-state-[A-Za-z0-9_.-]+$"),
    "RulesBucketName": re.compile(r"^liveguard-[a-z0-9.-]*rules[a-z0-9.-]*$"),
    "CallbackUrl": re.compile(r"^https?://[^?#]+/tencent/callback$"),
}
_ENDPOINT_KEYS = {"awsendpointurl", "awsendpoint", "motoendpoint", "motourl"}
_REGION_KEYS = {"awsregion"}


class OpsError(Exception):
    """Something the operator must fix before the command can run (said in one line, exit 2)."""


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
        # A table's name is a plain name; a secret's is an ARN; a queue's a URL.
        kind = (
            ("",)
            if name in _PLAIN_OUTPUTS
            else ("arn:",)
            if name == SECRET_OUTPUT
            else ("http://", "https://")
        )
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
