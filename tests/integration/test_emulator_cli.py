"""`liveguard emulator` as a process: its flags reach the emulator it runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from liveguard_local.receiver import WebhookReceiver

from .conftest import ADMIN, KEY, SDK_APP_ID, TOKEN

CHAT_TOKEN = "chat-console-token-for-tests"


def test_the_chat_flags_send_the_chat_side_to_its_own_url_and_token():
    # Given `liveguard emulator` run with a Live URL and token, and a Chat URL and token
    with WebhookReceiver(token=TOKEN) as live, WebhookReceiver(token=CHAT_TOKEN) as chat:
        command = [
            sys.executable, "-m", "liveguard_local.emulator", "--port", "0", "--sdkappid", str(SDK_APP_ID),
            "--admin", ADMIN, "--webhook-url", live.url, "--callback-token", TOKEN,
            "--chat-webhook-url", chat.url,
        ]  # fmt: skip
        environment = {
            **os.environ,
            "LIVEGUARD_EMULATOR_SECRET_KEY": KEY,
            "LIVEGUARD_EMULATOR_CHAT_CALLBACK_TOKEN": CHAT_TOKEN,
        }
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            base_url = banner.rsplit(" ", 1)[-1].strip()
            printed = process.stdout.readline() + process.stdout.readline()
            # When a host opens a room and comments in it
            with httpx.Client(timeout=10) as http:
                for action, fields in (
                    ("create_room", {"RoomId": "r1"}),
                    ("send_text_msg", {"RoomId": "r1", "Text": "hi"}),
                ):
                    http.post(f"{base_url}/emulator/v1/client/{action}", json={"UserId": "host", **fields})
            # Then the Live callback reached the Live URL and the comment the Chat URL, each signed
            # with its own token, and the banner said where each side goes without showing a token
            (created,) = live.wait_for("Live.CallbackAfterCreateRoom")
            (comment,) = chat.wait_for("Group.CallbackAfterSendMsg")
            assert (created.signature, comment.signature) == ("valid", "valid")
            assert chat.url in printed
            assert TOKEN not in banner + printed
            assert CHAT_TOKEN not in banner + printed
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)
