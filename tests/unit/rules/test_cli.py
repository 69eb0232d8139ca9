"""`liveguard rules check` and `liveguard rules test`, called through main() as a user would."""

from __future__ import annotations

import json
from pathlib import Path

from liveguard.rules.loader import DEFAULT_RULES
from liveguard_ops.cli import main
from tests.unit.rules.fakes import body

EVENTS = Path(__file__).resolve().parents[3] / "events" / "callbacks"
DEFAULTS = str(DEFAULT_RULES)


def write_json(path: Path, document: object) -> str:
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def banned_comment(tmp_path: Path, name: str = "comment.json") -> str:
    document = body(
        "Group.CallbackBeforeSendMsg",
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "free coins!"}}],
    )
    return write_json(tmp_path / name, document)


def test_check_accepts_the_defaults_with_a_one_line_summary(capsys):
    assert main(["rules", "check", DEFAULTS]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "ok, 12 rules (12 enabled)" in out


def test_check_warns_on_rules_that_can_never_fire_and_still_exits_0(tmp_path, capsys):
    # Given a strike threshold no rule feeds, and a rule for no room
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "rules:\n"
        "  - {name: mute, on: [Group.CallbackBeforeSendMsg], when: {strikes: {within: 600, at_least: 3}},"
        " verdict: reject}\n"
        "  - {name: nowhere, on: [Live.CallbackBeforeSendGift], when: {rooms: []}, verdict: reject}\n"
    )
    # When it is checked
    code = main(["rules", "check", str(rules_file)])
    # Then it passes, with a warning naming each rule and field
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].startswith(f"{rules_file}: ok, 2 rules (2 enabled)")
    assert out[1:] == [
        f'{rules_file}: warning: rule "mute": when.strikes: no enabled rule adds strikes (strike: true),'
        " so the threshold is never reached",
        f'{rules_file}: warning: rule "nowhere": when.rooms: an empty list names no room, so the rule never'
        " fires (leave rooms out for every room)",
    ]


def test_check_refuses_a_bad_file_naming_the_rule_and_field(tmp_path, capsys):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "rules:\n  - {name: comment-terms, on: [Group.CallbackBeforeSendMsg], when: {terms: [slurz]},"
        " verdict: reject}\n"
    )
    assert main(["rules", "check", str(rules_file)]) == 1
    err = capsys.readouterr().err
    assert 'rule "comment-terms": when.terms: unknown term list "slurz"' in err


def test_test_reads_an_api_gateway_event_and_prints_the_actions(capsys):
    # Given the proxy event for a room creation from events/callbacks
    event_file = str(EVENTS / "Live.CallbackAfterCreateRoom.json")
    # When the defaults are tested on it
    assert main(["rules", "test", DEFAULTS, event_file, "--now", "1800000000"]) == 0
    out = capsys.readouterr().out
    # Then the default metadata action is printed with its params
    assert "fired:   room-defaults" in out
    assert (
        'action:  set_room_metadata {"RoomId": "live-room-1", "Metadata": [{"Key": "lg.rules-version"' in out
    )


def test_test_reads_a_rest_apis_payload_format_1_event_too(capsys):
    # Given a REST API's proxy event (payload format 1.0) for a metadata change
    event_file = str(EVENTS.parent / "rest-api" / "Live.CallbackAfterSetMetadata.json")
    # When the defaults are tested on it
    assert main(["rules", "test", DEFAULTS, event_file, "--now", "1800000000"]) == 0
    # Then the callback inside it is the one evaluated
    assert "Live.CallbackAfterSetMetadata" in capsys.readouterr().out


