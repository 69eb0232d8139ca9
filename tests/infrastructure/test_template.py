"""Infrastructure tests: assertions on template.yaml as written, and on the CloudFormation SAM
transforms it into (what CloudFormation would actually deploy)."""

import copy
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

from liveguard.settings import DrainEnvironment, IngressEnvironment, TencentSecret
from liveguard_local.stack.template import CloudFormationLoader

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
LAYER_REQUIREMENTS = REPO / "layers" / "liveguard" / "requirements.txt"
PYPROJECT = REPO / "pyproject.toml"
RUNTIME = "python3.13"

# name[extras]==version, and nothing else: no ranges, no markers, no second specifier.
EXACT_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s=<>!~,;]+)$")


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _normalized(name: str) -> str:
    # PEP 503: Pydantic, pydantic and py_dantic name the same distribution.
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = EXACT_PIN.match(requirement.replace(" ", ""))
        if match:
            pins[_normalized(match["name"])] = match["version"]
    return pins


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)  # noqa: S506 (a SafeLoader)


@pytest.fixture(scope="module")
def layer(template: dict[str, Any]) -> dict[str, Any]:
    resource = template["Resources"]["LiveGuardLayer"]
    assert resource["Type"] == "AWS::Serverless::LayerVersion"
    return resource


def test_layer_is_built_with_the_lambda_runtime_python(layer: dict[str, Any]) -> None:
    # Given the layer resource
    # When sam build reads its metadata
    build_method = layer["Metadata"]["BuildMethod"]
    # Then it builds the layer with the same Python the functions run on
    assert build_method == RUNTIME


def test_layer_is_compatible_with_python_3_13_only(layer: dict[str, Any]) -> None:
    # Given the layer resource
    # When Lambda checks which runtimes may attach it
    runtimes = layer["Properties"]["CompatibleRuntimes"]
    # Then only python3.13 may, the runtime its compiled wheels were chosen for
    assert runtimes == [RUNTIME]


def test_layer_is_built_for_the_architecture_it_declares(layer: dict[str, Any]) -> None:
    # Given the layer resource
    # When sam build picks wheels for its BuildArchitecture
    build_architecture = layer["Metadata"]["BuildArchitecture"]
    # Then Lambda is told the same architecture, so compiled deps (pydantic-core) load at runtime
    assert layer["Properties"]["CompatibleArchitectures"] == [build_architecture]


def test_layer_content_uri_holds_the_package_and_its_requirements(layer: dict[str, Any]) -> None:
    # Given the layer's ContentUri, relative to the template
    content = (TEMPLATE.parent / layer["Properties"]["ContentUri"]).resolve()
    # When sam build copies it under python/
    # Then the liveguard package sits directly in it, with the requirements pip installs beside it
    assert (content / "liveguard" / "__init__.py").is_file()
    assert (content / "requirements.txt").is_file()
    assert content / "requirements.txt" == LAYER_REQUIREMENTS


def test_every_layer_requirement_is_pinned_exactly() -> None:
    # Given the layer's runtime requirements
    requirements = _requirement_lines(LAYER_REQUIREMENTS)
    # When each line is read as a requirement
    loose = [line for line in requirements if not EXACT_PIN.match(line.replace(" ", ""))]
    # Then every one pins a single version with ==, so two builds ship the same code
    assert requirements
    assert loose == []


