"""`liveguard rules test --echoes`: after an event's actions, the callbacks Tencent sends back for them
(the emulator's World runs each action) are played as the moderator plays echoes: the admin's never
moderated, its metadata changes the approved values; so a file that deletes metadata and relies on
approved values is tested end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from liveguard.rules.loader import DEFAULT_RULES
from liveguard_ops.cli import main
from tests.unit.rules.fakes import ADMIN, ROOM, body

DEFAULTS = str(DEFAULT_RULES)


def write(path: Path, document: object) -> str:
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def room_created(tmp_path: Path) -> str:
    return write(tmp_path / "create.json", body("Live.CallbackAfterCreateRoom", Operator_Account="host-1"))


def metadata_set(tmp_path: Path, values: dict[str, str], name: str = "set.json") -> str:
    document = body(
        "Live.CallbackAfterSetMetadata",
        RoomId=ROOM,
        Operator_Account="viewer-7",
        Metadata=[{"Key": key, "Value": value} for key, value in values.items()],
    )
    return write(tmp_path / name, document)


def run_json(capsys: Any, *arguments: str) -> list[dict[str, Any]]:
    assert main(["rules", "test", DEFAULTS, *arguments, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_the_echo_of_an_action_makes_the_approved_value_a_later_event_is_restored_to(tmp_path, capsys):
    # Given a new room (room-defaults sets lg.rules-version as the admin), then a viewer overwriting it
    events = [room_created(tmp_path), metadata_set(tmp_path, {"lg.rules-version": "hacked"})]
    # When the defaults are tested with the echoes played
    created, overwritten = run_json(capsys, *events, "--echoes")
    # Then the room's set_room_metadata comes back as the admin's SetMetadata, approved
    (echo,) = created["echoes"]
    assert (echo["of"], echo["rule"], echo["command"], echo["echo"]) == (
        "set_room_metadata",
        "room-defaults",
        "Live.CallbackAfterSetMetadata",
        True,
    )
    assert echo["body"]["Operator_Account"] == ADMIN
    assert [(c["key"], c["value"]) for c in echo["changes"]] == [("lg.rules-version", "1")]
    # And protect-keys restores the viewer's change to that approved value
    (restore,) = overwritten["actions"]
    assert restore["command"] == "set_room_metadata"
    assert restore["params"]["Metadata"] == [{"Key": "lg.rules-version", "Value": "1"}]


def test_without_echoes_the_same_events_have_no_approved_value_to_restore(tmp_path, capsys):
    events = [room_created(tmp_path), metadata_set(tmp_path, {"lg.rules-version": "hacked"})]
    created, overwritten = run_json(capsys, *events)
    assert "echoes" not in created
    (delete,) = overwritten["actions"]
    assert (delete["command"], delete["params"]["Keys"]) == ("del_room_metadata", ["lg.rules-version"])


def test_a_deleted_key_s_echo_leaves_it_without_an_approved_value(tmp_path, capsys):
    # Given a viewer setting a banned term into a key, in a room the tests saw created
    events = [room_created(tmp_path), metadata_set(tmp_path, {"title": "free coins"})]
    # When tested with echoes
    _, struck = run_json(capsys, *events, "--echoes")
    # Then metadata-terms' delete comes back as the admin's DelMetadata of that key
    (echo,) = struck["echoes"]
    assert echo["command"] == "Live.CallbackAfterDelMetadata"
    assert echo["body"]["Keys"] == ["title"]
    assert [(c["key"], c["value"]) for c in echo["changes"]] == [("title", None)]


def test_an_action_tencent_would_refuse_is_shown_with_its_error_code(tmp_path, capsys):
    # Given a rule that deletes a key the room does not hold
    rules = tmp_path / "wrong-key.yaml"
    rules.write_text(
        "rules:\n"
        "- name: wrong-key\n"
        "  on: [Live.CallbackAfterSetMetadata]\n"
        "  then:\n"
        '  - {command: del_room_metadata, params: {RoomId: "{room_id}", Keys: [never-set]}}\n',
        encoding="utf-8",
    )
    # When a viewer's metadata change is tested with echoes
    event = metadata_set(tmp_path, {"title": "hello"})
    assert main(["rules", "test", str(rules), event, "--echoes", "--json"]) == 0
    (result,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # Then the emulator refuses the delete as Tencent does (no such key: 100503), and nothing echoes
    (refused,) = result["echoes"]
    assert (refused["of"], refused["rule"], refused["error"]["code"]) == (
        "del_room_metadata",
        "wrong-key",
        100503,
    )
    assert "command" not in refused


def test_the_text_output_shows_the_echoes_apart_from_the_actions(tmp_path, capsys):
    events = [room_created(tmp_path), metadata_set(tmp_path, {"title": "free coins"})]
    assert main(["rules", "test", DEFAULTS, *events, "--echoes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        '  echo:    Live.CallbackAfterDelMetadata {"Operator_Account": "administrator",'
        ' "RoomId": "live-room-1", "Keys": ["title"]}  [del_room_metadata of metadata-terms]'
    ) in lines
    assert "           change: snapshot live-room-1 title = no approved value" in lines


def test_a_callback_not_by_the_admin_is_listed_not_played(tmp_path, capsys):
    # Given a rule that bans a user who is in the room (Tencent then sends the member's Offline,
    # which carries no operator: not an echo)
    rules = tmp_path / "ban.yaml"
    rules.write_text(
        "terms: {banned: [free coins]}\n"
        "rules:\n"
        "- name: ban\n"
        "  on: [Group.CallbackBeforeSendMsg]\n"
        "  when: {terms: [banned]}\n"
        "  then:\n"
        "  - command: ban_member\n"
        '    params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"], Duration: 60}\n',
        encoding="utf-8",
    )
    comment = body(
        "Group.CallbackBeforeSendMsg",
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "free coins"}}],
    )
    # When a comment is tested with echoes
    assert main(["rules", "test", str(rules), write(tmp_path / "c.json", comment), "--echoes", "--json"]) == 0
    (result,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # Then the member's Offline (Kicked) is listed as not the admin's, and not played
    (offline,) = result["echoes"]
    assert (offline["command"], offline["echo"]) == ("Live.CallbackAfterMemberStateChanged", False)
    assert offline["body"]["EventCause"] == "Kicked"
    assert "changes" not in offline


def test_an_action_the_emulator_does_not_run_has_unknown_echoes(tmp_path, capsys, monkeypatch):
    # Given a write command the emulator does not run (one a newer LiveClient may speak)
    from liveguard_local.emulator import rest

    monkeypatch.delitem(rest.REST_COMMANDS, (rest.LIVE, "del_room_metadata"))
    events = [room_created(tmp_path), metadata_set(tmp_path, {"title": "free coins"})]
    # When an event whose action is that command is tested with echoes
    assert main(["rules", "test", DEFAULTS, *events, "--echoes"]) == 0
    # Then its echoes are said to be unknown, rather than a refusal Tencent would not give
    lines = capsys.readouterr().out.splitlines()
    unknown = "  echo:    unknown: the emulator does not run del_room_metadata"
    assert f"{unknown}  [del_room_metadata of metadata-terms]" in lines
