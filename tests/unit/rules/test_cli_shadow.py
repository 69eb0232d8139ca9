"""`liveguard rules check` and `liveguard rules test` on a file with shadow rules, through main() as a
user would: the summary names the rules in shadow; each shadow firing is printed as "would have",
in text and in --json, apart from the live decision."""

from __future__ import annotations

import json
from pathlib import Path

from liveguard_ops.cli import main
from tests.unit.rules.fakes import body

RULES = """\
version: 1
terms:
  banned: [free coins]
rules:
  - name: terms-reject
    mode: shadow
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [banned]}
    verdict: {action: reject, reason: spam}
    strike: true
  - name: terms-mute
    mode: shadow
    on: [Group.CallbackBeforeSendMsg]
    when: {strikes: {within: 600, at_least: 1}}
    then:
      - command: mute_member
        params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"], MuteTime: 600}
  - name: comment-mask
    mode: live
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [banned]}
    verdict: mask
"""


def files(tmp_path: Path, rules_text: str = RULES) -> tuple[str, str]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text, encoding="utf-8")
    comment = tmp_path / "comment.json"
    document = body(
        "Group.CallbackBeforeSendMsg",
        GroupId="live-room-1",
        From_Account="viewer-7",
        Operator_Account="viewer-7",
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "free coins!"}}],
    )
    comment.write_text(json.dumps(document), encoding="utf-8")
    return str(rules), str(comment)


def test_check_names_the_rules_in_shadow(tmp_path, capsys):
    rules, _ = files(tmp_path)
    assert main(["rules", "check", rules]) == 0
    assert capsys.readouterr().out == (
        f"{rules}: ok, 3 rules (3 enabled, 2 in shadow: terms-reject, terms-mute), 1 callbacks,"
        " term lists: banned (1)\n"
    )


def test_check_refuses_an_unknown_mode_in_one_line_naming_the_rule(tmp_path, capsys):
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("mode: live", "mode: dry-run"), encoding="utf-8")
    assert main(["rules", "check", str(rules)]) == 1
    err = capsys.readouterr().err
    assert "rule \"comment-mask\": mode: Input should be 'live' or 'shadow'" in err
    assert "Traceback" not in err


def test_test_prints_what_the_shadow_rules_would_have_done_apart_from_the_live_decision(tmp_path, capsys):
    rules, comment = files(tmp_path)
    # When a comment with a banned term is tested
    assert main(["rules", "test", rules, comment, "--now", "1800000000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Then the live decision is the live rule's mask alone, with no strike or action
    assert lines[3:5] == [
        "  fired:   comment-mask",
        "  verdict: rewrite (ErrorCode 0) by comment-mask",
    ]
    assert not any(line.startswith(("  action:", "  change:")) for line in lines)
    # And each shadow rule is printed as "would have", with its verdict, match, action and strike
    assert lines[7:] == [
        "  would have: terms-reject (shadow: nothing done)",
        "    verdict: reject (ErrorCode 1): spam, which would have been the answer",
        '    match:   banned "free coins" in MsgBody [0:10] "free coins"  [terms-reject]',
        "    change:  strike viewer-7 in live-room-1",
        "  would have: terms-mute (shadow: nothing done)",
        '    action:  mute_member {"RoomId": "live-room-1", "MemberList_Account": ["viewer-7"],'
        ' "MuteTime": 600}',
    ]


def test_test_json_has_the_shadow_firings_and_a_live_decision_without_them(tmp_path, capsys):
    rules, comment = files(tmp_path)
    assert main(["rules", "test", rules, comment, "--now", "1800000000", "--json"]) == 0
    (result,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (result["fired"], result["actions"], result["changes"]) == (["comment-mask"], [], [])
    assert result["verdict"]["rule"] == "comment-mask"
    reject, mute = result["shadow"]
    assert reject == {
        "rule": "terms-reject",
        "verdict": {"action": "reject", "code": 1, "rule": "terms-reject", "reason": "spam"},
        "decides": True,
        "matches": [
            {
                "rule": "terms-reject",
                "list": "banned",
                "term": "free coins",
                "field": "MsgBody",
                "key": None,
                "index": 0,
                "start": 0,
                "end": 10,
                "text": "free coins",
            }
        ],
        "actions": [],
        "changes": [
            {
                "room_id": "live-room-1",
                "rule": "terms-reject",
                "kind": "strike",
                "user_id": "viewer-7",
                "count": 1,
            }
        ],
    }
    assert (mute["rule"], mute["verdict"], [a["command"] for a in mute["actions"]]) == (
        "terms-mute",
        None,
        ["mute_member"],
    )


def test_test_never_applies_a_shadow_rules_strike_to_the_next_event(tmp_path, capsys):
    # Given the shadow mute at the second strike, and the same comment twice
    rules, comment = files(tmp_path, RULES.replace("at_least: 1", "at_least: 2"))
    # When both are tested, each event's changes applied before the next
    assert main(["rules", "test", rules, comment, comment, "--now", "1800000000", "--json"]) == 0
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # Then the second is decided exactly as the first: the first's shadow strike was not recorded,
    # so the shadow mute is not reached
    assert [firing["rule"] for firing in first["shadow"]] == ["terms-reject"]
    assert second == first
