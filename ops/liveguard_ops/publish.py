"""`liveguard rules publish | status | rollback`: the rules bucket of a running LiveGuard (a deployed
stack's RulesBucketName output, or the local stack's), so rules change without a redeploy.

``publish FILE`` validates FILE exactly as `rules check` does (the same loader, the same messages, its
warnings printed) and, only if it loads, uploads the bundle it makes (the YAML and every term file it
reads) as the new live version. ``status`` shows the live version, its age and who published it, and
the recent ones. ``rollback [VERSION]`` puts an earlier version's bundle (default: the one before the
live one) as the new live version, after compiling it with today's loader. Bad input is one line on
stderr and exit 2; AWS failing is one line and exit 1; never a traceback. docs/operations.md,
"Publishing rules".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liveguard_ops.stack import RULES_BUCKET_OUTPUT, OpsError, Stack, aws_client, locate

if TYPE_CHECKING:
    from liveguard.aws.rules_store import RulesStore, StoredVersion

RECENT = 10
REFRESH_NOTE = "the functions take it within their RULES_REFRESH_SECONDS (30 s unless the stack says)"


class _Refused(Exception):  # noqa: N818 - a refusal with its lines, not a fault
    """The command stops: each line printed to stderr, and the exit status."""

    def __init__(self, lines: list[str], status: int = 2) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.status = status


def _store(args: argparse.Namespace) -> tuple[Stack, RulesStore]:
    from liveguard.aws.rules_store import RulesStore

    stack = locate(args)
    bucket = stack.output(RULES_BUCKET_OUTPUT)
    return stack, RulesStore(aws_client("s3", endpoint=stack.endpoint, region=stack.region), bucket)


def _caller(stack: Stack) -> str:
    """Who is publishing: the STS caller identity's ARN (moto answers with its own)."""
    sts = aws_client("sts", endpoint=stack.endpoint, region=stack.region)
    return str(sts.get_caller_identity()["Arn"])


def _age(moment: datetime, now: float) -> str:
    seconds = max(int(now - moment.timestamp()), 0)
    for unit, size, smaller, smaller_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "m", 60),
        ("m", 60, "s", 1),
    ):
        if seconds >= size:
            rest = (seconds % size) // smaller_size
            return f"{seconds // size}{unit} {rest}{smaller}" if rest else f"{seconds // size}{unit}"
    return f"{seconds}s"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(version: StoredVersion, now: float) -> str:
    sha = (version.sha256 or "?")[:12]
    text = (
        f"{version.version_id}  {_iso(version.last_modified)} ({_age(version.last_modified, now)} ago)"
        f"  sha256 {sha}  by {version.published_by or '?'}  from {version.source or '?'}"
    )
    if version.rolled_back_from:
        text += f"  (rollback from {version.rolled_back_from}"
        text += f" to the content of {version.restores})" if version.restores else ")"
    return text


