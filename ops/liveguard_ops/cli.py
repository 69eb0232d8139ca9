"""The `liveguard` command: its arguments, and which module runs each subcommand.

For operators: `dlq replay` (dlq.py) and `tencent configure` (tencent.py) on a running stack, and
`rules check` and `rules test` (rules.py) on a rules file. For development: `emulator` and `local up`,
which run tools of liveguard_local. A command imports what it needs when it runs (boto3, the layer,
liveguard_local), so the parser itself loads none of them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from liveguard_ops.rules import rules_check_command, rules_test_command


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
    check.set_defaults(run=rules_check_command)
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
    test.set_defaults(run=rules_test_command)
    _add_ops(commands)
    _add_local(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
