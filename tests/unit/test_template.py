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
from pydantic import ValidationError
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

from liveguard.settings import TencentSecret

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
LAYER_REQUIREMENTS = REPO / "layers" / "liveguard" / "requirements.txt"
PYPROJECT = REPO / "pyproject.toml"
RUNTIME = "python3.13"

# name[extras]==version, and nothing else: no ranges, no markers, no second specifier.
EXACT_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s=<>!~,;]+)$")


class CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that reads CloudFormation's short-form tags (!Sub, !Ref, !GetAtt...)."""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


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


def test_events_queue_redrives_to_its_dead_letter_queue_after_five_receives(
    resources: dict[str, Any],
) -> None:
    # Given the deployed events queue
    queue = resources["EventsQueue"]["Properties"]
    # When a message has been received maxReceiveCount times without being deleted
    redrive = queue["RedrivePolicy"]
    # Then SQS moves it to the events DLQ, where nothing is lost for 14 days
    assert _render(redrive["deadLetterTargetArn"]) == "${EventsDeadLetterQueue.Arn}"
    assert redrive["maxReceiveCount"] == 5
    assert resources["EventsDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] == 1209600


def test_events_queue_is_a_high_throughput_fifo_deduplicated_by_our_ids(resources: dict[str, Any]) -> None:
    # Given the deployed events queue
    queue = resources["EventsQueue"]["Properties"]
    # When ingress sends with group = room and dedup id = event id
    # Then dedup and the throughput quota are per room, and SQS never derives its own dedup id
    assert queue["FifoQueue"] is True
    assert queue["ContentBasedDeduplication"] is False
    assert queue["DeduplicationScope"] == "messageGroup"
    assert queue["FifoThroughputLimit"] == "perMessageGroupId"
    assert _render(queue["QueueName"]) == "liveguard-events-${Stage}.fifo"


def test_events_dead_letter_queue_accepts_only_the_events_queue_as_source(resources: dict[str, Any]) -> None:
    # Given the DLQ and the events queue's name
    dlq = resources["EventsDeadLetterQueue"]["Properties"]
    queue_name = _render(resources["EventsQueue"]["Properties"]["QueueName"])
    # When SQS checks which queues may redrive into the DLQ
    allow = dlq["RedriveAllowPolicy"]
    # Then only the events queue may (a FIFO DLQ for a FIFO source), and the ARN names that queue
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


def test_a_new_layer_version_publishes_a_new_function_version(
    translate: Any, resources: dict[str, Any]
) -> None:
    # Given the function version published with the current layer
    version_now, _ = _only(resources, "AWS::Lambda::Version")
    # When the layer's content changes (sam package gives it a new S3 key)
    version_next, _ = _only(translate("s3://artifacts/layer-changed")["Resources"], "AWS::Lambda::Version")
    # Then a new function version (and snapshot) is published, so the alias never runs the old layer
    assert version_next != version_now


def test_ingress_role_may_only_send_to_the_events_queue_and_read_the_tencent_secret(
    resources: dict[str, Any],
) -> None:
    # Given the ingress function's execution role
    role_name = resources["IngressFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = resources[role_name]["Properties"]
    # When its inline statements are listed as (effect, action, resource)
    statements = [
        statement for policy in role["Policies"] for statement in policy["PolicyDocument"]["Statement"]
    ]
    granted = {
        (statement["Effect"], action, str(_render(resource)))
        for statement in statements
        for action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    }
    # Then it sends to the events queue and reads the secret, on those resources only: no "*"
    assert granted == {
        (
            "Allow",
            "sqs:SendMessage*",
            "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${EventsQueue.QueueName}",
        ),
        ("Allow", "secretsmanager:GetSecretValue", SECRET_ARN),
    }
    assert all("*" not in str(resource) for _, _, resource in granted)
    # And the only managed policy is the logs one SAM attaches to every function
    assert role["ManagedPolicyArns"] == [LOGS_ONLY_MANAGED_POLICY]


def test_callback_api_stage_throttles_every_route_from_the_parameters(resources: dict[str, Any]) -> None:
    # Given the deployed API stage
    _, stage = _only(resources, "AWS::ApiGateway::Stage")
    # When API Gateway applies its method settings
    settings = stage["Properties"]["MethodSettings"]
    # Then every resource and method is throttled by the stack's rate and burst parameters
    assert [(s["ResourcePath"], s["HttpMethod"]) for s in settings] == [("/*", "*")]
    assert _render(settings[0]["ThrottlingRateLimit"]) == "${ApiThrottlingRateLimit}"
    assert _render(settings[0]["ThrottlingBurstLimit"]) == "${ApiThrottlingBurstLimit}"
    assert _render(stage["Properties"]["StageName"]) == "${Stage}"


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


def test_ingress_logs_go_to_a_log_group_with_a_retention(resources: dict[str, Any]) -> None:
    # Given the ingress function's logging configuration
    log_group = _render(resources["IngressFunction"]["Properties"]["LoggingConfig"]["LogGroup"])
    # When Lambda writes the function's logs
    group = resources[log_group.strip("${}")]
    # Then they land in the stack's log group, which expires them after 30 days
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == 30


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
    assert contract - set(placeholder) == {"ApiBaseUrl"}
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
        ("IngressFunctionErrorsAlarm", "AWS/Lambda", "Errors", {"FunctionName": "${IngressFunction}"}),
        (
            "CallbackApi5xxAlarm",
            "AWS/ApiGateway",
            "5XXError",
            {"ApiName": "liveguard-callback-${Stage}", "Stage": "${Stage}"},
        ),
    ],
)
def test_each_alarm_fires_on_the_first_bad_datum_of_what_it_watches(
    resources: dict[str, Any], alarm: str, namespace: str, metric: str, dimensions: dict[str, str]
) -> None:
    # Given an alarm declared next to the resource it watches
    properties = resources[alarm]["Properties"]
    # When its metric goes above zero within five minutes
    watched = {d["Name"]: _render(d["Value"]) for d in properties["Dimensions"]}
    # Then it fires, on that resource's metric (the API by the name the API really has)
    assert (properties["Namespace"], properties["MetricName"], watched) == (namespace, metric, dimensions)
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0)
    assert properties["Period"] * properties["EvaluationPeriods"] == 300
    assert _render(resources["CallbackApi"]["Properties"]["Name"]) == "liveguard-callback-${Stage}"