def test_runtime_pins_in_pyproject_agree_with_the_layer_requirements() -> None:
    # Given the project's dependencies (the dev venv) and the layer's requirements (what Lambda runs)
    project = _pins(tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"])
    layer = _pins(_requirement_lines(LAYER_REQUIREMENTS))
    # When the packages both list are compared
    shared = project.keys() & layer.keys()
    disagreements = {name: (project[name], layer[name]) for name in shared if project[name] != layer[name]}
    # Then tests run against exactly the versions that are deployed
    assert shared
    assert disagreements == {}


def test_every_layer_requirement_is_also_a_project_dependency() -> None:
    # Given the layer's requirements and the project's dependencies
    project = _pins(tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"])
    layer = _pins(_requirement_lines(LAYER_REQUIREMENTS))
    # When the layer's packages are looked up in the project
    missing = sorted(layer.keys() - project.keys())
    # Then none is missing, so the dev venv can import everything the layer imports
    assert missing == []


# --- The transformed template ------------------------------------------------------------------

LOGS_ONLY_MANAGED_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
SECRET_ARN = "If(CreateTencentSecret, ${TencentSecret}, ${ExistingTencentSecretArn})"


class NoManagedPolicies(ManagedPolicyLoader):
    """The translator asks IAM for AWS managed policies' ARNs only when a template names one; ours
    names none, and these tests never talk to AWS."""

    def __init__(self) -> None:
        super().__init__(iam_client=None)  # type: ignore[arg-type]

    def load(self) -> dict[str, str]:
        return {}


def _packaged(template: dict[str, Any], layer_uri: str = "s3://artifacts/layer") -> dict[str, Any]:
    # As sam validate does: the translator wants code in S3, not the local folders sam build reads.
    packaged = copy.deepcopy(template)
    resources = packaged["Resources"]
    for resource in resources.values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/function"
    resources["LiveGuardLayer"]["Properties"]["ContentUri"] = layer_uri
    return packaged


@pytest.fixture(scope="module")
def translate(template: dict[str, Any]) -> Iterator[Any]:
    def _translate(layer_uri: str = "s3://artifacts/layer") -> dict[str, Any]:
        return transform(_packaged(template, layer_uri), {}, NoManagedPolicies())

    with pytest.MonkeyPatch.context() as patch:
        # The translator fills AWS::Region from boto3's session; any region does.
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield _translate


@pytest.fixture(scope="module")
def cfn(translate: Any) -> dict[str, Any]:
    return translate()


@pytest.fixture(scope="module")
def resources(cfn: dict[str, Any]) -> dict[str, Any]:
    return cfn["Resources"]


def _render(value: Any) -> Any:
    """One readable string for a value built with intrinsics, so assertions compare what is meant:
    ``{"Fn::GetAtt": ["EventsQueue", "Arn"]}`` reads ``${EventsQueue.Arn}``."""
    if not isinstance(value, dict) or len(value) != 1:
        return value
    ((function, argument),) = value.items()
    match function:
        case "Ref":
            return f"${{{argument}}}"
        case "Fn::GetAtt":
            return f"${{{'.'.join(argument)}}}"
        case "Fn::If":
            condition, when_true, when_false = argument
            return f"If({condition}, {_render(when_true)}, {_render(when_false)})"
        case "Fn::Sub" if isinstance(argument, str):
            return argument
        case "Fn::Sub":
            text, variables = argument
            for name, variable in variables.items():
                text = text.replace(f"${{{name}}}", str(_render(variable)))
            return text
    return value


def _as_list(value: Any) -> list[Any]:
    # IAM accepts one action or resource, or a list of them.
    return value if isinstance(value, list) else [value]


def _only(resources: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    matches = [(name, resource) for name, resource in resources.items() if resource["Type"] == resource_type]
    assert len(matches) == 1, f"expected one {resource_type}, found {[name for name, _ in matches]}"
    return matches[0]


# Each FIFO queue, the DLQ it redrives to, and its name as the template builds it.
QUEUES = [
    ("EventsQueue", "EventsDeadLetterQueue", "liveguard-events-${Stage}.fifo"),
    ("ActionsQueue", "ActionsDeadLetterQueue", "liveguard-actions-${Stage}.fifo"),
]


@pytest.mark.parametrize(("queue_id", "dlq_id", "name"), QUEUES)
def test_each_queue_redrives_to_its_dead_letter_queue_after_five_receives(
    resources: dict[str, Any], queue_id: str, dlq_id: str, name: str
) -> None:
    # Given a deployed queue
    queue = resources[queue_id]["Properties"]
    # When a message has been received maxReceiveCount times without being deleted
    redrive = queue["RedrivePolicy"]
    # Then SQS moves it to the queue's DLQ, where nothing is lost for 14 days
    assert _render(redrive["deadLetterTargetArn"]) == f"${{{dlq_id}.Arn}}"
    assert redrive["maxReceiveCount"] == 5
    assert resources[dlq_id]["Properties"]["MessageRetentionPeriod"] == 1209600


@pytest.mark.parametrize(("queue_id", "dlq_id", "name"), QUEUES)
def test_each_queue_is_a_high_throughput_fifo_deduplicated_by_our_ids(
    resources: dict[str, Any], queue_id: str, dlq_id: str, name: str
) -> None:
    # Given a deployed queue
    queue = resources[queue_id]["Properties"]
    # When a producer sends with group = room and dedup id = event id (or action id)
    # Then dedup and the throughput quota are per room, and SQS never derives its own dedup id
    assert queue["FifoQueue"] is True
    assert queue["ContentBasedDeduplication"] is False
    assert queue["DeduplicationScope"] == "messageGroup"
    assert queue["FifoThroughputLimit"] == "perMessageGroupId"
    assert _render(queue["QueueName"]) == name


def test_delayed_actions_wait_in_a_standard_queue_that_redrives_to_its_own_dead_letter_queue(
    resources: dict[str, Any],
) -> None:
    # Given the queue where delayed and retried actions wait, and its DLQ
    queue = resources["DelayedActionsQueue"]["Properties"]
    dlq = resources["DelayedActionsDeadLetterQueue"]["Properties"]
    # When an action is sent with a per-message delay (DelaySeconds, which FIFO queues refuse)
    # Then the queue is a standard one, encrypted like the others, keeping a message 14 days
    assert "FifoQueue" not in queue
    assert "FifoQueue" not in dlq
    assert _render(queue["QueueName"]) == "liveguard-delayed-actions-${Stage}"
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == dlq["MessageRetentionPeriod"] == 1209600
    # And a message the actuator failed 5 times goes to its own DLQ, which takes only this queue's
    redrive = queue["RedrivePolicy"]
    assert _render(redrive["deadLetterTargetArn"]) == "${DelayedActionsDeadLetterQueue.Arn}"
    assert redrive["maxReceiveCount"] == 5
    allow = dlq["RedriveAllowPolicy"]
    assert allow["redrivePermission"] == "byQueue"
    assert [_render(arn) for arn in allow["sourceQueueArns"]] == [
        "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:liveguard-delayed-actions-${Stage}"
    ]


@pytest.mark.parametrize(("queue_id", "dlq_id", "name"), QUEUES)
def test_each_dead_letter_queue_accepts_only_its_own_queue_as_source(
    resources: dict[str, Any], queue_id: str, dlq_id: str, name: str
) -> None:
    # Given a DLQ and its queue's name
    dlq = resources[dlq_id]["Properties"]
    queue_name = _render(resources[queue_id]["Properties"]["QueueName"])
    # When SQS checks which queues may redrive into the DLQ
    allow = dlq["RedriveAllowPolicy"]
    # Then only that queue may (a FIFO DLQ for a FIFO source), and the ARN names that queue
    assert dlq["FifoQueue"] is True
    assert allow["redrivePermission"] == "byQueue"
    assert [_render(arn) for arn in allow["sourceQueueArns"]] == [
        f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{queue_name}"
    ]


def test_ingress_function_snapshots_published_versions_behind_the_live_alias(
    resources: dict[str, Any],
) -> None:
    # Given the deployed ingress function, its alias and its version
    function = resources["IngressFunction"]
    _, alias = _only(resources, "AWS::Lambda::Alias")
    version_id, version = _only(resources, "AWS::Lambda::Version")
    # When the stack publishes a version
    # Then SnapStart snapshots it, and the alias "live" points at that published version
    assert function["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert alias["Properties"]["Name"] == "live"
    assert _render(alias["Properties"]["FunctionName"]) == "${IngressFunction}"
    assert _render(alias["Properties"]["FunctionVersion"]) == f"${{{version_id}.Version}}"
    assert _render(version["Properties"]["FunctionName"]) == "${IngressFunction}"


def test_callback_route_invokes_the_alias_so_the_snapshot_is_used(resources: dict[str, Any]) -> None:
    # Given the API's OpenAPI body and the alias
    alias_id, _ = _only(resources, "AWS::Lambda::Alias")
    paths = resources["CallbackApi"]["Properties"]["Body"]["paths"]
    # When Tencent POSTs to /tencent/callback
    integration = paths["/tencent/callback"]["post"]["x-amazon-apigateway-integration"]
    # Then API Gateway invokes the alias ($LATEST has no snapshot), and only POST is routed
    assert list(paths) == ["/tencent/callback"]
    assert list(paths["/tencent/callback"]) == ["post"]
    assert f"${{{alias_id}}}/invocations" in _render(integration["uri"])


def test_callback_api_is_an_http_api_sending_payload_format_2(resources: dict[str, Any]) -> None:
    # Given the deployed callback API and its Lambda integration
    api = resources["CallbackApi"]
    integration = api["Properties"]["Body"]["paths"]["/tencent/callback"]["post"][
        "x-amazon-apigateway-integration"
    ]
    # When API Gateway hands a webhook to the ingress
    # Then it is an HTTP API (a third of a REST API's price per request) with a Lambda proxy
    # integration in payload format 2.0, the one the ingress and the sample events are written for
    assert api["Type"] == "AWS::ApiGatewayV2::Api"
    assert (integration["type"], integration["payloadFormatVersion"]) == ("aws_proxy", "2.0")
    assert not [name for name, r in resources.items() if r["Type"].startswith("AWS::ApiGateway::")]
    # And it keeps its name per stage (its OpenAPI title), so two stages' APIs are told apart
    assert _render(api["Properties"]["Body"]["info"]["title"]) == "liveguard-callback-${Stage}"


def test_a_new_layer_version_publishes_a_new_function_version(
    translate: Any, resources: dict[str, Any]
) -> None:
    # Given the function version published with the current layer
    version_now, _ = _only(resources, "AWS::Lambda::Version")
    # When the layer's content changes (sam package gives it a new S3 key)
    version_next, _ = _only(translate("s3://artifacts/layer-changed")["Resources"], "AWS::Lambda::Version")
    # Then a new function version (and snapshot) is published, so the alias never runs the old layer
    assert version_next != version_now


def _role(resources: dict[str, Any], function: str) -> dict[str, Any]:
    role_name = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return resources[role_name]["Properties"]


# The condition that limits a statement to the spool's items (partition keys SPOOL#<shard>).
SPOOL_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["SPOOL#*"]}}
# The condition that limits a statement to rooms' items (partition keys ROOM#<room>).
ROOMS_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ROOM#*"]}}
# The condition that limits a statement to the flood counters' items (partition keys COUNT#<room>).
COUNTERS_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["COUNT#*"]}}


