"""The rules bucket in template.yaml: what `liveguard rules publish` writes to and the ingress and the
moderator read, kept private, encrypted, TLS-only and with a bounded history; its alarm; and the
object key the template, the functions' settings and the commands agree on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from liveguard.rules.bundle import BUNDLE_KEY
from liveguard.settings import IngressEnvironment, ModeratorEnvironment
from liveguard_local.stack.template import CloudFormationLoader

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CloudFormationLoader)  # noqa: S506
    return loaded


@pytest.fixture(scope="module")
def bucket(template: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = template["Resources"]["RulesBucket"]
    return resource


def test_the_rules_bucket_is_versioned_so_rollback_has_a_history(bucket):
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_the_history_is_bounded_by_a_parameter_within_s3s_limit(template, bucket):
    # Given the bucket's lifecycle rules
    [rule] = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    expiration = rule["NoncurrentVersionExpiration"]
    # Then the replaced versions kept are the parameter's count (S3 keeps at most 100 by count)
    assert rule["Status"] == "Enabled"
    assert expiration["NewerNoncurrentVersions"] == {"Ref": "RulesVersionsKept"}
    kept = template["Parameters"]["RulesVersionsKept"]
    assert (kept["MinValue"], kept["MaxValue"]) == (1, 100)
    assert 1 <= kept["Default"] <= 100


def test_the_rules_bucket_is_private_encrypted_and_owned_by_the_account(bucket):
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    # And the published history outlives the stack, as the audit does
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_the_rules_bucket_refuses_every_request_without_tls(template):
    policy = template["Resources"]["RulesBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "RulesBucket"}
    [statement] = policy["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["RulesBucket", "Arn"]},
        {"Fn::Sub": "${RulesBucket.Arn}/*"},
    ]


@pytest.mark.parametrize("function", ["IngressFunction", "ModeratorFunction"])
def test_the_functions_read_the_key_the_commands_publish_to(template, function):
    # Given the function's environment
    variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
    # Then its RULES_KEY is the object `liveguard rules publish` writes, and its settings' default
    assert variables["RULES_KEY"] == BUNDLE_KEY
    model = IngressEnvironment if function == "IngressFunction" else ModeratorEnvironment
    assert model.model_fields["rules_key"].default == BUNDLE_KEY
    assert variables["RULES_BUCKET"] == {"Ref": "RulesBucket"}
    assert variables["RULES_REFRESH_SECONDS"] == {"Ref": "RulesRefreshSeconds"}


def test_new_rules_are_checked_for_within_a_minute(template):
    # The promise: a published version in use within 60 s; the interval is at most that.
    refresh = template["Parameters"]["RulesRefreshSeconds"]
    assert refresh["MaxValue"] <= 60
    assert refresh["Default"] <= 30


def test_the_actuator_reads_no_rules_and_may_not_read_the_bucket(template):
    # The actuator runs decided actions; the version it stamps comes in each action's message.
    variables = template["Resources"]["ActuatorFunction"]["Properties"]["Environment"]["Variables"]
    assert "RULES_BUCKET" not in variables
    statements = template["Resources"]["ActuatorRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    assert not any(str(statement["Action"]).startswith("s3:") for statement in statements)


def test_a_reload_failure_in_either_function_raises_the_alarm_on_its_first_count(template):
    # Given the alarm on the published rules
    alarm = template["Resources"]["RulesReloadFailedAlarm"]["Properties"]
    metrics = {query["Id"]: query for query in alarm["Metrics"]}
    # Then it sums the ingress's and the moderator's RulesReloadFailed, over 5 minutes, above zero
    watched = {
        query["MetricStat"]["Metric"]["Dimensions"][0]["Value"]: query["MetricStat"]["Metric"]["MetricName"]
        for query in metrics.values()
        if "MetricStat" in query
    }
    assert watched == {"liveguard-ingress": "RulesReloadFailed", "liveguard-moderator": "RulesReloadFailed"}
    assert {query["MetricStat"]["Period"] for query in metrics.values() if "MetricStat" in query} == {300}
    assert metrics["failed"]["ReturnData"] is True
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["EvaluationPeriods"]) == (
        "GreaterThanThreshold",
        0,
        1,
    )
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_stack_outputs_the_rules_bucket_for_the_commands(template):
    assert template["Outputs"]["RulesBucketName"]["Value"] == {"Ref": "RulesBucket"}