def _run(name: str, command: Any, args: argparse.Namespace) -> int:
    """Run a subcommand: refusals and AWS failures as one line each, never a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return int(command(args))
    except _Refused as refused:
        for line in refused.lines:
            print(line, file=sys.stderr)
        return refused.status
    except OpsError as error:
        print(f"liveguard rules {name}: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"liveguard rules {name}: {error}", file=sys.stderr)
        return 1


# --- publish -------------------------------------------------------------------------------------


def _publish(args: argparse.Namespace) -> int:
    from liveguard.rules.bundle import sha256_hex
    from liveguard.rules.loader import RulesInvalid, load_bundle, read_rules_bundle

    try:
        rules, bundle = read_rules_bundle(args.file)
    except RulesInvalid as error:  # as `rules check` prints it
        raise _Refused([f"{args.file}: invalid", *error.errors, f"{args.file}: nothing published"]) from None
    for warning in rules.warnings:
        print(f"{args.file}: warning: {warning}")
    body = bundle.to_bytes()
    sha = sha256_hex(body)
    try:  # what a function will compile: the bundle, term files from it alone
        load_bundle(body, version_id=None)
    except RulesInvalid as error:
        raise _Refused([f"{args.file}: its bundle does not load:", *error.errors]) from None
    stack, store = _store(args)
    live = store.live()
    if live is not None and live.sha256 == sha:
        print(
            f"{args.file}: already live as version {live.version_id} (sha256 {sha[:12]}); nothing published"
        )
        return 0
    version = store.publish(body, sha256=sha, published_by=_caller(stack), source=Path(args.file).name)
    print(f"{args.file}: published version {version}, sha256 {sha[:12]} ({rules.summary()})")
    print(f"  rules version {version}:{sha[:12]}; {REFRESH_NOTE}")
    return 0


def rules_publish_command(args: argparse.Namespace) -> int:
    return _run("publish", _publish, args)


# --- status --------------------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    _, store = _store(args)
    versions = store.versions(RECENT)
    live = next((version for version in versions if version.is_latest), None) or store.live()
    if args.json:
        print(
            json.dumps(
                {
                    "bucket": store.bucket,
                    "key": store.key,
                    "live": live.as_json() if live else None,
                    "versions": [version.as_json() for version in versions],
                },
                separators=(",", ":"),
            )
        )
        return 0
    now = time.time()
    if live is None:
        print(
            f"nothing published in s3://{store.bucket}/{store.key}: the functions run their RULES_FILE "
            "or the layer's defaults"
        )
        return 0
    print(f"live      {_describe(live, now)}")
    print(f"          rules version {live.version_id}:{(live.sha256 or '?')[:12]}")
    if len(versions) > 1:
        print("recent versions (newest first):")
        for version in versions:
            print(f"  {'*' if version.is_latest else ' '} {_describe(version, now)}")
    return 0


def rules_status_command(args: argparse.Namespace) -> int:
    return _run("status", _status, args)


# --- rollback ------------------------------------------------------------------------------------


def _rollback(args: argparse.Namespace) -> int:
    from botocore.exceptions import ClientError

    from liveguard.rules.bundle import sha256_hex
    from liveguard.rules.loader import RulesInvalid, load_bundle

    stack, store = _store(args)
    live = store.live()
    if live is None:
        raise _Refused([f"liveguard rules rollback: nothing published in s3://{store.bucket}/{store.key}"])
    if args.version is None:
        earlier = [version for version in store.versions(2) if version.version_id != live.version_id]
        if not earlier:
            only = f"version {live.version_id} is the only one: nothing to go back to"
            raise _Refused([f"liveguard rules rollback: {only}"])
        target = earlier[0].version_id
    else:
        target = args.version
    if target == live.version_id:
        raise _Refused([f"liveguard rules rollback: version {target} is the live one already"])
    try:
        body, old = store.read(target)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("NoSuchVersion", "InvalidArgument", "NoSuchKey", "404"):
            raise _Refused(
                [f"liveguard rules rollback: no version {target} of s3://{store.bucket}/{store.key}"]
            ) from None
        raise
    sha = sha256_hex(body)
    if old.sha256 and old.sha256 != sha:
        raise _Refused(
            [f"liveguard rules rollback: version {target}: its bytes do not match its sha256 metadata"]
        )
    try:  # with today's loader: rules that were valid once may not be now
        rules = load_bundle(body, version_id=target)
    except RulesInvalid as error:
        raise _Refused(
            [
                f"version {target}: does not load with today's rules engine:",
                *error.errors,
                "nothing rolled back",
            ]
        ) from None
    version = store.publish(
        body,
        sha256=sha,
        published_by=_caller(stack),
        source=old.source or "?",
        rolled_back_from=live.version_id,
        restores=target,
    )
    print(
        f"rolled back: version {version} is live with the content of {target} (sha256 {sha[:12]}, "
        f"{rules.summary()}); it replaces {live.version_id}"
    )
    print(f"  rules version {version}:{sha[:12]}; {REFRESH_NOTE}")
    return 0


def rules_rollback_command(args: argparse.Namespace) -> int:
    return _run("rollback", _rollback, args)
