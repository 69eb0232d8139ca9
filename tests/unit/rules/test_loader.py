"""Loading rules files: what compiles, and mistakes named by rule and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from liveguard.rules.loader import DEFAULT_RULES, RulesInvalid, load_rules, parse_rules
from liveguard.rules.model import WRITE_COMMANDS
from liveguard.tencent.commands import COMMANDS
from liveguard.tencent.commands.base import CONFIG


def rules_text(rules: str, terms: str = "banned: [free coins]") -> str:
    return f"version: 1\nterms:\n  {terms}\nrules:\n{textwrap.indent(textwrap.dedent(rules), '  ')}"


def mistake(rules: str, **kwargs: str) -> str:
    with pytest.raises(RulesInvalid) as raised:
        parse_rules(rules_text(rules, **kwargs))
    return str(raised.value)


COMMENT_RULE = """\
- name: comment-terms
  on: [Group.CallbackBeforeSendMsg]
  when: {terms: [banned]}
  verdict: mask
"""


# --- what loads --------------------------------------------------------------------------------------


def test_the_defaults_load_with_every_rule_enabled():
    rules = load_rules()
    assert rules.source == str(DEFAULT_RULES)
    assert len(rules.rules) == 12
    assert rules.disabled == ()
    assert len(rules.terms["banned"]) > 0


def test_a_minimal_rule_compiles_with_inline_terms():
    rules = parse_rules(rules_text(COMMENT_RULE))
    assert [rule.name for rule in rules.by_command["Group.CallbackBeforeSendMsg"]] == ["comment-terms"]
    assert rules.terms["banned"].first("FREE COINS") == "free coins"


# --- what the rules act on (all the ingress queues) --------------------------------------------------


def test_the_defaults_act_on_the_callbacks_their_rules_listen_to_and_nothing_else():
    rules = load_rules()
    assert rules.listened == {
        "Live.CallbackAfterCreateRoom",
        "Live.CallbackAfterUpdateRoomInfo",
        "Live.CallbackAfterSetMetadata",
        "Live.CallbackAfterDelMetadata",
        "Group.CallbackBeforeSendMsg",
        "Live.CallbackBeforeSendGift",
        "ContentCallback.ResultNotify",
    }
    assert rules.acts_on("Live.CallbackAfterSetMetadata", echo=False)
    assert not rules.acts_on("Group.CallbackAfterSendMsg", echo=False)
    assert not rules.acts_on("Live.CallbackAfterMemberStateChanged", echo=False)
    assert not rules.acts_on("Live.CallbackAfterSomethingNew", echo=False)


def test_the_admins_metadata_echoes_are_acted_on_while_a_rule_reads_approved_values():
    # The defaults' protect-keys restores approved values, which come from the admin's own metadata
    rules = load_rules()
    assert rules.echoes == {"Live.CallbackAfterSetMetadata", "Live.CallbackAfterDelMetadata"}
    assert rules.acts_on("Live.CallbackAfterDelMetadata", echo=True)
    # Other echoes are never moderated, and record nothing a rule reads
    assert not rules.acts_on("Live.CallbackAfterCreateRoom", echo=True)
    assert not rules.acts_on("Group.CallbackBeforeSendMsg", echo=True)


def test_without_a_rule_that_reads_approved_values_no_echo_is_acted_on():
    rules = parse_rules(
        rules_text(
            """\
            - name: metadata-terms
              on: [Live.CallbackAfterSetMetadata]
              when: {terms: [banned]}
              then:
                - command: del_room_metadata
                  params: {RoomId: "{room_id}", Keys: "{keys}"}
            """
        )
    )
    assert rules.acts_on("Live.CallbackAfterSetMetadata", echo=False)
    assert not rules.acts_on("Live.CallbackAfterSetMetadata", echo=True)


def test_a_disabled_rule_listens_to_nothing():
    rules = parse_rules(
        rules_text(COMMENT_RULE.replace("  verdict: mask", "  enabled: false\n  verdict: mask"))
    )
    assert rules.disabled == ("comment-terms",)
    assert not rules.acts_on("Group.CallbackBeforeSendMsg", echo=False)


def test_the_echoes_acted_on_are_those_the_admin_s_snapshots_come_from():
    # The echoes the ingress queues are the ones the moderator turns into approved values
    from liveguard.rules.compiled import APPROVAL_ECHOES
    from liveguard.rules.engine import snapshots_from_admin
    from liveguard.webhooks.models import parse_callback
    from liveguard_local.events import CALLBACK_BODIES

    snapshotted = {
        command
        for command, body in CALLBACK_BODIES.items()
        if snapshots_from_admin(parse_callback(command, {**body, "Operator_Account": "administrator"}))
    }
    assert snapshotted == APPROVAL_ECHOES


def test_term_files_are_read_relative_to_the_rules_file(tmp_path: Path):
    # Given a term file beside the rules, with a comment and blank lines
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "spam.txt").write_text(
        "# spam\n\nbuy followers\n  free coins  \n", encoding="utf-8"
    )
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(rules_text(COMMENT_RULE, terms="banned: {file: lists/spam.txt, terms: [extra]}"))
    # When the rules load from another working directory
    rules = load_rules(rules_file)
    # Then the file's terms and the inline ones form the list
    assert rules.terms["banned"].terms == frozenset({"buy followers", "free coins", "extra"})


def test_a_bare_on_key_and_a_no_value_stay_what_they_look_like():
    # Given YAML 1.1 would read the key `on` as true and the value `no` as false
    text = rules_text(
        """\
        - name: reset-notice
          on: Live.CallbackAfterUpdateRoomInfo
          when: {terms: [banned]}
          then:
            - command: update_room_info
              params: {RoomInfo: {RoomId: "{room_id}", Notice: no}}
        """
    )
    # When the rules load
    rule = parse_rules(text).rules[0]
    # Then `on` is the rule's callbacks and `no` is the text "no"
    assert rule.commands == frozenset({"Live.CallbackAfterUpdateRoomInfo"})
    assert rule.actions[0].params.render(lambda name: "r1") == {"RoomInfo": {"RoomId": "r1", "Notice": "no"}}


def test_a_disabled_rule_is_checked_but_not_run():
    rules = parse_rules(rules_text(COMMENT_RULE.replace("  on:", "  enabled: false\n  on:")))
    assert rules.rules == ()
    assert rules.disabled == ("comment-terms",)
    assert "1 rules (0 enabled)" in rules.summary()


def test_the_defaults_have_no_rule_that_can_never_fire():
    assert load_rules().warnings == ()


def test_a_strike_threshold_with_a_rule_that_adds_strikes_is_not_warned_about():
    rules = parse_rules(
        rules_text(
            COMMENT_RULE
            + "  strike: true\n"
            + "- name: mute\n  on: [Group.CallbackBeforeSendMsg]\n"
            + "  when: {strikes: {within: 600, at_least: 3}}\n  verdict: reject\n"
        )
    )
    assert rules.warnings == ()


def test_a_strike_threshold_fed_only_by_a_disabled_rule_is_warned_about():
    # Given the only rule that adds strikes is switched off
    rules = parse_rules(
        rules_text(
            COMMENT_RULE
            + "  strike: true\n  enabled: false\n"
            + "- name: mute\n  on: [Group.CallbackBeforeSendMsg]\n"
            + "  when: {strikes: {within: 600, at_least: 3}}\n  verdict: reject\n"
        )
    )
    # Then the file loads, with a warning on the threshold
    assert rules.warnings == (
        'rule "mute": when.strikes: no enabled rule adds strikes (strike: true), so the threshold is never'
        " reached",
    )


def test_a_rule_for_no_room_is_warned_about_but_loads():
    rules = parse_rules(
        rules_text(COMMENT_RULE.replace("when: {terms: [banned]}", "when: {terms: [banned], rooms: []}"))
    )
    assert [rule.name for rule in rules.rules] == ["comment-terms"]
    assert rules.warnings == (
        'rule "comment-terms": when.rooms: an empty list names no room, so the rule never fires'
        " (leave rooms out for every room)",
    )


def test_the_write_commands_are_every_command_but_reads_and_callback_configuration():
    writes = {
        name
        for name, model in COMMANDS.items()
        if not name.startswith("get_") and model.command.service != CONFIG
    }
    assert writes == WRITE_COMMANDS


# --- mistakes, each naming the rule and the field ---------------------------------------------------


def test_an_unknown_term_list_is_named_with_its_rule_and_field():
    message = mistake(COMMENT_RULE.replace("terms: [banned]", "terms: [slurz]"))
    assert message == 'rule "comment-terms": when.terms: unknown term list "slurz" (known: banned)'


def test_an_unknown_callback_command_gets_a_suggestion():
    message = mistake(COMMENT_RULE.replace("Group.CallbackBeforeSendMsg", "Group.CallbackBeforeSendMessage"))
    assert message.startswith(
        'rule "comment-terms": on[0]: unknown CallbackCommand "Group.CallbackBeforeSendMessage"'
    )
    assert '(did you mean "Group.CallbackBeforeSendMsg"?)' in message


def test_a_callback_command_under_the_wrong_namespace_suggests_the_right_one():
    # Given a gift callback written under Group (where the message callbacks are)
    message = mistake(
        """\
        - name: gifts
          on: [Group.CallbackBeforeSendGift]
          verdict: reject
        """
    )
    # Then the suggestion is the same name under Live, not Group's nearest look-alike
    assert message.splitlines()[0] == (
        'rule "gifts": on[0]: unknown CallbackCommand "Group.CallbackBeforeSendGift"'
        ' (did you mean "Live.CallbackBeforeSendGift"?)'
    )


def test_a_callback_command_without_its_namespace_gets_a_suggestion():
    message = mistake(COMMENT_RULE.replace("Group.CallbackBeforeSendMsg", "CallbackBeforeSendMsg"))
    assert '(did you mean "Group.CallbackBeforeSendMsg"?)' in message


def test_a_misspelt_condition_is_refused_rather_than_ignored():
    message = mistake(COMMENT_RULE.replace("when: {terms:", "when: {term:"))
    assert message == 'rule "comment-terms": when.term: is not a field here'


def test_an_admin_actor_is_refused_since_rules_never_see_the_admins_events():
    message = mistake(COMMENT_RULE.replace("when: {terms:", "when: {actor: admin, terms:"))
    assert message.startswith('rule "comment-terms": when: actor: admin never holds:')
    assert "use actor: user (the default) or actor: any" in message


def test_a_verdict_on_an_after_callback_is_refused():
    message = mistake(COMMENT_RULE.replace("BeforeSendMsg", "AfterSendMsg"))
    assert 'rule "comment-terms": verdict: a verdict is answered only on' in message


def test_masking_a_gift_is_refused():
    message = mistake(
        """\
        - name: gifts
          on: [Live.CallbackBeforeSendGift]
          when: {coins_over: 10}
          verdict: mask
        """
    )
    assert (
        'rule "gifts": verdict.action: mask applies to messages only on Group.CallbackBeforeSendMsg'
        in message
    )


def test_a_read_command_as_an_action_is_refused():
    message = mistake(
        """\
        - name: look
          on: [Live.CallbackAfterCreateRoom]
          then: [{command: get_room_info, params: {RoomId: "{room_id}"}}]
        """
    )
    assert message == 'rule "look": then[0].command: "get_room_info" is a read: rules run write commands only'


def test_the_callback_configuration_is_not_an_action():
    message = mistake(
        """\
        - name: off
          on: [Live.CallbackAfterCreateRoom]
          then: [{command: set_callback, params: {}}]
        """
    )
    assert 'rule "off": then[0].command: "set_callback" is not a LiveClient write command' in message


def test_an_unknown_template_variable_gets_a_suggestion():
    message = mistake(
        """\
        - name: end
          on: [Live.CallbackAfterCreateRoom]
          then: [{command: destroy_room, params: {RoomId: "{roomid}"}}]
        """
    )
    assert (
        message == 'rule "end": then[0].params.RoomId: unknown variable {roomid} (did you mean "{room_id}"?)'
    )


def test_params_tencent_would_refuse_are_refused_at_load_time():
    message = mistake(
        """\
        - name: mute
          on: [Group.CallbackBeforeSendMsg]
          then:
            - command: mute_member
              params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"], MuteTime: ten minutes}
        """
    )
    assert message.startswith('rule "mute": then[0].params.MuteTime: Input should be a valid integer')


def test_a_missing_param_is_named():
    message = mistake(
        """\
        - name: ban
          on: [Group.CallbackBeforeSendMsg]
          then: [{command: ban_member, params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"]}}]
        """
    )
    assert message == 'rule "ban": then[0].params.Duration: is required'


def test_a_variable_the_callback_does_not_carry_is_refused():
    message = mistake(
        """\
        - name: wipe
          on: [Group.CallbackBeforeSendMsg]
          then: [{command: del_room_metadata, params: {RoomId: "{room_id}", Keys: "{keys}"}}]
        """
    )
    assert message == 'rule "wipe": then[0].params: {keys} is not carried by Group.CallbackBeforeSendMsg'


def test_a_list_variable_inside_a_text_is_refused():
    message = mistake(
        """\
        - name: say
          on: [Live.CallbackAfterSetMetadata]
          then:
            - command: send_text_msg
              params: {RoomId: "{room_id}", Sender_Account: "{admin}", TextContent: "removed {keys}"}
        """
    )
    assert message == 'rule "say": then[0].params.TextContent: {keys} is a list: it must be the whole value'


def test_an_unmatched_brace_is_refused():
    message = mistake(
        """\
        - name: say
          on: [Live.CallbackAfterCreateRoom]
          then:
            - command: send_text_msg
              params: {RoomId: "{room_id}", Sender_Account: "{admin}", TextContent: "hello {user_id"}
        """
    )
    assert 'rule "say": then[0].params.TextContent: unmatched' in message


def test_two_rules_with_one_name_are_refused():
    message = mistake(COMMENT_RULE + COMMENT_RULE)
    assert message == 'rule "comment-terms": name: another rule has this name'


@pytest.mark.parametrize(
    ("change", "where", "word"),
    [
        ("  verdict: mask\n  strike: yes\n", 'rule "comment-terms": strike', "yes"),
        ("  verdict: mask\n  enabled: off\n", 'rule "comment-terms": enabled', "off"),
        ("  verdict: mask\n  snapshot: n\n", 'rule "comment-terms": snapshot', "n"),
        ("  verdict: mask\n  strike: 1\n", 'rule "comment-terms": strike', "1"),
    ],
)
def test_a_yaml_1_1_boolean_word_in_a_rule_is_refused(change: str, where: str, word: str):
    # Given a YAML 1.1 word (or a number) where the docs ask for true or false
    message = mistake(COMMENT_RULE.replace("  verdict: mask\n", change))
    # Then the file is refused, naming the field and what to write (strike also takes {count: N})
    assert message.startswith(f"{where}: write true or false")
    assert message.endswith(f'not "{word}"')
    assert "\n" not in message


def test_a_yaml_1_1_boolean_word_in_a_term_list_or_threshold_is_refused():
    message = mistake(
        """\
        - name: mute
          on: [Group.CallbackBeforeSendMsg]
          when: {strikes: {within: 600, at_least: 3, new_only: on}}
          verdict: reject
        """,
        terms="banned: {terms: [free coins], evasion: no}",
    )
    assert message.splitlines() == [
        'terms.banned.evasion: write true or false, not "no"',
        'rule "mute": when.strikes.new_only: write true or false, not "on"',
    ]


NAME_WORDS = (
    "a name is letters, digits, '.', '_', '-', starting with a letter or digit, at most 64"
    " (it is part of state keys, so no '#')"
)


def test_a_rule_name_that_would_break_state_keys_is_refused_in_the_docs_words():
    message = mistake(COMMENT_RULE.replace("name: comment-terms", "name: comment#terms"))
    assert message == f'rule "comment#terms": name: {NAME_WORDS}'


def test_a_rule_name_starting_with_a_hyphen_gets_the_docs_words_not_a_regex():
    message = mistake(COMMENT_RULE.replace("name: comment-terms", "name: -comment"))
    assert message == f'rule "-comment": name: {NAME_WORDS}'


def test_a_violation_kind_gets_the_same_words():
    message = mistake(COMMENT_RULE + "  violation: bad kind\n")
    assert message == f'rule "comment-terms": violation: {NAME_WORDS}'


def test_a_term_list_name_gets_the_same_words():
    message = mistake(
        COMMENT_RULE.replace("terms: [banned]", "terms: [ban#ned]"), terms="ban#ned: [free coins]"
    )
    assert message.splitlines()[0] == f"terms.ban#ned: {NAME_WORDS}"


def test_a_threshold_whose_upper_bound_is_not_above_its_lower_is_refused():
    message = mistake(
        """\
        - name: mute
          on: [Group.CallbackBeforeSendMsg]
          when: {strikes: {within: 600, at_least: 6, below: 3}}
          then:
            - command: mute_member
              params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"], MuteTime: 1}
        """
    )
    assert message == 'rule "mute": when.strikes: below must be greater than at_least'


def test_counting_a_violation_no_rule_records_is_refused():
    message = mistake(
        """\
        - name: destroy
          on: [ContentCallback.ResultNotify]
          when: {violations: {kinds: [moderaton], within: 3600, at_least: 2}}
          then: [{command: destroy_room, params: {RoomId: "{room_id}"}}]
        """
    )
    assert message == 'rule "destroy": when.violations.kinds[0]: no rule records violation "moderaton"'


def test_a_rule_that_does_nothing_is_refused():
    message = mistake("- name: idle\n  on: [Live.CallbackAfterCreateRoom]\n")
    assert message.startswith('rule "idle": then: the rule does nothing')


def test_looking_for_terms_where_the_callback_has_no_text_is_refused():
    message = mistake(
        """\
        - name: gifts
          on: [Live.CallbackBeforeSendGift]
          when: {terms: [banned]}
          verdict: reject
        """
    )
    assert (
        message
        == 'rule "gifts": when.terms: Live.CallbackBeforeSendGift carries no text to look for terms in'
    )


def test_a_text_field_the_callback_does_not_carry_is_refused():
    message = mistake(
        COMMENT_RULE.replace("when: {terms: [banned]}", "when: {terms: [banned], fields: [RoomName]}")
    )
    assert (
        'rule "comment-terms": when.fields: Group.CallbackBeforeSendMsg carries none of RoomName' in message
    )


def test_labels_on_a_callback_without_labels_are_refused():
    message = mistake(
        COMMENT_RULE.replace("when: {terms: [banned]}", "when: {terms: [banned], labels: [Porn]}")
    )
    assert 'rule "comment-terms": when.labels: labels exist only on ContentCallback.ResultNotify' in message


def test_a_mask_character_inside_a_term_is_refused():
    message = mistake(COMMENT_RULE, terms="banned: ['f*ck']")
    assert 'rule "comment-terms": verdict.mask_char: term list "banned" has a term containing "*"' in message


def test_a_missing_term_file_is_named(tmp_path: Path):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(rules_text(COMMENT_RULE, terms="banned: {file: nope.txt}"))
    with pytest.raises(RulesInvalid) as raised:
        load_rules(rules_file)
    assert str(raised.value) == 'terms.banned.file: cannot read "nope.txt": No such file or directory'


def test_a_missing_rules_file_is_named(tmp_path: Path):
    with pytest.raises(RulesInvalid, match="cannot read: No such file or directory"):
        load_rules(tmp_path / "absent.yaml")


def test_a_yaml_syntax_error_gives_its_line():
    with pytest.raises(RulesInvalid) as raised:
        parse_rules("rules:\n  - name: x\n   on: [a]\n")
    assert str(raised.value).startswith("line 3, column")


def test_a_duplicate_yaml_key_is_refused_rather_than_overwritten():
    with pytest.raises(RulesInvalid) as raised:
        parse_rules(rules_text(COMMENT_RULE + "  when: {actor: any}\n"))
    assert "duplicate key 'when'" in str(raised.value)


def test_a_file_without_rules_is_refused():
    with pytest.raises(RulesInvalid) as raised:
        parse_rules("version: 1\n")
    assert str(raised.value) == "rules: is required"


def test_a_file_that_is_not_a_mapping_is_refused():
    with pytest.raises(RulesInvalid, match="must be a mapping"):
        parse_rules("- just a list\n")


def test_every_mistake_in_a_file_is_reported_not_only_the_first():
    # Given two rules, one disabled, each with a different mistake
    text = rules_text(
        COMMENT_RULE.replace("[banned]", "[slurz]")
        + """\
        - name: end
          enabled: false
          on: [Live.CallbackAfterCreateRoom]
          then: [{command: destroy_room, params: {RoomId: "{roomid}"}}]
        """.replace("        ", "")
    )
    with pytest.raises(RulesInvalid) as raised:
        parse_rules(text)
    # Then both are reported, one line each
    assert [line.split(":")[0] for line in raised.value.errors] == ['rule "comment-terms"', 'rule "end"']


# --- term lists: match, evasion, except ----------------------------------------------------------------


def test_a_term_list_without_match_is_word_mode_with_evasion():
    terms = parse_rules(rules_text(COMMENT_RULE, terms="banned: {terms: [ass]}")).terms["banned"]
    assert (terms.mode, terms.evasion) == ("word", True)
    assert terms.first("classic") is None
    assert terms.first("a$$") == "ass"


def test_match_evasion_and_except_are_read_per_list():
    terms = parse_rules(
        rules_text(
            COMMENT_RULE,
            terms="banned: {terms: [ass], match: substring, evasion: false, except: [classic]}",
        )
    ).terms["banned"]
    assert (terms.mode, terms.evasion) == ("substring", False)
    assert terms.first("classic") is None
    assert terms.first("bass") == "ass"
    assert terms.first("a$$") is None


def test_except_may_be_a_file_relative_to_the_rules_file(tmp_path: Path):
    (tmp_path / "allowed.txt").write_text("# allowed\nclassic\n", encoding="utf-8")
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        rules_text(
            COMMENT_RULE, terms="banned: {terms: [ass], match: substring, except: {file: allowed.txt}}"
        ),
        encoding="utf-8",
    )
    terms = load_rules(rules_file).terms["banned"]
    assert terms.first("a classic") is None
    assert terms.first("bass") == "ass"


def test_an_unreadable_except_file_is_named():
    assert 'terms.banned.except.file: cannot read "nope.txt"' in mistake(
        COMMENT_RULE, terms="banned: {terms: [ass], except: {file: nope.txt}}"
    )


def test_an_unknown_match_mode_is_refused():
    assert "terms.banned.match" in mistake(COMMENT_RULE, terms="banned: {terms: [ass], match: fuzzy}")


def test_a_bad_regex_names_the_list_and_the_pattern():
    assert "terms.banned: pattern '(unclosed'" in mistake(
        COMMENT_RULE.replace("verdict: mask", "verdict: reject"),
        terms="banned: {terms: ['(unclosed'], match: regex}",
    )


def test_too_many_regex_lists_are_refused():
    lists = "\n  ".join(f"r{index}: {{terms: ['x{index}'], match: regex}}" for index in range(9))
    assert "at most 8" in mistake(COMMENT_RULE, terms=f"banned: [free coins]\n  {lists}")


def test_no_rules_file_can_make_a_2_kb_comment_stall_the_ingress():
    # Given a rules file with as many regex lists as allowed, each full of backtracking bombs,
    # every one used by a comment rule whose verdict the ingress decides inline
    from liveguard.ingress import ANSWER_BUDGET
    from liveguard.rules.engine import InlineRules
    from tests.unit.rules.fakes import comment

    bombs = "['(a+)+$', '(a|aa)*c', '(\\w+\\s?)+$', '(.*a){12}']"
    lists = "\n  ".join(f"r{index}: {{terms: {bombs}, match: regex}}" for index in range(8))
    rules = parse_rules(
        rules_text(
            f"""\
            - name: comment-regex
              on: [Group.CallbackBeforeSendMsg]
              when: {{terms: [{", ".join(f"r{index}" for index in range(8))}]}}
              verdict: reject
            """,
            terms=f"banned: [free coins]\n  {lists}",
        )
    )
    # When the ingress decides a 2 KB comment built to trigger them
    import time

    started = time.perf_counter()
    verdict = InlineRules(rules, admin="administrator").verdict(comment("a" * 2047 + "!"))
    # Then it answers well within its budget (the searches give up: no match, the comment is delivered)
    assert time.perf_counter() - started < ANSWER_BUDGET / 2
    assert verdict is None
    # And so it does for the same 2 KB cut into 40 text elements, each searched by every list: the
    # decision's searches share one bound (40 x 8 searches of 20 ms each would take 6.4 s)
    from tests.unit.rules.fakes import event

    pieces = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "a" * 50 + "!"}}] * 40
    cut = event(
        "Group.CallbackBeforeSendMsg",
        GroupId="live-room-1",
        From_Account="viewer-7",
        Operator_Account="viewer-7",
        MsgBody=pieces,
    )
    started = time.perf_counter()
    verdict = InlineRules(rules, admin="administrator").verdict(cut)
    assert time.perf_counter() - started < ANSWER_BUDGET / 2
    assert verdict is None
