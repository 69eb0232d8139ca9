"""The `liveguard` command: development tools (the Tencent Live emulator, the rules checker)."""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _emulator(args: argparse.Namespace) -> int:
    from liveguard_local.emulator.server import Emulator, EmulatorConfig

    secret_key = args.secret_key or os.environ.get("LIVEGUARD_EMULATOR_SECRET_KEY")
    if not secret_key:
        print("liveguard emulator: give --secret-key or set LIVEGUARD_EMULATOR_SECRET_KEY", file=sys.stderr)
        return 2
    config = EmulatorConfig(
        sdk_app_id=args.sdkappid,
        secret_key=secret_key,
        admin=args.admin,
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
        callback_token=args.callback_token or os.environ.get("LIVEGUARD_EMULATOR_CALLBACK_TOKEN"),
        chat_webhook_url=args.chat_webhook_url,
        chat_callback_token=args.chat_callback_token
        or os.environ.get("LIVEGUARD_EMULATOR_CHAT_CALLBACK_TOKEN"),
        auto_destroy_after=args.auto_destroy_after,
        message_failure_policy=args.message_failure_policy,
        gift_failure_policy=args.gift_failure_policy,
        retry_after_on_timeout=args.retry_after_on_timeout,
    )
    try:
        emulator = Emulator(config).start()
    except OSError as error:
        print(
            f"liveguard emulator: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr
        )
        return 1
    print(
        f"Tencent Live emulator for SdkAppId {args.sdkappid}, admin {args.admin}: {emulator.base_url}",
        flush=True,
    )
    if args.webhook_url:
        signed = "signed" if config.callback_token else "unsigned"
        print(f"webhooks ({signed}) -> {args.webhook_url}", flush=True)
    if config.chat_webhook_url or config.chat_callback_token:
        chat_url = config.chat_webhook_url or args.webhook_url or "(no URL yet)"
        signed = "signed" if config.chat_callback_token or config.callback_token else "unsigned"
        print(f"Chat-side webhooks (Group.*, Follow.*, ...; {signed}) -> {chat_url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def _rules_check(args: argparse.Namespace) -> int:
    from liveguard.rules.loader import RulesInvalid, load_rules

    try:
        rules = load_rules(args.file)
    except RulesInvalid as error:
        print(f"{args.file}: invalid", file=sys.stderr)
        print(str(error), file=sys.stderr)
        return 1
    print(f"{args.file}: ok, {rules.summary()}")
    return 0


def _read_event(path: str) -> tuple[str, dict[str, Any], bytes, str]:
    """(command, body, raw body, SdkAppid) from a Tencent callback body or an API Gateway proxy event."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    query: dict[str, Any] = {}
    if "httpMethod" in document and "body" in document:  # an API Gateway proxy event
        query = document.get("queryStringParameters") or {}
        raw_text = document["body"] or ""
        raw = base64.b64decode(raw_text) if document.get("isBase64Encoded") else raw_text.encode("utf-8")
        body = json.loads(raw)
    else:
        body, raw = document, json.dumps(document, ensure_ascii=False).encode("utf-8")
    if not isinstance(body, dict):
        raise ValueError("the callback body is not a JSON object")
    command = query.get("CallbackCommand") or body.get("CallbackCommand")
    if not isinstance(command, str) or not command:
        raise ValueError("no CallbackCommand in the body or the query")
    return command, body, raw, str(query.get("SdkAppid", "local"))


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def _describe_change(change: Any) -> str:
    if change.kind == "strike":
        return f"strike {change.user_id} in {change.room_id}"
    if change.kind == "violation":
        return f"violation {change.violation} in {change.room_id}"
    if change.kind == "snapshot":
        value = "no approved value" if change.value is None else _json(change.value)
        return f"snapshot {change.room_id} {change.key} = {value}"
    return f"sanction {change.user_id} {change.sanction} in {change.room_id} until {change.until}"


def _rules_test(args: argparse.Namespace) -> int:
    from liveguard.messages import event_id
    from liveguard.rules.engine import evaluate, snapshots_from_admin
    from liveguard.rules.loader import RulesInvalid, load_rules
    from liveguard.webhooks.models import BEFORE_COMMANDS, CallbackInvalid, parse_callback
    from liveguard_local.memory_state import MemoryState

    try:
        rules = load_rules(args.file)
    except RulesInvalid as error:
        print(f"{args.file}: invalid", file=sys.stderr)
        print(str(error), file=sys.stderr)
        return 1
    now = time.time() if args.now is None else args.now
    try:
        state = MemoryState.from_file(args.state, now) if args.state else MemoryState()
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"{args.state}: cannot use this state file: {error}", file=sys.stderr)
        return 1
    print(f"{args.file}: {rules.summary()}")
    status = 0
    for path in args.events:
        try:
            command, body, raw, app = _read_event(path)
            event = parse_callback(command, body)
        except (OSError, ValueError, binascii.Error, CallbackInvalid) as error:
            print(f"\n{path}: cannot read this event: {error}")
            status = 1
            continue
        who = event.operator or "-"
        print(f"\n{path}: {command}, room {event.room_key or '-'}, operator {who}")
        if event.operator == args.admin:
            snapshots = snapshots_from_admin(event)
            print("  echo of the admin: recorded, not moderated")
            for snapshot in snapshots:
                print(f"  change:  {_describe_change(snapshot)}")
            state.apply(snapshots, now)
            continue
        decision = evaluate(
            event, state, rules, now=now, admin=args.admin, event_id=event_id(app, command, raw)
        )
        print(f"  fired:   {', '.join(decision.fired) or '(none)'}")
        verdict = decision.verdict
        if verdict is not None:
            line = f"{verdict.action} (ErrorCode {verdict.code}) by {verdict.rule}"
            if verdict.reason:
                line += f": {verdict.reason}"
            print(f"  verdict: {line}")
            if verdict.msg_body is not None:
                print(f"           MsgBody {_json(verdict.msg_body)}")
        elif command in BEFORE_COMMANDS:
            print("  verdict: deliver (ErrorCode 0), no rule decided")
        for action in decision.actions:
            delay = f" after {action.delay_seconds} s" if action.delay_seconds else ""
            print(f"  action:  {action.command} {_json(action.params)}{delay}  [{action.rule}]")
        for change in decision.changes:
            print(f"  change:  {_describe_change(change)}  [{change.rule}]")
        state.apply(decision.changes, now)
    return status


def _add_ops(commands: Any) -> None:
    """`liveguard dlq replay` and `liveguard tencent configure` (liveguard_ops.dlq and .tencent; boto3
    is imported only when one of them runs)."""

    def dlq_replay(args: argparse.Namespace) -> int:
        from liveguard_ops.dlq import dlq_replay_command

        return dlq_replay_command(args)

    def tencent_configure(args: argparse.Namespace) -> int:
        from liveguard_ops.tencent import tencent_configure_command

        return tencent_configure_command(args)

    def where(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--stack", help="the deployed stack whose outputs say where things are (e.g. liveguard-dev)"
        )
        parser.add_argument(
            "--endpoint", help="AWS endpoint URL (moto); a local stack's comes from .liveguard/local.json"
        )
        parser.add_argument("--region", help="AWS region (default: boto3's; us-east-1 with --endpoint)")
        parser.add_argument(
            "--local-file",
            default=".liveguard/local.json",
            help="the local stack's file, used when --stack is not given (default: %(default)s)",
        )

    dlq = commands.add_parser("dlq", help="dead-letter queues: move messages back after a fix")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    replay = dlq_commands.add_parser(
        "replay",
        help="move messages from a DLQ back to its queue (group and dedup id kept; deleted once sent)",
    )
    replay.add_argument("--queue", choices=["events", "actions"], required=True, help="which DLQ")
    replay.add_argument("--limit", type=int, help="move at most this many messages")
    replay.add_argument("--dry-run", action="store_true", help="list what would move; move nothing")
    where(replay)
    replay.set_defaults(run=dlq_replay)

    tencent = commands.add_parser("tencent", help="Tencent's side of the app: webhook configuration")
    tencent_commands = tencent.add_subparsers(dest="tencent_command", required=True)
    configure = tencent_commands.add_parser(
        "configure",
        help="point the app's Live-side webhooks at a URL and sign them (live_config: changes only what "
        "differs, all or nothing), and say what to set in the Chat console",
    )
    configure.add_argument("--url", required=True, help="the webhook URL (the stack's CallbackUrl)")
    configure.add_argument(
        "--secret", help="ARN of LiveGuard's Tencent secret (default: the stack's TencentSecretArn)"
    )
    token = configure.add_mutually_exclusive_group()
    token.add_argument(
        "--token-from-secret", metavar="ARN", help="the webhook token: this secret's CallbackToken"
    )
    token.add_argument("--token", help="the webhook token (default: the Tencent secret's CallbackToken)")
    configure.add_argument(
        "--commands",
        nargs="+",
        metavar="COMMAND",
        help="the CallbackCommands to receive (default: every one LiveGuard models)",
    )
    where(configure)
    configure.set_defaults(run=tencent_configure)


def _add_local(commands: Any) -> None:
    """`liveguard local up`: the whole app from template.yaml on loopback, without Docker
    (liveguard_local.stack; nothing of it is imported until the command runs)."""

    def up(args: argparse.Namespace) -> int:
        from liveguard_local.stack import LocalStackOptions, run
        from liveguard_local.stack.core import default_template

        options = LocalStackOptions(
            port=args.port,
            emulator_port=args.emulator_port,
            aws_port=args.aws_port,
            host=args.host,
            rules=Path(args.rules) if args.rules else None,
            aws_only=args.aws_only,
            template=Path(args.template) if args.template else default_template(),
            state_dir=Path(args.state_dir) if args.state_dir else None,
            visibility_timeout=args.visibility_timeout,
            instances=args.instances,
            schedule_interval=args.schedule_interval,
        )
        return run(options)

    local = commands.add_parser("local", help="run LiveGuard on this machine (no Docker, no AWS account)")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    start = local_commands.add_parser(
        "up",
        help="moto (SQS, Secrets Manager, DynamoDB), the Tencent emulator, the API and the functions, "
        "from template.yaml, until Ctrl-C",
    )
    start.add_argument("--port", type=int, default=3000, help="the API (POST /tencent/callback)")
    start.add_argument("--emulator-port", type=int, default=9000, help="the Tencent Live emulator")
    start.add_argument("--aws-port", type=int, default=5000, help="moto's server (AWS_ENDPOINT_URL)")
    start.add_argument("--host", default="127.0.0.1", help="the address everything listens on")
    start.add_argument("--rules", help="a rules file for the functions (RULES_FILE); default: the layer's")
    start.add_argument(
        "--aws-only",
        action="store_true",
        help="moto and the emulator only, for `sam local start-api` (still writes local.json)",
    )
    start.add_argument("--template", help="the SAM template (default: ./template.yaml, else the repo's)")
    start.add_argument("--state-dir", help="where local.json and the logs go (default: .liveguard beside it)")
    start.add_argument(
        "--visibility-timeout",
        type=int,
        metavar="SECONDS",
        help="replace every queue's VisibilityTimeout (the wait before a failed record is retried)",
    )
    start.add_argument(
        "--instances",
        type=int,
        default=1,
        help="worker processes per function; an SQS source runs min(its MaximumConcurrency, this) at once",
    )
    start.add_argument(
        "--schedule-interval",
        type=float,
        metavar="SECONDS",
        help="run scheduled functions (the spool drain) this often instead of the template's rate",
    )
    start.set_defaults(run=up)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveguard", description="LiveGuard development tools")
    commands = parser.add_subparsers(dest="command", required=True)
    emulator = commands.add_parser(
        "emulator", help="run the Tencent Live emulator (REST API, webhooks, app users) on loopback"
    )
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=9000)
    emulator.add_argument("--sdkappid", type=int, default=1400000001)
    emulator.add_argument("--secret-key", help="the app key UserSigs are checked with")
    emulator.add_argument("--admin", default="administrator", help="the app administrator account")
    emulator.add_argument("--webhook-url", help="where callbacks go (LiveGuard's /tencent/callback)")
    emulator.add_argument("--callback-token", help="sign callbacks with this token (Sign, RequestTime)")
    emulator.add_argument(
        "--chat-webhook-url",
        help="where the Chat side's callbacks (every namespace but Live. and Mic.) go; default --webhook-url",
    )
    emulator.add_argument(
        "--chat-callback-token",
        help="sign the Chat side's callbacks with this token; default --callback-token "
        "(or set LIVEGUARD_EMULATOR_CHAT_CALLBACK_TOKEN)",
    )
    emulator.add_argument(
        "--auto-destroy-after", type=float, default=1800.0, help="seconds an empty room lives"
    )
    emulator.add_argument("--message-failure-policy", choices=["deliver", "reject"], default="deliver")
    emulator.add_argument("--gift-failure-policy", choices=["block", "allow"], default="block")
    emulator.add_argument("--retry-after-on-timeout", action="store_true")
    emulator.set_defaults(run=_emulator)

    rules = commands.add_parser("rules", help="check a rules file, or see what it decides on events")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_commands.add_parser("check", help="validate a rules file (exit 1 naming each mistake)")
    check.add_argument("file", help="the rules file (YAML)")
    check.set_defaults(run=_rules_check)
    test = rules_commands.add_parser(
        "test", help="print the rules that fire, the verdict, actions and state changes for each event"
    )
    test.add_argument("file", help="the rules file (YAML)")
    test.add_argument(
        "events", nargs="+", help="Tencent callback bodies or API Gateway proxy events (events/callbacks/)"
    )
    test.add_argument(
        "--state", help="a JSON file of strikes, violations, snapshots and sanctions to start from"
    )
    test.add_argument("--admin", default="administrator", help="the AdminIdentifier (its events are echoes)")
    test.add_argument("--now", type=float, help="the time to decide at, unix seconds (default: now)")
    test.set_defaults(run=_rules_test)
    _add_ops(commands)
    _add_local(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
