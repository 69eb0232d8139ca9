"""The `liveguard` command: its arguments, and which module runs each subcommand.

For operators: `dlq replay` (dlq.py), `tencent configure` (tencent.py), `audit` (audit.py) and
`review list|show|approve|deny` (review.py) on a running stack, and
`rules check` and `rules test` (rules.py) on a rules file; `rules publish`, `rules status` and
`rules rollback` (publish.py) on a running stack's rules bucket. For development: `emulator` and `local up`,
which run tools of liveguard_local. A command imports what it needs when it runs (boto3, the layer,
liveguard_local), so the parser itself loads none of them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from liveguard_local.emulator.cli import add_emulator_arguments, run_emulator
from liveguard_ops.rules import rules_check_command, rules_test_command


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the running stack is: the options every command on a running stack takes."""
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


def _add_rules_store(rules_commands: Any) -> None:
    """`liveguard rules publish | status | rollback` (liveguard_ops.publish; boto3 imported when run)."""

    def publish(args: argparse.Namespace) -> int:
        from liveguard_ops.publish import rules_publish_command

        return rules_publish_command(args)

    def status(args: argparse.Namespace) -> int:
        from liveguard_ops.publish import rules_status_command

        return rules_status_command(args)

    def rollback(args: argparse.Namespace) -> int:
        from liveguard_ops.publish import rules_rollback_command

        return rules_rollback_command(args)

    upload = rules_commands.add_parser(
        "publish",
        help="validate a rules file as `rules check` does and make it the running stack's live rules "
        "(the functions take it within RULES_REFRESH_SECONDS, no redeploy); exit 2 if invalid",
    )
    upload.add_argument("file", help="the rules file (YAML); its term files are published with it")
    add_stack_arguments(upload)
    upload.set_defaults(run=publish)
    show = rules_commands.add_parser(
        "status", help="the live rules version: its age, sha256, who published it; and the recent versions"
    )
    show.add_argument("--json", action="store_true", help="one JSON object")
    add_stack_arguments(show)
    show.set_defaults(run=status)
    back = rules_commands.add_parser(
        "rollback",
        help="make an earlier version live again (as a new version; default: the one before the live one),"
        " after checking it loads with today's rules engine",
    )
    back.add_argument("version", nargs="?", help="the S3 version id to go back to (see `rules status`)")
    add_stack_arguments(back)
    back.set_defaults(run=rollback)


def _add_ops(commands: Any) -> None:
    """`liveguard dlq replay`, `liveguard tencent configure` and `liveguard audit` (liveguard_ops.dlq,
    .tencent and .audit; boto3 is imported only when one of them runs)."""

    def dlq_replay(args: argparse.Namespace) -> int:
        from liveguard_ops.dlq import dlq_replay_command

        return dlq_replay_command(args)

    def tencent_configure(args: argparse.Namespace) -> int:
        from liveguard_ops.tencent import tencent_configure_command

        return tencent_configure_command(args)

    def audit(args: argparse.Namespace) -> int:
        from liveguard_ops.audit import audit_command

        return audit_command(args)

    where = add_stack_arguments

    dlq = commands.add_parser("dlq", help="dead-letter queues: move messages back after a fix")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    replay = dlq_commands.add_parser(
        "replay",
        help="move messages from a DLQ back to its queue (group and dedup id kept; deleted once sent)",
    )
    replay.add_argument("--queue", choices=["events", "actions", "delayed"], required=True, help="which DLQ")
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

    timeline = commands.add_parser(
        "audit",
        help="a room's timeline from the audit: events that fired rules (verdict, matched terms, "
        "actions queued) and actions with their outcome at Tencent, oldest first",
    )
    timeline.add_argument("room", help="the RoomId")
    timeline.add_argument(
        "--since",
        metavar="WHEN",
        help="only since this time: ISO (UTC unless it says) or a duration (10m, 2h, 1d)",
    )
    timeline.add_argument(
        "--user",
        help="only what concerns this user: events that struck or sanctioned them or queued an action on "
        "them, and actions whose Member_Account/MemberList_Account names them",
    )
    timeline.add_argument("--json", action="store_true", help="one JSON object per record, one a line")
    where(timeline)
    timeline.set_defaults(run=audit)
    _add_review(commands, where)


