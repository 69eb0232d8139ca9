"""functions/moderator/app.py with a rules file holding a shadow rule, against moto's server: the
batch's metrics count the shadow rule as ShadowRuleFired (Rule dimension), apart from RuleFired, and
its would-have actions never reach the actions queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from liveguard.aws.state_table import StateTable
from liveguard_local.events import LOCAL_SECRET
from tests.aws import FAKE_CREDENTIALS, create_state_table, moto_server
from tests.functions import load_function

from .test_moderator_handler import batch, comment, drain, fifo, invoke

TABLE = "liveguard-state-shadow-test"
RULES = """\
version: 1
terms:
  spam: [free coins]
rules:
  - name: terms-reject
    mode: shadow
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [spam]}
    verdict: reject
    strike: true
    then:
      - command: mute_member
        params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"], MuteTime: 600}
  - name: live-strike
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [spam]}
    violation: spam
"""


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """moto's server with the state table, the queues and the secret; a rules file with a shadow rule."""
    rules = Path(tmp_path_factory.mktemp("shadow-rules")) / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch, moto_server() as endpoint:
        for key, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
            patch.setenv(key, value)
        sqs, dynamodb = boto3.client("sqs"), boto3.client("dynamodb")
        create_state_table(dynamodb, TABLE)
        resources = {
            "sqs": sqs,
            "dynamodb": dynamodb,
            "actions_url": fifo(sqs, "liveguard-actions-shadow-test.fifo"),
            "delayed_url": sqs.create_queue(QueueName="liveguard-delayed-actions-shadow-test")["QueueUrl"],
        }
        secret_arn = boto3.client("secretsmanager").create_secret(
            Name="liveguard/shadow-test/tencent", SecretString=json.dumps(LOCAL_SECRET)
        )["ARN"]
        for key, value in {
            "ACTIONS_QUEUE_URL": resources["actions_url"],
            "DELAYED_ACTIONS_QUEUE_URL": resources["delayed_url"],
            "STATE_TABLE_NAME": TABLE,
            "TENCENT_SECRET_ARN": secret_arn,
            "RULES_FILE": str(rules),
            "POWERTOOLS_METRICS_NAMESPACE": "LiveGuardTest",
            "POWERTOOLS_SERVICE_NAME": "liveguard-moderator",
            "AWS_LAMBDA_FUNCTION_NAME": "liveguard-moderator-shadow-test",
        }.items():
            patch.setenv(key, value)
        patch.delenv("EVENTS_DLQ_URL", raising=False)
        parameters.base.DEFAULT_PROVIDERS.clear()
        yield resources
        parameters.base.DEFAULT_PROVIDERS.clear()


@pytest.fixture(scope="module")
def handler(aws) -> ModuleType:
    return load_function("moderator", module_name="moderator_app_shadow")


def by_rule(out: str) -> dict[tuple[str, str], float]:
    """The per-rule metrics the handler printed: (metric, rule) -> count."""
    counts: dict[tuple[str, str], float] = {}
    for line in out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob = json.loads(line)
        if "Rule" not in blob:
            continue
        for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = blob[metric["Name"]]
            counts[(metric["Name"], blob["Rule"])] = sum(value) if isinstance(value, list) else value
    return counts


def test_a_shadow_rule_is_counted_as_shadow_rule_fired_and_queues_nothing(handler, aws, capsys):
    # Given two comments with a term: a shadow rule would reject them and mute the sender
    events = [comment("shadow-room", "free coins", at=1_800_000_000_000 + n) for n in range(2)]
    drain(aws, aws["actions_url"])
    capsys.readouterr()
    # When the moderator handles them in one batch
    assert invoke(handler, batch(*events)) == []
    # Then the shadow rule is counted by rule under ShadowRuleFired, the live one under RuleFired
    out = capsys.readouterr().out
    assert by_rule(out) == {("ShadowRuleFired", "terms-reject"): 2, ("RuleFired", "live-strike"): 2}
    totals = [json.loads(line) for line in out.splitlines() if '"ShadowRulesFired"' in line]
    assert [(sum(blob["ShadowRulesFired"]), sum(blob["RulesFired"])) for blob in totals] == [(2, 2)]
    # And its mute never reached the actions queue, nor its strike the table
    assert drain(aws, aws["actions_url"]) == []
    state = StateTable(TABLE, client=aws["dynamodb"])
    assert state.strike_count("shadow-room", "viewer-7", 600, 1_800_000_001) == 0
    assert state.violation_count("shadow-room", "spam", 600, 1_800_000_001) == 2
