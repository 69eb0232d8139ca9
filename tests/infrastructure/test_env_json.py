"""env.json, the `sam local invoke/start-api --env-vars` file: it names only functions and variables
template.yaml declares, points every resource reference at the local stack's names, and is read by
SAM CLI's own resolver the way the docs (docs/operations.md, "sam local for Docker users") say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from liveguard_local.stack.core import LocalStackOptions
from liveguard_local.stack.template import CloudFormationLoader

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
ENV_JSON = REPO / "env.json"
MOTO_ACCOUNT = "123456789012"
# What `liveguard local up --aws-only` serves by default: env.json points at that stack.
LOCAL = LocalStackOptions()

# Variables env.json may set beyond those the template declares. AWS_ENDPOINT_URL: boto3 (and the
# layer's boto3-free SQS and DynamoDB clients, liveguard.aws) read it to reach moto instead of AWS;
# the template cannot declare it with a local value. See test_sam_local_passes_aws_endpoint_url for
# what SAM CLI does with it.
ALLOWED_EXTRAS = frozenset({"AWS_ENDPOINT_URL"})
# Never in env.json: sam local sets these in the container from the credentials of the shell that
# runs it (or placeholders), whatever env.json says, so values here would only mislead. The docs
# export moto's fake credentials in that shell instead.
CREDENTIAL_VARIABLES = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"}
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    return loaded


@pytest.fixture(scope="module")
def env() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads(ENV_JSON.read_text())
    return loaded


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def declared(template: dict[str, Any], function: str) -> dict[str, Any]:
    """The variables the template gives ``function``: Globals' and its own."""
    shared = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = functions(template)[function]["Properties"].get("Environment", {}).get("Variables", {})
    return {**shared, **own}


def refs(value: Any) -> set[str]:
    """Every name a value refers to with Ref or GetAtt (in !If branches too)."""
    if isinstance(value, dict):
        found: set[str] = set()
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            else:
                found |= refs(inner)
        return found
    if isinstance(value, list):
        return set().union(*(refs(item) for item in value)) if value else set()
    return set()


def local_name(value: Any) -> str:
    """A resource's ``!Sub ...${Stage}...`` name in the local stack (its stage is ``local``)."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    assert isinstance(text, str)
    return text.replace("${Stage}", LOCAL.stage)


def test_env_json_names_only_the_templates_functions_and_each_of_them(template, env):
    assert set(env) == set(functions(template))


def test_each_function_gets_only_variables_the_template_declares_for_it(template, env):
    for function, variables in env.items():
        extra = set(variables) - set(declared(template, function)) - ALLOWED_EXTRAS
        assert not extra, f"{function}: env.json sets {sorted(extra)}, which the template does not declare"


def test_no_credentials_in_env_json(env):
    for function, variables in env.items():
        assert not set(variables) & CREDENTIAL_VARIABLES, function


def test_every_value_is_a_string(env):
    # sam local passes strings; a JSON number or boolean would be stringified its own way.
    for function, variables in env.items():
        for name, value in variables.items():
            assert isinstance(value, str), f"{function}.{name}"


def test_every_variable_naming_a_resource_is_pointed_at_the_local_stack(template, env):
    # Left alone, sam local hands the function the resource's logical id ("StateTable"): useless.
    resources = set(template["Resources"])
    for function in env:
        for name, value in declared(template, function).items():
            if refs(value) & resources:
                assert name in env[function], f"{function}: {name} names a resource; env.json must set it"


def test_queue_table_and_secret_are_the_local_stacks_as_moto_names_them(template, env):
    # moto names a queue http://<the address it was created through>/<account>/<name>.
    resources = template["Resources"]
    for function, variables in env.items():
        for name, value in variables.items():
            targets = refs(declared(template, function).get(name)) & set(resources)
            for target in targets:
                resource = resources[target]
                if resource["Type"] == "AWS::SQS::Queue":
                    queue = local_name(resource["Properties"]["QueueName"])
                    origin = f"http://{LOCAL.host}:{LOCAL.aws_port}"
                    assert value == f"{origin}/{MOTO_ACCOUNT}/{queue}", f"{function}.{name}"
                elif resource["Type"] == "AWS::DynamoDB::Table":
                    assert value == local_name(resource["Properties"]["TableName"])
                elif resource["Type"] == "AWS::SecretsManager::Secret":
                    # moto appends six random characters to a secret's ARN; like Secrets Manager it
                    # also finds the secret by the ARN without them (.liveguard/local.json has the full one).
                    secret = local_name(resource["Properties"]["Name"])
                    assert value == f"arn:aws:secretsmanager:{LOCAL.region}:{MOTO_ACCOUNT}:secret:{secret}"


def test_the_endpoint_is_moto_as_seen_from_the_container(env):
    # Inside sam local's container, 127.0.0.1 is the container: Docker Desktop's name for the host.
    for function, variables in env.items():
        assert variables["AWS_ENDPOINT_URL"] == f"http://host.docker.internal:{LOCAL.aws_port}", function


def test_actuator_values_are_what_its_environment_model_accepts(env):
    from liveguard.settings import ActuatorEnvironment, IngressEnvironment, ModeratorEnvironment

    IngressEnvironment.model_validate(env["IngressFunction"])
    ModeratorEnvironment.model_validate(env["ModeratorFunction"])
    actuator = ActuatorEnvironment.model_validate(env["ActuatorFunction"])
    assert actuator.dry_run is False
    assert actuator.concurrency == 1  # sam local runs one invocation at a time: the whole rate is its


# --- what SAM CLI itself makes of it ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sam_environment(env) -> dict[str, dict[str, str]]:
    """Each function's environment as `sam local invoke --env-vars env.json` builds it (SAM CLI's
    own template reader and resolver, as LocalLambdaRunner uses them; no Docker, no credentials)."""
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
    from samcli.local.lambdafn.env_vars import EnvironmentVariables

    stacks, _ = SamLocalStackProvider.get_stacks(str(TEMPLATE))
    provider = SamFunctionProvider(stacks)
    resolved = {}
    for name in env:
        function = provider.get(name)
        assert function is not None, name
        variables = (function.environment or {}).get("Variables")
        resolved[name] = EnvironmentVariables(
            function.name,
            function.memory,
            function.timeout,
            function.handler,
            variables=variables,
            shell_env_values={},
            override_values=env[name],
            aws_creds={},
        ).resolve()
    return resolved


# samtranslator's schema validator uses deprecated jsonschema APIs; not ours to fix.
SAM_WARNINGS = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@SAM_WARNINGS
def test_sam_local_passes_every_declared_value(env, sam_environment):
    for function, variables in env.items():
        for name, value in variables.items():
            if name in ALLOWED_EXTRAS:
                continue
            assert sam_environment[function].get(name) == value, f"{function}.{name}"


@SAM_WARNINGS
def test_sam_local_passes_aws_endpoint_url(env, sam_environment):
    for function, variables in env.items():
        assert sam_environment[function].get("AWS_ENDPOINT_URL") == variables["AWS_ENDPOINT_URL"]
