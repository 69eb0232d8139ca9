"""`liveguard tencent configure`: Tencent's Live-side webhook configuration (live_config) pointed at the
stack and signed, and what to set by hand in the Chat console (docs/operations.md, "Configuring
Tencent").

Nothing here prints the webhook token or the app's SecretKey: a line says where the token is kept,
never what it is.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr, ValidationError

from liveguard.webhooks.commands import LIVE_SIDE_NAMESPACES, is_live_side
from liveguard_ops.stack import SECRET_OUTPUT, OpsError, aws_client, locate


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


class CheckFailed(Exception):  # noqa: N818 - a condition of the outcome, said in one line
    """Tencent took the calls, but reading the configuration back does not show it (exit 1)."""


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
