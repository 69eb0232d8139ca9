"""`make demo`, its second chapter: operators steer LiveGuard while the stack runs, never redeploying.

An operator publishes new rules to the running stack with `liveguard rules publish` (the functions
take a new version within their refresh interval, without a cold start), and then:

- a term published a moment ago masks a comment;
- a rule published in shadow lets a link through while the audit says what it would have done; the
  same rule published live rejects the next link;
- a viewer floods the room: the excess is dropped and the flooder muted, once (rate conditions);
- a comment asking viewers to move elsewhere is held for review (the sender is told), and an
  operator's `liveguard review approve` sends it into the room as its sender.

Each rules version is the layer's default rules with this chapter's rules in front of them, written
to the demo's own folder with the defaults' term files, as an operator would keep them. The operator's
commands are the `liveguard` CLI's, each run as its own process (as an operator runs them: the
development tools never import the command, which mounts them), against the stack's `local.json`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liveguard_local.driver import wait_until

if TYPE_CHECKING:
    from liveguard_local.demo import Demo
    from liveguard_local.stack import LocalStack

ROOM = "late-night-poker"
HOST = "carol"
SLANG, LINKER, FLOODER, ASKER = "slangy", "linker", "flooder", "asker"
COMMENT = "Group.CallbackBeforeSendMsg"
NEW_TERM = "zorblax"
LINK = "see https://cheap-chips.example/deal"
HELD = "whatsapp me for a seat at my table"
FLOOD = 8  # comments the flooder posts back to back; the rate rule drops the 6th on
FLOOD_AT = 6
PUBLISHED_WITHIN = 60.0  # seconds a published version may take to be used (the bound)
# Seconds between tries while a version is awaited: slow enough that the tries never make a flood
# (the rate rules count 6 comments in 10 s once version 2 is live).
RETRY = 2.5

CHAPTER_TERMS = """\
  # the operators' chapter of make demo:
  slang: [{term}]
  links: {{terms: ['https?://\\S+'], match: regex}}
  off-platform: ["whatsapp me", "telegram me", "dm me"]
"""
CHAPTER_RULES = """\
  # the operators' chapter of make demo, in front of the defaults:
  - name: flood-drop
    description: a viewer's 6th comment within 10 s, and every one after it, is dropped
    on: [Group.CallbackBeforeSendMsg]
    when: {{rate: {{per: user, within: 10, at_least: {flood_at}}}}}
    verdict: drop
  - name: flood-mute
    description: and the flooder is muted for a minute, once
    on: [Group.CallbackBeforeSendMsg]
    when: {{rate: {{per: user, within: 10, at_least: {flood_at}, once: true}}}}
    then:
      - command: mute_member
        params: {{RoomId: "{{room_id}}", MemberList_Account: ["{{user_id}}"], MuteTime: 60}}
    sanction: {{kind: muted, seconds: 60}}
  - name: new-slang
    description: the term the operator just added
    on: [Group.CallbackBeforeSendMsg]
    when: {{terms: [slang]}}
    verdict: mask
  - name: no-links
    description: links are refused (tried in shadow first)
    mode: {links_mode}
    on: [Group.CallbackBeforeSendMsg]
    when: {{terms: [links]}}
    verdict: {{action: reject, reason: links are not allowed here}}
  - name: off-platform-hold
    description: a comment taking viewers elsewhere waits for a person
    on: [Group.CallbackBeforeSendMsg]
    when: {{terms: [off-platform]}}
    verdict: {{action: hold, notify: true, reason: your comment awaits review, expires: 600}}
"""


def rules_version(folder: Path, name: str, *, links_mode: str) -> Path:
    """A rules file: this chapter's term lists and rules (``no-links`` in ``links_mode``) in front of
    the layer's defaults, as an operator edits the file (its text, comments kept), with the defaults'
    term files beside it. Returns its path."""
    import liveguard.rules

    layer = Path(liveguard.rules.__file__).parent
    text = (layer / "defaults.yaml").read_text(encoding="utf-8")
    for section, lines in (
        ("terms", CHAPTER_TERMS.format(term=NEW_TERM)),
        ("rules", CHAPTER_RULES.format(flood_at=FLOOD_AT, links_mode=links_mode)),
    ):
        marker = f"\n{section}:\n"
        if marker not in text:
            raise RuntimeError(f"the layer's defaults.yaml has no top-level {section}: to add to")
        text = text.replace(marker, marker + lines, 1)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(layer / "terms", folder / "terms", dirs_exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


class OperatorCommandFailed(Exception):  # noqa: N818 - the domain's word
    """A `liveguard` command the operator ran exited non-zero (its output was printed)."""


def liveguard(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run the `liveguard` command (the console script beside this Python) and capture what it says."""
    script = Path(sys.executable).with_name("liveguard")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "liveguard_ops.cli"]
    return subprocess.run(  # noqa: S603 - our own command, with arguments the demo builds
        [*command, *argv], capture_output=True, text=True, timeout=120, check=False
    )


