"""The `liveguard` command: development tools (for now, the Tencent Live emulator)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence


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
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


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
        "--auto-destroy-after", type=float, default=1800.0, help="seconds an empty room lives"
    )
    emulator.add_argument("--message-failure-policy", choices=["deliver", "reject"], default="deliver")
    emulator.add_argument("--gift-failure-policy", choices=["block", "allow"], default="block")
    emulator.add_argument("--retry-after-on-timeout", action="store_true")
    emulator.set_defaults(run=_emulator)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
