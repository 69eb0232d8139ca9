"""`liveguard local send COMMAND BODY.json`: one callback posted to the running local stack as Tencent
would post it, signed with the stack's webhook token, and Tencent's answer printed.

The emulator has no content moderation of its own (Tencent's cloud moderation, its keyword lists,
are not emulated), so this is how a rule is tried on a hand-written event against the whole app:
the ingress authenticates and decides it, the moderator and the actuator act on it, as for a real
callback. Where the stack is and its token come from what `liveguard local up` wrote
(``.liveguard/local.json``, read by ``liveguard_ops.stack``) and the stack's Tencent secret in moto.

The query is Tencent's: ``SdkAppid``, ``CallbackCommand``, ``contenttype=json``, ``ClientIP``,
``OptPlatform``, ``RequestTime`` and ``Sign = sha256(token + RequestTime)`` (the Live side's token for
``Live.*``/``Mic.*``, the Chat side's for the rest). Nothing here prints the token.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveguard_ops.stack import (
    CALLBACK_OUTPUT,
    SECRET_OUTPUT,
    OpsError,
    Stack,
    aws_client,
    stack_from_local_file,
)

TIMEOUT = 10.0  # seconds: Tencent waits 2 s, but a first call may meet a function's cold start
DEFAULT_QUERY = {"ClientIP": "127.0.0.1", "OptPlatform": "Web"}
"""What a hand-written body is sent with; an API Gateway event's own ClientIP and OptPlatform win."""


@dataclass(frozen=True)
class Callback:
    """The body to post (the bytes as written) and the query values the file gave, if any."""

    command: str
    raw: bytes
    query: dict[str, str]


def read_callback(command: str, source: str, stdin: Any = None) -> Callback:
    """The callback in ``source`` (a path, or ``-`` for stdin): a bare Tencent body, or an API Gateway
    proxy event (payload 1.0 or 2.0, as under events/callbacks/) whose body is taken. Its
    CallbackCommand must be ``command``."""
    if source == "-":
        text = (stdin or sys.stdin).read()
        where = "stdin"
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OpsError(f"{source}: no such file") from None
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise OpsError(f"{source}: cannot read it: {reason}") from None
        where = source
    try:
        document = json.loads(text)
    except ValueError as error:
        raise OpsError(f"{where}: not JSON: {error}") from None
    if not isinstance(document, dict):
        raise OpsError(f"{where}: not a JSON object (a Tencent callback body, or an API Gateway event)")
    query: dict[str, str] = {}
    raw = text.encode("utf-8")
    if "httpMethod" in document or (document.get("version") == "2.0" and "requestContext" in document):
        given = document.get("queryStringParameters") or {}
        query = {key: str(given[key]) for key in DEFAULT_QUERY if isinstance(given, dict) and key in given}
        body_text = document.get("body")
        if not isinstance(body_text, str):
            raise OpsError(f"{where}: an API Gateway event without a body")
        try:
            raw = (
                base64.b64decode(body_text) if document.get("isBase64Encoded") else body_text.encode("utf-8")
            )
            document = json.loads(raw)
        except (binascii.Error, ValueError) as error:
            raise OpsError(f"{where}: the event's body is not JSON: {error}") from None
        if not isinstance(document, dict):
            raise OpsError(f"{where}: the event's body is not a JSON object")
    named = document.get("CallbackCommand")
    if named is None:
        raise OpsError(
            f'{where}: the body has no CallbackCommand (Tencent\'s do: add "CallbackCommand": "{command}")'
        )
    if named != command:
        raise OpsError(f"{where}: the body's CallbackCommand is {named!r}, not {command!r}")
    return Callback(command, raw, query)


def check_command(command: str) -> None:
    """A CallbackCommand LiveGuard models, or an OpsError naming the closest one."""
    from liveguard.rules.loader import _closest_command
    from liveguard.webhooks.models import KNOWN_COMMANDS

    if command in KNOWN_COMMANDS:
        return
    hint = _closest_command(command)
    raise OpsError(f"unknown CallbackCommand {command!r}" + (f' (did you mean "{hint}"?)' if hint else ""))


def local_stack(local_file: Path) -> Stack:
    """The running local stack's file, or an OpsError saying there is none."""
    if not local_file.is_file():
        raise OpsError(f"no local stack running: no {local_file} (start one with `liveguard local up`)")
    try:
        document = json.loads(local_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise OpsError(f"{local_file}: cannot read it: {error}") from None
    pid = document.get("pid") if isinstance(document, dict) else None
    if isinstance(pid, int) and not _alive(pid):
        raise OpsError(
            f"no local stack running: {local_file} is from process {pid}, which has exited "
            "(start one with `liveguard local up`)"
        )
    if isinstance(document, dict) and document.get("aws_only"):
        raise OpsError(
            f"{local_file}: the stack runs --aws-only: its API is `sam local start-api`'s; post there"
        )
    return stack_from_local_file(local_file)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def signed_query(
    command: str, secret: Any, given: dict[str, str], now: float | None = None
) -> dict[str, str]:
    """Tencent's query for ``command``: app, command, contenttype, ClientIP, OptPlatform, RequestTime and
    Sign made with the token of the command's side."""
    from liveguard.tencent.webhook_signature import webhook_sign
    from liveguard.webhooks.commands import is_live_side

    token = secret.callback_token_for(command)
    if token is None:
        side = "Live" if is_live_side(command) else "Chat"
        raise OpsError(f"the stack's Tencent secret has no webhook token for the {side} side")
    stamp = str(int(time.time() if now is None else now))
    return {
        "SdkAppid": str(secret.sdk_app_id),
        "CallbackCommand": command,
        "contenttype": "json",
        **DEFAULT_QUERY,
        **given,
        "RequestTime": stamp,
        "Sign": webhook_sign(token.get_secret_value(), stamp),
    }


def local_send_command(args: argparse.Namespace) -> int:
    """Post the callback; print the HTTP status and Tencent's answer (exit 0 for a 2xx, 1 otherwise,
    2 when it could not be sent)."""
    import httpx

    from liveguard_ops.tencent import read_tencent_secret

    try:
        check_command(args.command)
        callback = read_callback(args.command, args.body)
        stack = local_stack(Path(args.local_file))
        url = stack.output(CALLBACK_OUTPUT)
        secrets = aws_client("secretsmanager", endpoint=stack.endpoint, region=stack.region)
        secret, _ = read_tencent_secret(secrets, stack.output(SECRET_OUTPUT))
        query = signed_query(args.command, secret, callback.query)
        try:
            response = httpx.post(
                url,
                params=query,
                content=callback.raw,
                headers={"Content-Type": "application/json", "User-Agent": "liveguard-local-send"},
                timeout=TIMEOUT,
            )
        except httpx.HTTPError as error:
            raise OpsError(
                f"cannot reach the local stack at {url}: {error} (is `liveguard local up` running?)"
            ) from None
    except OpsError as error:
        print(f"liveguard local send: {error}", file=sys.stderr)
        return 2
    print(f"HTTP {response.status_code} from {url}")
    try:
        answer = response.json()
    except ValueError:
        print(response.text)
    else:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
    return 0 if response.is_success else 1