def operator(demo: Demo, *argv: str) -> str:
    """Run a `liveguard` command as the operator, print it and what it said; its output."""
    done = liveguard(*argv)
    demo.flush()
    shown = " ".join(Path(arg).name if arg.endswith((".yaml", ".json")) else arg for arg in argv)
    print(f"   operator $ liveguard {shown}   (exit {done.returncode})")
    for line in (done.stdout + done.stderr).splitlines():
        print(f"              {line}")
    if done.returncode != 0:
        raise OperatorCommandFailed(f"liveguard {shown} exited {done.returncode}")
    return done.stdout


def publish(demo: Demo, stack: LocalStack, path: Path) -> float:
    """`liveguard rules publish` to the running stack; returns when it was published."""
    operator(demo, "rules", "publish", str(path), "--local-file", str(stack.settings_path))
    return time.time()


def posted(reply: dict[str, Any]) -> str:
    """What became of a comment, as its sender sees it: delivered (with its text), or the code."""
    response = reply.get("Response") or {}
    if reply.get("ErrorCode") == 0 and response.get("outcome") == "delivered":
        return f'delivered "{response.get("text")}"'
    if reply.get("ErrorCode") == 0:
        return str(response.get("outcome", "sent"))
    return f"refused {reply.get('ErrorCode')} ({reply.get('ErrorInfo', '')})"


def keep_posting(demo: Demo, user: str, text: str, until: str, since: float) -> tuple[bool, str]:
    """Post ``text`` as ``user`` every RETRY seconds until the reply holds ``until`` (a published
    version taking effect), for at most PUBLISHED_WITHIN seconds; returns whether it did and when
    (to within RETRY: an upper bound)."""
    deadline = since + PUBLISHED_WITHIN
    while time.time() < deadline:
        reply = demo.act("send_text_msg", user, RoomId=ROOM, Text=text)
        if until in posted(reply):
            return True, f"{time.time() - since:.1f} s after publish"
        time.sleep(RETRY)
    return False, "-"


def audit_entries(demo: Demo, stack: LocalStack) -> list[dict[str, Any]]:
    """The room's audit timeline, as `liveguard audit ROOM --json` prints it."""
    done = liveguard("audit", ROOM, "--json", "--local-file", str(stack.settings_path))
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def would_have(entries: list[dict[str, Any]], rule: str) -> dict[str, Any] | None:
    """The shadow firing of ``rule`` in the room's audit, if one was recorded."""
    for entry in entries:
        for firing in entry.get("shadow") or []:
            if firing.get("rule") == rule:
                return dict(firing)
    return None


def held_id(demo: Demo, stack: LocalStack) -> str | None:
    """The id of the asker's comment waiting in the review queue (`liveguard review list --json`)."""
    done = liveguard("review", "list", "--room", ROOM, "--json", "--local-file", str(stack.settings_path))
    for line in done.stdout.splitlines():
        hold = json.loads(line)
        if hold.get("sender") == ASKER:
            return str(hold["id"])
    return None


def delivered_as(room: dict[str, Any] | None, user: str, text: str) -> bool:
    return any(
        message["From_Account"] == user
        and message["Outcome"] == "delivered"
        and any((e.get("MsgContent") or {}).get("Text") == text for e in message["MsgBody"])
        for message in (room or {}).get("Messages", [])
    )


def muted(room: dict[str, Any] | None, user: str) -> bool:
    return room is not None and any(m["Member_Account"] == user for m in room["MutedAccountList"])


def mutes_of(demo: Demo, user: str) -> list[dict[str, Any]]:
    """The mute_member calls LiveGuard made for ``user`` in the room."""
    return [
        call
        for call in demo.driver.calls("mute_member", ROOM)
        if user in (call["body"] or {}).get("MemberList_Account", [])
    ]