def _conditions(role: dict[str, Any], action: str) -> list[Any]:
    """The Condition of each of the role's statements that grants ``action``."""
    return [
        statement.get("Condition")
        for policy in role.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if action in _as_list(statement["Action"])
    ]


def _granted(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    """A role's inline statements as (effect, action, resource), one triple per pair."""
    statements = [
        statement
        for policy in role.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    return {
        (statement["Effect"], action, str(_render(resource)))
        for statement in statements
        for action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    }


def test_ingress_role_may_only_send_to_the_events_queue_read_the_secret_and_read_state_items(
    resources: dict[str, Any],
) -> None:
    # Given the ingress function's execution role
    role = _role(resources, "IngressFunction")
    # When its inline statements are listed as (effect, action, resource)
    granted = _granted(role)
    # Then it writes its own logs, sends to the events queue, reads the secret, gets single state
    # items (a sender's sanction) and counts (strikes, violations), on those resources only: no "*"
    assert granted == {
        ("Allow", "logs:CreateLogStream", "${IngressFunctionLogGroup.Arn}"),
        ("Allow", "logs:PutLogEvents", "${IngressFunctionLogGroup.Arn}"),
        ("Allow", "sqs:SendMessage", "${EventsQueue.Arn}"),
        ("Allow", "secretsmanager:GetSecretValue", SECRET_ARN),
        ("Allow", "dynamodb:GetItem", "${StateTable.Arn}"),
        ("Allow", "dynamodb:PutItem", "${StateTable.Arn}"),
        ("Allow", "dynamodb:Query", "${StateTable.Arn}"),
        ("Allow", "s3:GetObject", "${RulesBucket.Arn}/rules/active.json"),
        ("Allow", "dynamodb:UpdateItem", "${StateTable.Arn}"),
    }
    # And its flood counters' updates are in the counters' partitions only
    assert _conditions(role, "dynamodb:UpdateItem") == [COUNTERS_ONLY]
    # And its only writes are in the spool's partitions (keeping an event, its mark), and its queries
    # there or in rooms' partitions (counting a user's strikes or a room's violations inline)
    assert _conditions(role, "dynamodb:PutItem") == [SPOOL_ONLY]
    assert _conditions(role, "dynamodb:Query") == [ROOMS_ONLY, SPOOL_ONLY]
    # And no managed policy: SAM's AWSLambdaBasicExecutionRole would write to every log group
    assert role.get("ManagedPolicyArns", []) == []


def test_callback_api_stage_throttles_every_route_from_the_parameters(resources: dict[str, Any]) -> None:
    # Given the deployed API stage (the only one: no $default stage beside it)
    _, stage = _only(resources, "AWS::ApiGatewayV2::Stage")
    # When API Gateway applies its default route settings
    settings = stage["Properties"]["DefaultRouteSettings"]
    # Then every route is throttled by the stack's rate and burst parameters, on the named stage
    assert _render(settings["ThrottlingRateLimit"]) == "${ApiThrottlingRateLimit}"
    assert _render(settings["ThrottlingBurstLimit"]) == "${ApiThrottlingBurstLimit}"
    assert "RouteSettings" not in stage["Properties"]  # no route overrides the stage's throttle
    assert _render(stage["Properties"]["StageName"]) == "${Stage}"
    assert _render(stage["Properties"]["ApiId"]) == "${CallbackApi}"


# AWS's own limits the defaults must respect (checked 2026-11-29):
# API Gateway's throttle quota per account and Region, https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
API_ACCOUNT_RPS, API_ACCOUNT_BURST = 10_000, 5_000
# Lambda's concurrent executions per account and Region, by default
LAMBDA_ACCOUNT_CONCURRENCY = 1_000
# An SQS event source's MaximumConcurrency, https://docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html
SQS_MAX_CONCURRENCY = (2, 1000)
# The issue-11 target: no default caps the app below this many webhooks/s (bench/scale.py measures it)
PEAK_WEBHOOKS_PER_S = 5_000


def test_api_throttle_defaults_admit_a_big_apps_peak_within_the_account_quota(
    template: dict[str, Any],
) -> None:
    # Given the API throttle parameters
    rate = template["Parameters"]["ApiThrottlingRateLimit"]
    burst = template["Parameters"]["ApiThrottlingBurstLimit"]
    # When the stack is deployed without overrides
    # Then the stage takes a 5,000 webhooks/s peak (Tencent does not retry a 429), and asks no more
    # than API Gateway's default account quota, which would throttle first anyway
    assert (rate["Type"], burst["Type"]) == ("Number", "Number")
    assert PEAK_WEBHOOKS_PER_S <= rate["Default"] <= API_ACCOUNT_RPS
    assert 0 < burst["Default"] <= API_ACCOUNT_BURST


def test_callback_api_alarms_before_its_throttle_refuses_webhooks(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    # Given the alarm on the callback API's requests and its threshold parameter
    properties = resources["CallbackApiNearThrottleAlarm"]["Properties"]
    parameter = template["Parameters"]["ApiThrottleAlarmPercent"]
    metrics = {metric["Id"]: metric for metric in properties["Metrics"]}
    stat = metrics["requests"]["MetricStat"]
    watched = {d["Name"]: _render(d["Value"]) for d in stat["Metric"]["Dimensions"]}
    # When a minute's requests (Count: an HTTP API has no throttle metric, and 4xx would mix 429s
    # with the ingress's own refusals) reach a share of the stage's rate limit
    expression = _render(metrics["percentOfLimit"]["Expression"])
    # Then it fires, on the API by its id and stage (an HTTP API's dimensions), while webhooks are
    # still accepted
    assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"], stat["Stat"]) == (
        "AWS/ApiGateway",
        "Count",
        "Sum",
    )
    assert watched == {"ApiId": "${CallbackApi}", "Stage": "${Stage}"}
    assert expression == "100 * requests / PERIOD(requests) / ${ApiThrottlingRateLimit}"
    assert [m["Id"] for m in properties["Metrics"] if m["ReturnData"]] == ["percentOfLimit"]
    assert _render(properties["Threshold"]) == "${ApiThrottleAlarmPercent}"
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (parameter["Type"], parameter["MinValue"], parameter["MaxValue"]) == ("Number", 1, 100)
    assert parameter["MinValue"] <= parameter["Default"] < 100


def test_callback_url_output_is_the_route_tencent_must_call(cfn: dict[str, Any]) -> None:
    # Given the stack's outputs
    url = _render(cfn["Outputs"]["CallbackUrl"]["Value"])
    # When an operator copies CallbackUrl into Tencent's console
    # Then it is the stage's /tencent/callback route on this API
    assert url.startswith("https://${CallbackApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}/")
    assert url.endswith("/tencent/callback")


def test_ingress_environment_names_the_events_queue_and_the_secret(resources: dict[str, Any]) -> None:
    # Given the ingress function's environment
    variables = resources["IngressFunction"]["Properties"]["Environment"]["Variables"]
    # When the handler reads its settings at cold start
    # Then it finds the queue it may send to and the secret it may read, the same ones IAM allows
    assert _render(variables["EVENTS_QUEUE_URL"]) == "${EventsQueue}"
    assert _render(variables["TENCENT_SECRET_ARN"]) == SECRET_ARN


FUNCTIONS = ["IngressFunction", "ModeratorFunction", "ActuatorFunction", "SpoolDrainFunction"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_logs_to_its_own_log_group_with_a_retention(
    resources: dict[str, Any], function: str
) -> None:
    # Given a function's logging configuration
    properties = resources[function]["Properties"]
    log_group = _render(properties["LoggingConfig"]["LogGroup"])
    # When Lambda writes the function's logs
    group = resources[log_group.strip("${}")]
    # Then they land in the stack's log group named after the function, which expires them after 30 days
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == 30
    assert (
        _render(group["Properties"]["LogGroupName"]) == f"/aws/lambda/{_render(properties['FunctionName'])}"
    )


def test_the_ingress_drops_lambdas_per_webhook_lines_and_never_its_metrics(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    # Given the ingress's logging configuration, run once per webhook
    logging = resources["IngressFunction"]["Properties"]["LoggingConfig"]
    parameters = template["Parameters"]
    # When Lambda files its lines
    # Then by default its START, END and REPORT lines (system level INFO) are dropped
    assert logging["LogFormat"] == "JSON"
    assert _render(logging["SystemLogLevel"]) == "${IngressSystemLogLevel}"
    assert parameters["IngressSystemLogLevel"]["Default"] == "WARN"
    # And for every LogLevel an operator may choose, the application filter stays at INFO or below:
    # the metrics' EMF lines carry no level, so Lambda files them as INFO
    assert logging["ApplicationLogLevel"] == {
        "Fn::FindInMap": ["IngressApplicationLogLevel", {"Ref": "LogLevel"}, "Level"]
    }
    levels = template["Mappings"]["IngressApplicationLogLevel"]
    assert set(levels) == set(parameters["LogLevel"]["AllowedValues"])
    assert {choice["Level"] for choice in levels.values()} <= {"DEBUG", "INFO"}
    assert levels["DEBUG"]["Level"] == "DEBUG"


def test_secret_placeholder_has_the_contract_keys_and_is_refused_until_replaced(
    resources: dict[str, Any],
) -> None:
    # Given the secret the stack creates, with its generated CallbackToken
    generate = resources["TencentSecret"]["Properties"]["GenerateSecretString"]
    placeholder = {**json.loads(generate["SecretStringTemplate"]), generate["GenerateStringKey"]: "generated"}
    contract = {field.alias for field in TencentSecret.model_fields.values()}
    # When the functions validate it at cold start
    # Then every key is one the model knows (it refuses unknown keys), and SdkAppId 0 fails loudly
    assert set(placeholder) <= contract
    assert contract - set(placeholder) == {"ApiBaseUrl", "ChatCallbackToken"}
    with pytest.raises(ValidationError, match="SdkAppId"):
        TencentSecret.model_validate(placeholder)


@pytest.mark.parametrize(
    ("alarm", "namespace", "metric", "dimensions"),
    [
        (
            "EventsDeadLetterQueueAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": "${EventsDeadLetterQueue.QueueName}"},
        ),
        (
            "ActionsDeadLetterQueueAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": "${ActionsDeadLetterQueue.QueueName}"},
        ),
        (
            "DelayedActionsDeadLetterQueueAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": "${DelayedActionsDeadLetterQueue.QueueName}"},
        ),
        ("IngressFunctionErrorsAlarm", "AWS/Lambda", "Errors", {"FunctionName": "${IngressFunction}"}),
        ("ModeratorFunctionErrorsAlarm", "AWS/Lambda", "Errors", {"FunctionName": "${ModeratorFunction}"}),
        ("ActuatorFunctionErrorsAlarm", "AWS/Lambda", "Errors", {"FunctionName": "${ActuatorFunction}"}),
        ("SpoolDrainFunctionErrorsAlarm", "AWS/Lambda", "Errors", {"FunctionName": "${SpoolDrainFunction}"}),
        # An HTTP API's metric names and dimensions (REST's are 5XXError by ApiName)
        ("CallbackApi5xxAlarm", "AWS/ApiGateway", "5xx", {"ApiId": "${CallbackApi}", "Stage": "${Stage}"}),
    ],
)
def test_each_alarm_fires_on_the_first_bad_datum_of_what_it_watches(
    resources: dict[str, Any], alarm: str, namespace: str, metric: str, dimensions: dict[str, str]
) -> None:
    # Given an alarm declared next to the resource it watches
    properties = resources[alarm]["Properties"]
    # When its metric goes above zero within five minutes
    watched = {d["Name"]: _render(d["Value"]) for d in properties["Dimensions"]}
    # Then it fires, on that resource's metric (the API by its id, the dimension an HTTP API has)
    assert (properties["Namespace"], properties["MetricName"], watched) == (namespace, metric, dimensions)
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0)
    assert properties["Period"] * properties["EvaluationPeriods"] == 300