def test_test_reads_a_tencent_body_and_prints_the_verdict_and_state_changes(tmp_path, capsys):
    assert main(["rules", "test", DEFAULTS, banned_comment(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "verdict: rewrite (ErrorCode 0) by comment-terms" in out
    assert '"Text": "********** !"' not in out  # the exclamation mark is kept next to the mask
    assert '"Text": "**********!"' in out
    assert "change:  strike viewer-7 in live-room-1  [comment-terms]" in out


def test_test_says_when_no_rule_decides_a_before_callback(capsys):
    assert main(["rules", "test", DEFAULTS, str(EVENTS / "Live.CallbackBeforeSendGift.json")]) == 0
    assert "verdict: deliver (ErrorCode 0), no rule decided" in capsys.readouterr().out


def test_test_starts_from_a_state_file(tmp_path, capsys):
    state = write_json(
        tmp_path / "state.json",
        {"strikes": [{"room": "live-room-1", "user": "viewer-7", "ago": 60, "count": 2}]},
    )
    assert main(["rules", "test", DEFAULTS, banned_comment(tmp_path), "--state", state]) == 0
    out = capsys.readouterr().out
    assert "fired:   comment-terms, strikes-mute" in out
    assert '"MuteTime": 600' in out


def test_test_carries_state_from_event_to_event_in_memory(tmp_path, capsys):
    comment_file = banned_comment(tmp_path)
    assert main(["rules", "test", DEFAULTS, comment_file, comment_file, comment_file]) == 0
    out = capsys.readouterr().out
    fired = [line.strip() for line in out.splitlines() if line.startswith("  fired:")]
    assert fired == ["fired:   comment-terms"] * 2 + ["fired:   comment-terms, strikes-mute"]


def test_test_records_the_admin_s_echo_without_moderating_it(tmp_path, capsys):
    echo = write_json(
        tmp_path / "echo.json", body("Live.CallbackAfterSetMetadata", Operator_Account="administrator")
    )
    assert main(["rules", "test", DEFAULTS, echo]) == 0
    out = capsys.readouterr().out
    assert "echo of the admin: recorded, not moderated" in out
    assert 'snapshot live-room-1 topic = "chess"' in out


def test_test_reports_an_unreadable_event_and_goes_on_with_the_others(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["rules", "test", DEFAULTS, str(broken), banned_comment(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{broken}: cannot read this event" in out
    assert "comment-terms" in out


def test_test_refuses_an_invalid_rules_file(tmp_path, capsys):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("rules: []\nextra: 1\n")
    assert main(["rules", "test", str(rules_file), banned_comment(tmp_path)]) == 1
    assert "extra: is not a field here" in capsys.readouterr().err


def evasive_comment(tmp_path: Path) -> str:
    document = body(
        "Group.CallbackBeforeSendMsg",
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "get fr\u200bee c0ins now"}}],
    )
    return write_json(tmp_path / "evasive.json", document)


def test_test_prints_what_matched_with_its_original_span(tmp_path, capsys):
    assert main(["rules", "test", DEFAULTS, evasive_comment(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert '"Text": "get *********** now"' in out
    assert 'match:   banned "free coins" in MsgBody [4:15] "fr\\u200bee c0ins"  [comment-terms]' in out


def test_test_json_prints_one_object_per_event_for_ci(tmp_path, capsys):
    # Given an evasive banned comment and a clean gift
    events = [evasive_comment(tmp_path), str(EVENTS / "Live.CallbackBeforeSendGift.json")]
    # When they are tested with --json
    assert main(["rules", "test", DEFAULTS, *events, "--json", "--now", "1800000000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Then each line is one event's JSON object, and nothing else is printed
    first, second = (json.loads(line) for line in lines)
    assert first["fired"] == ["comment-terms"]
    assert first["verdict"]["action"] == "rewrite"
    assert first["verdict"]["code"] == 0
    assert first["verdict"]["msg_body"][0]["MsgContent"]["Text"] == "get *********** now"
    assert [(m["list"], m["term"], m["field"], m["start"], m["end"]) for m in first["matches"]] == [
        ("banned", "free coins", "MsgBody", 4, 15)
    ]
    assert first["changes"] == [
        {
            "room_id": "live-room-1",
            "rule": "comment-terms",
            "kind": "strike",
            "user_id": "viewer-7",
            "count": 1,
        }
    ]
    assert first["actions"] == []
    assert second["verdict"] == {"action": "deliver", "code": 0, "rule": None}
    assert second["matches"] == []


def test_test_plays_a_flood_across_events_with_their_counts(tmp_path, capsys):
    # Given a rate rule, and one comment given four times
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "rules:\n"
        "  - {name: flood, on: [Group.CallbackBeforeSendMsg],"
        " when: {rate: {per: user, within: 10, at_least: 3}}, verdict: drop}\n"
    )
    comment = write_json(tmp_path / "hi.json", body("Group.CallbackBeforeSendMsg"))
    # When rules test plays them, as JSON
    assert main(["rules", "test", str(rules_file), comment, comment, comment, comment, "--json"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # Then each is counted after the one before, and the third and fourth are dropped
    assert [result["counts"] for result in results] == [{"user:10": n} for n in (1, 2, 3, 4)]
    assert [result["verdict"]["action"] for result in results] == ["deliver", "deliver", "drop", "drop"]