def play_operators(demo: Demo, stack: LocalStack) -> None:
    """The chapter: four rules changes an operator makes on the running stack, and their effects."""
    from liveguard_local.demo import Effect

    folder = stack.state_dir / "operator-rules"
    demo.room = ROOM
    demo.step(f"{HOST} starts another live, room {ROOM}; four viewers come in")
    demo.act("create_room", HOST, RoomId=ROOM, RoomName="Late night poker")
    for user in (SLANG, LINKER, FLOODER, ASKER):
        demo.act("enter_room", user, RoomId=ROOM)

    demo.step(f"an operator publishes a new term ({NEW_TERM!r}) and a links rule in shadow, no redeploy")
    version_2 = rules_version(folder, "rules-v2.yaml", links_mode="shadow")
    since = publish(demo, stack, version_2)
    demo.begin()
    ok, when = keep_posting(demo, SLANG, f"{NEW_TERM} {NEW_TERM}!", "*", since)
    demo.flush()
    demo.effects.append(Effect("the published term masks a comment", "new-slang", ok, when))
    print(f"   {'ok  ' if ok else 'FAIL'} the published term masks {SLANG}'s comment, {when}")

    demo.step(f"{LINKER} posts a link: the rule in shadow lets it through and says what it would do")
    demo.begin()
    reply = demo.act("send_text_msg", LINKER, RoomId=ROOM, Text=LINK)
    entry = wait_until(lambda: would_have(audit_entries(demo, stack), "no-links"))
    shadow_ok = "delivered" in posted(reply) and entry is not None
    verdict = (entry or {}).get("verdict") or {}
    demo.expect(
        "shadow rule: the link delivered, the audit says it would have rejected it"
        + (f" ({verdict.get('code')})" if verdict else ""),
        "no-links (shadow)",
        lambda room: shadow_ok and delivered_as(room, LINKER, LINK),
        inline_ms=max(demo.verdicts(COMMENT), default=0.0),
    )

    demo.step("the operator, content with what the shadow showed, publishes the rule live")
    version_3 = rules_version(folder, "rules-v3.yaml", links_mode="live")
    since = publish(demo, stack, version_3)
    demo.begin()
    ok, when = keep_posting(demo, LINKER, LINK, "refused 10016", since)
    demo.flush()
    demo.effects.append(Effect("the rule gone live rejects the link", "no-links", ok, when))
    print(f"   {'ok  ' if ok else 'FAIL'} the rule gone live rejects {LINKER}'s link, {when}")

    demo.step(f"{FLOODER} floods the room: {FLOOD} comments back to back")
    demo.begin()
    replies = [demo.act("send_text_msg", FLOODER, RoomId=ROOM, Text=f"GG {n}") for n in range(1, FLOOD + 1)]
    outcomes = [posted(reply) for reply in replies]
    excess_kept_out = all("delivered" not in outcome for outcome in outcomes[FLOOD_AT - 1 :])
    first_delivered = all("delivered" in outcome for outcome in outcomes[: FLOOD_AT - 1])
    demo.expect(
        f"the flood's {FLOOD_AT}th comment on kept out of the room, the first {FLOOD_AT - 1} delivered",
        "flood-drop",
        lambda room: excess_kept_out and first_delivered,
        inline_ms=max(demo.verdicts(COMMENT), default=0.0),
    )
    demo.expect(
        f"{FLOODER} muted for 60 s, once",
        "flood-mute",
        lambda room: muted(room, FLOODER) and len(mutes_of(demo, FLOODER)) == 1,
        call=("mute_member", lambda body: FLOODER in body.get("MemberList_Account", [])),
        since=lambda: demo.webhook_at(COMMENT, FLOODER, nth=FLOOD_AT),
    )

    demo.step(f"{ASKER} asks viewers to move to another app: held for review")
    demo.begin()
    reply = demo.act("send_text_msg", ASKER, RoomId=ROOM, Text=HELD)
    hold = wait_until(lambda: held_id(demo, stack))
    demo.expect(
        f"the comment held: {ASKER} told it awaits review ({reply.get('ErrorCode')}), nothing in the room",
        "off-platform-hold",
        lambda room: (
            hold is not None and reply.get("ErrorCode") == 10100 and not delivered_as(room, ASKER, HELD)
        ),
        inline_ms=max(demo.verdicts(COMMENT), default=0.0),
    )
    if hold is None:
        return
    operator(demo, "review", "show", hold[:16], "--local-file", str(stack.settings_path))
    demo.begin()  # the re-send is this approval's doing
    approved_at = time.time()
    operator(demo, "review", "approve", hold[:16], "--local-file", str(stack.settings_path))
    demo.expect(
        f"approved: the comment in the room as {ASKER}, not held again",
        "review approve",
        lambda room: delivered_as(room, ASKER, HELD),
        call=("send_group_msg", lambda body: body.get("From_Account") == ASKER),
        since=lambda: approved_at,
    )
    demo.flush()
