"""The emulator's command line: ``liveguard emulator`` and ``python -m liveguard_local.emulator``.

Its arguments and its runner live with the emulator, so the emulator needs nothing of the
``liveguard`` command (``liveguard_ops``), which only mounts them. The emulator's server is imported
when it runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def add_emulator_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's options, on ``parser``."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--sdkappid", type=int, default=1400000001)
    parser.add_argument("--secret-key", help="the app key UserSigs are checked with")
    parser.add_argument("--admin", default="administrator", help="the app administrator account")
    parser.add_argument("--webhook-url", help="where callbacks go (LiveGuard's /tencent/callback)")
    parser.add_argument("--callback-token", help="sign callbacks with this token (Sign, RequestTime)")
    parser.add_argument(
        "--chat-webhook-url",
        help="where the Chat side's callbacks (every namespace but Live. and Mic.) go; default --webhook-url",
    )
    parser.add_argument(
        "--chat-callback-token",
        help="sign the Chat side's callbacks with this token; default --callback-token "
        "(or set LIVEGUARD_EMULATOR_CHAT_CALLBACK_TOKEN)",
    )
    parser.add_argument(
        "--auto-destroy-after", type=float, default=1800.0, help="seconds an empty room lives"
    )
    parser.add_argument("--message-failure-policy", choices=["deliver", "reject"], default="deliver")
    parser.add_argument("--gift-failure-policy", choices=["block", "allow"], default="block")
    parser.add_argument("--retry-after-on-timeout", action="store_true")


def run_emulator(args: argparse.Namespace) -> int:
    """Run the emulator until SIGTERM or Ctrl-C."""
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