def _add_review(commands: Any, where: Any) -> None:
    """`liveguard review list|show|approve|deny` (liveguard_ops.review): the comments held for review."""

    def review(args: argparse.Namespace) -> int:
        from liveguard_ops.review import review_command

        return review_command(args)

    parser = commands.add_parser(
        "review", help="comments a rule held (verdict hold): list them, show one, approve or deny it"
    )
    review_commands = parser.add_subparsers(dest="review_command", required=True)
    listing = review_commands.add_parser("list", help="the holds waiting for a decision, oldest first")
    listing.add_argument("--room", help="only this room's")
    listing.add_argument("--json", action="store_true", help="one JSON object per hold, one a line")
    show = review_commands.add_parser("show", help="one hold with its context")
    show.add_argument("--json", action="store_true", help="as one JSON object")
    approve = review_commands.add_parser(
        "approve", help="send the comment into its room as its sender (send_group_msg, once)"
    )
    deny = review_commands.add_parser("deny", help="drop the comment for good")
    deny.add_argument("--strike", action="store_true", help="count a strike against the sender in the room")
    for sub in (show, approve, deny):
        sub.add_argument("id", help="the hold's id as `review list` shows it (or a unique prefix, 8+ digits)")
    for sub in (approve, deny):
        sub.add_argument("--by", help="who decided, for the record (default: this user's login name)")
    for sub in (listing, show, approve, deny):
        where(sub)
        sub.set_defaults(run=review)


def _add_local(commands: Any) -> None:
    """`liveguard local up`: the whole app from template.yaml on loopback, without Docker
    (liveguard_local.stack; nothing of it is imported until the command runs); `liveguard local send`:
    a signed callback posted to it (liveguard_ops.send)."""

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
            rules_refresh_seconds=args.rules_refresh_seconds,
        )
        return run(options)

    local = commands.add_parser("local", help="run LiveGuard on this machine (no Docker, no AWS account)")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    start = local_commands.add_parser(
        "up",
        help="moto (SQS, Secrets Manager, DynamoDB, S3), the Tencent emulator, the API and the functions, "
        "from template.yaml, until Ctrl-C",
    )
    start.add_argument("--port", type=int, default=3000, help="the API (POST /tencent/callback)")
    start.add_argument("--emulator-port", type=int, default=9000, help="the Tencent Live emulator")
    start.add_argument("--aws-port", type=int, default=5000, help="moto's server (AWS_ENDPOINT_URL)")
    start.add_argument("--host", default="127.0.0.1", help="the address everything listens on")
    start.add_argument(
        "--rules",
        help="a rules file, published to the rules bucket as its first version (and RULES_FILE); "
        "default: nothing published, the layer's defaults",
    )
    start.add_argument(
        "--rules-refresh-seconds",
        type=float,
        metavar="SECONDS",
        help="how often the functions check the rules bucket (RULES_REFRESH_SECONDS; the template's 30 s)",
    )
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

    def send(args: argparse.Namespace) -> int:
        from liveguard_ops.send import local_send_command

        return local_send_command(args)

    post = local_commands.add_parser(
        "send",
        help="post a signed callback to the running local stack and print Tencent's answer (the "
        "emulator has no content moderation of its own: this is how to try a rule on a hand-written event)",
        description="Post BODY to the running local stack's callback URL as Tencent would (SdkAppid, "
        "CallbackCommand, contenttype, ClientIP, OptPlatform, RequestTime, Sign made with the stack's "
        "webhook token) and print the HTTP status and the answer: for a before-callback, the verdict "
        "(ErrorCode, a rewritten MsgBody). The emulator has no content moderation of its own (Tencent's "
        "keyword lists and cloud moderation are not emulated), so this is how to try a rule on a "
        "hand-written event; the moderator and the actuator then act on it as on a real callback. "
        "Exit 0 for a 2xx answer, 1 for another, 2 when nothing was sent.",
    )
    post.add_argument(
        "command", metavar="COMMAND", help="the CallbackCommand, e.g. Group.CallbackBeforeSendMsg"
    )
    post.add_argument(
        "body",
        metavar="BODY.json",
        help="a Tencent callback body naming the same CallbackCommand, or an API Gateway event from "
        "events/callbacks/ (its body is sent, re-signed); - reads stdin",
    )
    post.add_argument(
        "--local-file",
        default=".liveguard/local.json",
        help="the running local stack's file (default: %(default)s)",
    )
    post.set_defaults(run=send)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveguard", description="LiveGuard development tools")
    commands = parser.add_subparsers(dest="command", required=True)
    emulator = commands.add_parser(
        "emulator", help="run the Tencent Live emulator (REST API, webhooks, app users) on loopback"
    )
    add_emulator_arguments(emulator)
    emulator.set_defaults(run=run_emulator)

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
    test.add_argument(
        "--json", action="store_true", help="print one JSON object per event (for CI), nothing else"
    )
    test.add_argument(
        "--echoes",
        action="store_true",
        help="after each event's actions, play the callbacks Tencent sends back for them (the emulator "
        "runs them): the admin's echoes are recorded as the moderator records them (its metadata "
        "changes become the approved values), never moderated",
    )
    test.set_defaults(run=rules_test_command)
    _add_rules_store(rules_commands)
    _add_ops(commands)
    _add_local(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