@pytest.mark.parametrize(
    ("alarm", "queue_id", "parameter", "threshold"),
    [
        ("EventsQueueAgeAlarm", "EventsQueue", "EventsQueueAgeAlarmSeconds", 300),
        # A delayed or retried action waits in the delayed-actions queue, not here: every action in
        # the actions queue is due at once, as every event is.
        ("ActionsQueueAgeAlarm", "ActionsQueue", "ActionsQueueAgeAlarmSeconds", 300),
    ],
)
def test_each_queue_alarms_when_its_oldest_message_waited_five_minutes_too_long(
    template: dict[str, Any],
    resources: dict[str, Any],
    alarm: str,
    queue_id: str,
    parameter: str,
    threshold: int,
) -> None:
    # Given the alarm watching a queue's backlog, and its threshold parameter
    properties = resources[alarm]["Properties"]
    default = template["Parameters"][parameter]
    # When the oldest message in the queue is 5 minutes older than it should ever be
    watched = {d["Name"]: _render(d["Value"]) for d in properties["Dimensions"]}
    # Then it fires: the consumer is behind, or a room's group is stuck on retries
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert watched == {"QueueName": f"${{{queue_id}.QueueName}}"}
    assert (properties["Statistic"], properties["ComparisonOperator"]) == ("Maximum", "GreaterThanThreshold")
    assert _render(properties["Threshold"]) == f"${{{parameter}}}"
    # And by default that is 5 minutes past the longest a message should ever wait
    assert (default["Type"], default["Default"]) == ("Number", threshold)
    assert default["MinValue"] <= threshold


# --- The moderator and the actuator ------------------------------------------------------------

# Which function consumes which queue.
CONSUMERS = {
    "EventsQueue": "ModeratorFunction",
    "ActionsQueue": "ActuatorFunction",
    "DelayedActionsQueue": "ActuatorFunction",
}


def _event_sources(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The SQS event source mappings, by the logical id of the queue they poll."""
    mappings = [
        resource["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    return {
        _render(mapping["EventSourceArn"]).removeprefix("${").removesuffix(".Arn}"): mapping
        for mapping in mappings
    }


def test_each_queue_is_consumed_by_its_function_and_nothing_else_is(resources: dict[str, Any]) -> None:
    # Given the stack's event source mappings
    sources = _event_sources(resources)
    # When each is read as (queue, function)
    consumers = {queue: _render(mapping["FunctionName"]) for queue, mapping in sources.items()}
    # Then the moderator polls the events queue and the actuator the actions queue and the
    # delayed-actions queue, once each
    assert consumers == {queue: f"${{{function}}}" for queue, function in CONSUMERS.items()}


@pytest.mark.parametrize(("queue_id", "function"), CONSUMERS.items())
def test_each_queue_hides_a_message_at_least_six_times_its_consumers_timeout(
    resources: dict[str, Any], queue_id: str, function: str
) -> None:
    # Given a queue and the function its event source mapping invokes
    visibility = resources[queue_id]["Properties"]["VisibilityTimeout"]
    timeout = resources[function]["Properties"]["Timeout"]
    # When a batch is received, and the function runs (or Lambda retries a throttled invocation)
    # Then its messages stay hidden at least 6x the function's timeout, as Lambda asks, so a batch
    # still being processed is not handed to a second instance
    assert isinstance(visibility, int)
    assert isinstance(timeout, int)
    assert visibility >= 6 * timeout


@pytest.mark.parametrize("queue_id", CONSUMERS)
def test_each_event_source_reports_batch_item_failures_with_bounded_concurrency(
    resources: dict[str, Any], queue_id: str
) -> None:
    # Given the event source mapping of a queue
    mapping = _event_sources(resources)[queue_id]
    # When a batch of up to 10 records has some failures
    # Then only the failed records return to the queue, and the instances polling are capped
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"]["MaximumConcurrency"]
    # And no batching window, which FIFO queues refuse (and which would make a delayed action late)
    assert "MaximumBatchingWindowInSeconds" not in mapping


def test_moderator_instances_are_capped_by_a_parameter_lambda_accepts(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    # Given the moderator's event source mapping and the ModeratorConcurrency parameter
    mapping = _event_sources(resources)["EventsQueue"]
    parameter = template["Parameters"]["ModeratorConcurrency"]
    # When many rooms' groups have events at once
    # Then at most ModeratorConcurrency instances decide them, a number Lambda accepts (2 to 1000)
    assert _render(mapping["ScalingConfig"]["MaximumConcurrency"]) == "${ModeratorConcurrency}"
    assert parameter["Type"] == "Number"
    assert SQS_MAX_CONCURRENCY[0] <= parameter["MinValue"] <= parameter["Default"]
    assert parameter["Default"] <= parameter["MaxValue"] <= SQS_MAX_CONCURRENCY[1]


def test_queue_consumers_defaults_leave_the_ingress_room_in_the_accounts_lambda_concurrency(
    template: dict[str, Any],
) -> None:
    # Given the defaults of the two SQS consumers' caps
    consumers = sum(
        template["Parameters"][name]["Default"] for name in ("ModeratorConcurrency", "ActuatorConcurrency")
    )
    # When both run at their caps during a peak
    # Then the ingress (and the drain) keep at least a third of Lambda's default account concurrency:
    # at 5,000 webhooks/s a ~27 ms ingress needs ~140 instances
    assert consumers <= LAMBDA_ACCOUNT_CONCURRENCY * 2 // 3


def test_actuator_divides_the_rate_limit_by_the_concurrency_its_event_source_allows(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    # Given the actuator's event source mapping and environment
    mapping = _event_sources(resources)["ActionsQueue"]
    variables = resources["ActuatorFunction"]["Properties"]["Environment"]["Variables"]
    # When LiveClient's limiter splits Tencent's per-command limit into ACTUATOR_CONCURRENCY shares
    # Then that is the number of instances Lambda may run at once: the same parameter in both places
    assert _render(mapping["ScalingConfig"]["MaximumConcurrency"]) == "${ActuatorConcurrency}"
    assert _render(variables["ACTUATOR_CONCURRENCY"]) == "${ActuatorConcurrency}"
    # And the instances of its second source (the delayed-actions queue) are counted too: the
    # limiter's shares are ACTUATOR_CONCURRENCY + DELAYED_ACTIONS_CONCURRENCY
    delayed = _event_sources(resources)["DelayedActionsQueue"]
    assert int(variables["DELAYED_ACTIONS_CONCURRENCY"]) == delayed["ScalingConfig"]["MaximumConcurrency"]
    # And its default is a MaximumConcurrency Lambda accepts (2 to 1000)
    parameter = template["Parameters"]["ActuatorConcurrency"]
    assert parameter["Type"] == "Number"
    assert SQS_MAX_CONCURRENCY[0] <= parameter["MinValue"] <= parameter["Default"]
    assert parameter["Default"] <= parameter["MaxValue"] <= SQS_MAX_CONCURRENCY[1]


def test_actuator_dry_run_comes_from_a_parameter_that_defaults_to_off(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    # Given the actuator's environment and the DryRun parameter
    variables = resources["ActuatorFunction"]["Properties"]["Environment"]["Variables"]
    parameter = template["Parameters"]["DryRun"]
    # When the stack is deployed without overrides
    # Then actions really run; "true" only records them
    assert _render(variables["DRY_RUN"]) == "${DryRun}"
    assert parameter["Default"] == "false"
    assert parameter["AllowedValues"] == ["true", "false"]


def test_unsigned_callbacks_are_refused_unless_a_parameter_says_otherwise(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    # Given the ingress's environment and the AllowUnsignedCallbacks parameter
    variables = resources["IngressFunction"]["Properties"]["Environment"]["Variables"]
    parameter = template["Parameters"]["AllowUnsignedCallbacks"]
    # When the stack is deployed without overrides
    # Then a secret without a token means callbacks are refused (503 50302); "true" is a console test
    assert _render(variables["ALLOW_UNSIGNED_CALLBACKS"]) == "${AllowUnsignedCallbacks}"
    assert parameter["Default"] == "false"
    assert parameter["AllowedValues"] == ["true", "false"]
    assert (
        IngressEnvironment.model_validate(
            {
                "EVENTS_QUEUE_URL": "https://q.example",
                "TENCENT_SECRET_ARN": "arn",
                "ALLOW_UNSIGNED_CALLBACKS": "false",
            }
        ).allow_unsigned_callbacks
        is False
    )


def test_state_table_expires_items_on_their_expiration_attribute(resources: dict[str, Any]) -> None:
    # Given the deployed state table
    table = resources["StateTable"]
    properties = table["Properties"]
    # When an item's `expiration` (unix seconds) has passed
    # Then DynamoDB deletes it; the keys are the contract's pk/sk strings, billed on demand
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert properties["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert _render(properties["TableName"]) == "liveguard-state-${Stage}"


def test_state_table_is_recoverable_encrypted_and_outlives_the_stack(resources: dict[str, Any]) -> None:
    # Given the deployed state table
    table = resources["StateTable"]
    properties = table["Properties"]
    # When a bad rule damages state, or the stack is deleted or the table replaced
    # Then it can be restored to a point in time, is encrypted with KMS, and is kept
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_moderator_role_may_only_consume_events_keep_state_queue_actions_dead_letter_and_read_the_secret(
    resources: dict[str, Any],
) -> None:
    # Given the moderator's execution role
    role = _role(resources, "ModeratorFunction")
    # When its statements are listed as (effect, action, resource)
    granted = _granted(role)
    # Then each names exactly the resource it is for
    assert granted == {
        ("Allow", "logs:CreateLogStream", "${ModeratorFunctionLogGroup.Arn}"),
        ("Allow", "logs:PutLogEvents", "${ModeratorFunctionLogGroup.Arn}"),
        ("Allow", "sqs:ReceiveMessage", "${EventsQueue.Arn}"),
        ("Allow", "sqs:DeleteMessage", "${EventsQueue.Arn}"),
        ("Allow", "sqs:GetQueueAttributes", "${EventsQueue.Arn}"),
        ("Allow", "sqs:SendMessage*", "${ActionsQueue.Arn}"),
        ("Allow", "sqs:SendMessage", "${DelayedActionsQueue.Arn}"),
        ("Allow", "sqs:SendMessage", "${EventsDeadLetterQueue.Arn}"),
        ("Allow", "dynamodb:GetItem", "${StateTable.Arn}"),
        ("Allow", "dynamodb:BatchGetItem", "${StateTable.Arn}"),
        ("Allow", "dynamodb:PutItem", "${StateTable.Arn}"),
        ("Allow", "dynamodb:Query", "${StateTable.Arn}"),
        ("Allow", "secretsmanager:GetSecretValue", SECRET_ARN),
        ("Allow", "s3:GetObject", "${RulesBucket.Arn}/rules/active.json"),
    }


def test_actuator_role_may_only_consume_and_delay_actions_dead_letter_them_keep_state_and_read_the_secret(
    resources: dict[str, Any],
) -> None:
    # Given the actuator's execution role
    role = _role(resources, "ActuatorFunction")
    # When its statements are listed as (effect, action, resource)
    granted = _granted(role)
    # Then each names exactly the resource it is for: idempotency and audit need no Query
    assert granted == {
        ("Allow", "logs:CreateLogStream", "${ActuatorFunctionLogGroup.Arn}"),
        ("Allow", "logs:PutLogEvents", "${ActuatorFunctionLogGroup.Arn}"),
        ("Allow", "sqs:ReceiveMessage", "${ActionsQueue.Arn}"),
        ("Allow", "sqs:DeleteMessage", "${ActionsQueue.Arn}"),
        ("Allow", "sqs:GetQueueAttributes", "${ActionsQueue.Arn}"),
        ("Allow", "sqs:ReceiveMessage", "${DelayedActionsQueue.Arn}"),
        ("Allow", "sqs:DeleteMessage", "${DelayedActionsQueue.Arn}"),
        ("Allow", "sqs:GetQueueAttributes", "${DelayedActionsQueue.Arn}"),
        ("Allow", "sqs:SendMessage", "${DelayedActionsQueue.Arn}"),
        ("Allow", "sqs:SendMessage", "${ActionsDeadLetterQueue.Arn}"),
        ("Allow", "dynamodb:GetItem", "${StateTable.Arn}"),
        ("Allow", "dynamodb:PutItem", "${StateTable.Arn}"),
        ("Allow", "dynamodb:UpdateItem", "${StateTable.Arn}"),
        ("Allow", "dynamodb:DeleteItem", "${StateTable.Arn}"),
        ("Allow", "secretsmanager:GetSecretValue", SECRET_ARN),
    }


def test_spool_drain_role_may_only_send_to_the_events_queue_and_read_and_delete_spool_items(
    resources: dict[str, Any],
) -> None:
    # Given the spool drain's execution role
    role = _role(resources, "SpoolDrainFunction")
    # When its statements are listed as (effect, action, resource)
    granted = _granted(role)
    # Then it writes its own logs, sends to the events queue, and reads and deletes table items
    assert granted == {
        ("Allow", "logs:CreateLogStream", "${SpoolDrainFunctionLogGroup.Arn}"),
        ("Allow", "logs:PutLogEvents", "${SpoolDrainFunctionLogGroup.Arn}"),
        ("Allow", "sqs:SendMessage", "${EventsQueue.Arn}"),
        ("Allow", "dynamodb:Query", "${StateTable.Arn}"),
        ("Allow", "dynamodb:DeleteItem", "${StateTable.Arn}"),
    }
    # And only the spool's items: no strike, snapshot or audit is readable or deletable by it
    assert _conditions(role, "dynamodb:Query") == [SPOOL_ONLY]
    assert _conditions(role, "dynamodb:DeleteItem") == [SPOOL_ONLY]
    assert role.get("ManagedPolicyArns", []) == []


def test_spool_drain_runs_every_minute_and_each_run_ends_before_the_next(resources: dict[str, Any]) -> None:
    # Given the drain function and the rules that invoke it
    rules = [resource for resource in resources.values() if resource["Type"] == "AWS::Events::Rule"]
    properties = resources["SpoolDrainFunction"]["Properties"]
    # When EventBridge fires the schedule
    (rule,) = rules
    (target,) = rule["Properties"]["Targets"]
    # Then it invokes the drain once a minute; a run ends before the next starts, and a missed run
    # is not retried (the next one makes up for it)
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    assert _render(target["Arn"]) == "${SpoolDrainFunction.Arn}"
    assert properties["Timeout"] < 60
    config = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig")
    retries = config["Properties"]["MaximumRetryAttempts"]
    assert (retries, config["Properties"]["MaximumEventAgeInSeconds"]) == (0, 60)


def test_spool_alarms_when_a_kept_event_waited_ten_minutes(resources: dict[str, Any]) -> None:
    # Given the alarm on the drain's OldestKeptEventAge metric (0 when the spool is empty)
    properties = resources["SpoolStaleAlarm"]["Properties"]
    watched = {d["Name"]: _render(d["Value"]) for d in properties["Dimensions"]}
    # When a kept event is still in the spool after a run, ten minutes after the ingress kept it
    # Then it fires, on the metric the drain publishes under its service name
    assert (properties["Namespace"], properties["MetricName"]) == ("LiveGuard", "OldestKeptEventAge")
    drain_variables = resources["SpoolDrainFunction"]["Properties"]["Environment"]["Variables"]
    assert watched == {"service": drain_variables["POWERTOOLS_SERVICE_NAME"]}
    assert (properties["Statistic"], properties["ComparisonOperator"], properties["Threshold"]) == (
        "Maximum",
        "GreaterThanThreshold",
        600,
    )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_functions_get_no_managed_policy(resources: dict[str, Any], function: str) -> None:
    # Given a function's role (SAM would attach AWSLambdaBasicExecutionRole, or to a queue consumer
    # AWSLambdaSQSQueueExecutionRole, whose logs and queue permissions are on "*")
    role = _role(resources, function)
    # When the policies attached to it are listed
    # Then there are none beside its own inline statements
    assert role.get("ManagedPolicyArns", []) == []
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_role_grants_on_every_resource_or_with_a_wildcard_action(
    resources: dict[str, Any], function: str
) -> None:
    # Given every function's inline statements
    granted = _granted(_role(resources, function))
    # When their actions and resources are checked for wildcards
    wild_resources = {resource for _, _, resource in granted if "*" in resource}
    wild_actions = {action for _, action, _ in granted if "*" in action} - {"sqs:SendMessage*"}
    # Then none is on "*", and the one wildcard action is SendMessage with SendMessageBatch
    assert granted
    assert wild_resources == set()
    assert wild_actions == set()
    assert {effect for effect, _, _ in granted} == {"Allow"}


def test_no_statement_of_any_role_is_on_every_resource_and_no_role_takes_the_basic_execution_role(
    resources: dict[str, Any],
) -> None:
    # Given every IAM role CloudFormation would create (the functions' and any other)
    roles = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    # When their statements' resources and their managed policies are listed
    everywhere = {
        (name, action)
        for name, role in roles.items()
        for _, action, resource in _granted(role)
        if "*" in resource
    }
    managed = {name: role.get("ManagedPolicyArns", []) for name, role in roles.items()}
    # Then none grants anything on "*", and none takes the managed logs policy (logs on "*")
    assert set(roles) >= {"IngressRole", "ModeratorRole", "ActuatorRole"}
    assert everywhere == set()
    assert {name for name, arns in managed.items() if LOGS_ONLY_MANAGED_POLICY in map(str, arns)} == set()
    # And every function runs with one of these roles, none with a role SAM made for it
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions
    assert {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions} <= set(roles)


# The resource behind each variable a function reads, and what it is for.
ENVIRONMENT = {
    "IngressFunction": {
        "EVENTS_QUEUE_URL": "${EventsQueue}",
        "STATE_TABLE_NAME": "${StateTable}",
        "TENCENT_SECRET_ARN": SECRET_ARN,
        "POWERTOOLS_SERVICE_NAME": "liveguard-ingress",
        "ALLOW_UNSIGNED_CALLBACKS": "${AllowUnsignedCallbacks}",
        "RULES_BUCKET": "${RulesBucket}",
        "RULES_KEY": "rules/active.json",
        "RULES_REFRESH_SECONDS": "${RulesRefreshSeconds}",
    },
    "ModeratorFunction": {
        "ACTIONS_QUEUE_URL": "${ActionsQueue}",
        "DELAYED_ACTIONS_QUEUE_URL": "${DelayedActionsQueue}",
        "EVENTS_DLQ_URL": "${EventsDeadLetterQueue}",
        "STATE_TABLE_NAME": "${StateTable}",
        "TENCENT_SECRET_ARN": SECRET_ARN,
        "RULES_BUCKET": "${RulesBucket}",
        "RULES_KEY": "rules/active.json",
        "RULES_REFRESH_SECONDS": "${RulesRefreshSeconds}",
        "POWERTOOLS_SERVICE_NAME": "liveguard-moderator",
    },
    "ActuatorFunction": {
        "DELAYED_ACTIONS_QUEUE_URL": "${DelayedActionsQueue}",
        "ACTIONS_DLQ_URL": "${ActionsDeadLetterQueue}",
        "STATE_TABLE_NAME": "${StateTable}",
        "TENCENT_SECRET_ARN": SECRET_ARN,
        "DRY_RUN": "${DryRun}",
        "ACTUATOR_CONCURRENCY": "${ActuatorConcurrency}",
        "DELAYED_ACTIONS_CONCURRENCY": "2",
        "POWERTOOLS_SERVICE_NAME": "liveguard-actuator",
    },
    "SpoolDrainFunction": {
        "EVENTS_QUEUE_URL": "${EventsQueue}",
        "STATE_TABLE_NAME": "${StateTable}",
        "POWERTOOLS_SERVICE_NAME": "liveguard-spool-drain",
    },
}
SHARED_ENVIRONMENT = {
    "POWERTOOLS_METRICS_NAMESPACE": "LiveGuard",
    "POWERTOOLS_LOG_LEVEL": "${LogLevel}",
    "LOG_LEVEL": "${LogLevel}",
    "AWS_ENDPOINT_URL": "",  # declared empty so sam local's env.json may set it (see env.json)
}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_environment_names_its_resources_and_nothing_more(
    resources: dict[str, Any], function: str
) -> None:
    # Given a function's environment, after SAM merged the globals into it
    variables = resources[function]["Properties"]["Environment"]["Variables"]
    # When its handler reads its settings at cold start
    rendered = {name: _render(value) for name, value in variables.items()}
    # Then it finds exactly its own resources, and shares the namespace and log level with the others
    assert rendered == {**ENVIRONMENT[function], **SHARED_ENVIRONMENT}
    # And RULES_FILE is unset: the moderator runs the rules shipped in the layer
    assert "RULES_FILE" not in rendered


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_resource_a_function_is_told_about_is_one_its_role_may_use(
    resources: dict[str, Any], function: str
) -> None:
    # Given the queues, table and secret a function's environment names
    named = {
        value
        for name, value in ENVIRONMENT[function].items()
        if name.endswith(("_URL", "_TABLE_NAME", "_SECRET_ARN"))
    }
    # When its role's resources are listed (a queue's URL is its Ref; its ARN, an attribute of it)
    granted = {resource for _, _, resource in _granted(_role(resources, function))}

    def covered(value: str) -> bool:
        attribute = value.removesuffix("}") + "."
        return value in granted or any(attribute in resource for resource in granted)

    # Then none is left out: a variable without a grant would fail at the first call
    assert named
    assert {value for value in named if not covered(value)} == set()


def test_environment_models_find_every_variable_they_require(resources: dict[str, Any]) -> None:
    # Given the layer's environment models, validated at each function's cold start (imported here:
    # the handlers' logic modules are not needed by the other template tests)
    from liveguard.settings import ActuatorEnvironment, ModeratorEnvironment

    models: dict[str, type[BaseModel]] = {
        "IngressFunction": IngressEnvironment,
        "ModeratorFunction": ModeratorEnvironment,
        "ActuatorFunction": ActuatorEnvironment,
        "SpoolDrainFunction": DrainEnvironment,
    }
    # When the variables each requires are compared with what the template sets
    missing = {
        function: sorted(
            str(field.alias)
            for field in model.model_fields.values()
            if field.is_required()
            and field.alias not in resources[function]["Properties"]["Environment"]["Variables"]
        )
        for function, model in models.items()
    }
    # Then none is missing, so no function fails its cold start on a deployed stack
    assert missing == {function: [] for function in models}


@pytest.mark.parametrize(
    ("output", "value"),
    [
        ("ActionsQueueUrl", "${ActionsQueue}"),
        ("ActionsDeadLetterQueueUrl", "${ActionsDeadLetterQueue}"),
        ("DelayedActionsQueueUrl", "${DelayedActionsQueue}"),
        ("DelayedActionsDeadLetterQueueUrl", "${DelayedActionsDeadLetterQueue}"),
        ("StateTableName", "${StateTable}"),
    ],
)
def test_outputs_name_the_actions_queues_and_the_state_table(
    cfn: dict[str, Any], output: str, value: str
) -> None:
    # Given the stack's outputs
    # When an operator looks for the queues to replay and the table to query
    # Then they are there, naming the stack's own resources
    assert _render(cfn["Outputs"][output]["Value"]) == value
