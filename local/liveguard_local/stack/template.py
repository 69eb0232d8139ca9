"""template.yaml read the way CloudFormation and SAM would, for the few intrinsics the local stack needs.

Short tags (``!Ref``, ``!Sub``, ``!GetAtt``, ``!If``...) become their long forms; ``Ref``, ``Fn::Sub``,
``Fn::GetAtt``, ``Fn::If``, ``Fn::Equals``/``Not``/``And``/``Or``, ``Fn::Join``, ``Fn::Select``,
``Fn::Split``, ``Fn::FindInMap`` and ``Condition`` are resolved against the parameters (their
defaults, overridden by the caller: ``Stage=local``), the pseudo parameters, and the physical ids of
the resources the local stack created (queues, tables, secrets). A reference to one of those not yet
created raises :class:`Unresolved`, so the caller can create resources in dependency order.
Resources the stack does not create (roles, log groups, alarms...) resolve to made-up names and ARNs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # (no types-PyYAML in the pinned dev set)

ACCOUNT_ID = "123456789012"  # moto's default account
CREATED_TYPES = frozenset({"AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::SecretsManager::Secret"})


class TemplateError(Exception):
    """The template uses something the local stack cannot run."""


class Unresolved(Exception):  # noqa: N818 - a state, not a failure: create that resource first
    """A reference to a resource the local stack creates, which does not exist yet."""

    def __init__(self, logical_id: str) -> None:
        super().__init__(logical_id)
        self.logical_id = logical_id


class _NoValue:
    """``AWS::NoValue``: the property or list item is left out."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class CloudFormationLoader(yaml.SafeLoader):  # type: ignore[misc]  # yaml is untyped
    """A safe YAML loader that reads CloudFormation's short-form tags."""


def _intrinsic(loader: Any, suffix: str, node: Any) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return document


@dataclass(frozen=True)
class SqsSource:
    """An SQS event source mapping, as the template declares it."""

    name: str
    queue_arn: str
    batch_size: int
    window: float
    report_failures: bool
    max_concurrency: int | None
    enabled: bool


@dataclass(frozen=True)
class ScheduleSource:
    """A ``Schedule`` event: EventBridge invoking the function every ``every`` seconds."""

    name: str
    every: float
    enabled: bool


_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float:
    """Seconds between runs of an EventBridge ``rate(...)`` expression (cron is not emulated)."""
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        raise TemplateError(f"schedule {expression!r}: only rate(N minutes|hours|days) runs locally")
    return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")])


# The APIs SAM makes for Api and HttpApi events that name none.
IMPLICIT_REST_API = "ServerlessRestApi"
IMPLICIT_HTTP_API = "ServerlessHttpApi"


@dataclass(frozen=True)
class ApiRoute:
    """An ``Api`` or ``HttpApi`` event: the API it belongs to, its path and method, and the proxy
    event's payload format (``1.0``: a REST API's, and an HTTP API's when asked; ``2.0``)."""

    name: str
    api: str
    path: str
    method: str
    payload_version: str = "1.0"


@dataclass(frozen=True)
class FunctionSpec:
    """A function, with Globals merged in and its environment resolved."""

    logical_id: str
    name: str
    handler: str
    runtime: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    timeout: int
    memory: int
    environment: dict[str, str]
    snap_start: bool
    log_group: str
    # LoggingConfig's JSON format: Lambda then sets AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL
    # (its application-log level, which Powertools' Logger follows before POWERTOOLS_LOG_LEVEL).
    log_format: str = "Text"
    application_log_level: str = ""
    sqs: tuple[SqsSource, ...] = ()
    api: tuple[ApiRoute, ...] = ()
    schedules: tuple[ScheduleSource, ...] = ()
    arn: str = ""


@dataclass(frozen=True)
class ApiSpec:
    """An API's stage and its stage-wide throttling: a REST API's ``MethodSettings`` on ``/*`` ``*``,
    an HTTP API's ``DefaultRouteSettings``. ``http``: an HTTP API (it answers as one)."""

    logical_id: str
    stage: str
    rate_limit: float | None = None
    burst_limit: int | None = None
    http: bool = False


@dataclass
class Physical:
    """What a created resource's Ref and GetAtt give."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


def _merge_globals(defaults: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals: maps merge, lists are the global items then the function's, scalars are overridden."""
    merged = dict(defaults)
    for key, value in own.items():
        base = merged.get(key)
        if isinstance(base, Mapping) and isinstance(value, Mapping):
            merged[key] = _merge_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            merged[key] = [*base, *value]
        else:
            merged[key] = value
    return merged


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Template:
    """The template with its parameters fixed; resolves values against what has been created so far."""

    def __init__(
        self,
        path: Path,
        parameters: Mapping[str, str],
        *,
        region: str = "us-east-1",
        stack_name: str | None = None,
    ) -> None:
        self.path = path.resolve()
        self.root = self.path.parent
        self.document = load_template(self.path)
        self.resources: dict[str, dict[str, Any]] = self.document["Resources"]
        self.region = region
        declared: dict[str, Any] = self.document.get("Parameters") or {}
        unknown = sorted(set(parameters) - set(declared))
        if unknown:
            raise TemplateError(f"{path}: no such parameter: {', '.join(unknown)}")
        self.parameters: dict[str, str] = {
            name: _string(spec["Default"]) for name, spec in declared.items() if "Default" in spec
        }
        self.parameters.update(parameters)
        missing = sorted(set(declared) - set(self.parameters))
        if missing:
            raise TemplateError(f"{path}: parameters without a value: {', '.join(missing)}")
        stage = self.parameters.get("Stage", "local")
        self.stack_name = stack_name or f"liveguard-{stage}"
        self.pseudo: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{self.stack_name}/local",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        self.physical: dict[str, Physical] = {}
        self._conditions: dict[str, bool] = {}
        self._globals: dict[str, Any] = (self.document.get("Globals") or {}).get("Function") or {}

    # --- conditions -------------------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.document.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"no such condition: {name}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def included(self, logical_id: str) -> bool:
        """False when the resource's Condition is false: CloudFormation would not create it."""
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def of_type(self, resource_type: str) -> list[str]:
        return [
            logical_id
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type and self.included(logical_id)
        ]

    # --- intrinsics -------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by its value; AWS::NoValue items dropped."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key[4:], argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self._get_att(str(logical_id), str(self.resolve(attribute)))
        if name == "Sub":
            return self._sub(argument)
        if name == "If":
            condition, if_true, if_false = argument
            return self.resolve(if_true if self.condition(condition) else if_false)
        if name == "Equals":
            left, right = (self.resolve(item) for item in argument)
            return _string(left) == _string(right)
        if name == "Not":
            return not self.resolve(argument[0])
        if name == "And":
            return all(self.resolve(item) for item in argument)
        if name == "Or":
            return any(self.resolve(item) for item in argument)
        if name == "Join":
            separator, items = argument
            return str(separator).join(_string(item) for item in self.resolve(items))
        if name == "Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Split":
            separator, text = argument
            return str(self.resolve(text)).split(str(separator))
        if name == "FindInMap":
            table, first, second = (self.resolve(item) for item in argument)
            return self.resolve(self.document["Mappings"][table][first][second])
        if name == "Base64":
            import base64

            return base64.b64encode(str(self.resolve(argument)).encode()).decode()
        raise TemplateError(f"Fn::{name} is not supported by the local stack")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.resolve(item) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return _string(values[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self._get_att(logical_id, attribute)
            return _string(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))

    def _ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        resource = self.resources.get(name)
        if resource is None:
            raise TemplateError(f"Ref to an unknown name: {name}")
        if name in self.physical:
            return self.physical[name].ref
        if resource.get("Type") in CREATED_TYPES:
            raise Unresolved(name)
        return self._made_up(name)["Ref"]

    def _get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"GetAtt of an unknown resource: {logical_id}")
        if logical_id in self.physical:
            found = self.physical[logical_id].attributes.get(attribute)
            if found is None:
                raise TemplateError(f"GetAtt {logical_id}.{attribute} is not supported by the local stack")
            return found
        if resource.get("Type") in CREATED_TYPES:
            raise Unresolved(logical_id)
        made_up = self._made_up(logical_id)
        return made_up.get(attribute, made_up["Arn"])

    def _made_up(self, logical_id: str) -> dict[str, str]:
        """Names and ARNs for resources the local stack does not create (nothing calls them)."""
        resource = self.resources[logical_id]
        kind = resource.get("Type", "")
        properties = resource.get("Properties") or {}
        region, account = self.region, ACCOUNT_ID

        def named(key: str, default: str) -> str:
            return _string(self.resolve(properties[key])) if key in properties else default

        if kind == "AWS::Serverless::Function":
            name = named("FunctionName", f"{self.stack_name}-{logical_id}")
            return {"Ref": name, "Arn": f"arn:aws:lambda:{region}:{account}:function:{name}"}
        if kind == "AWS::Serverless::LayerVersion":
            name = named("LayerName", logical_id)
            arn = f"arn:aws:lambda:{region}:{account}:layer:{name}:1"
            return {"Ref": arn, "Arn": arn}
        if kind == "AWS::Logs::LogGroup":
            name = named("LogGroupName", f"/aws/{self.stack_name}/{logical_id}")
            return {"Ref": name, "Arn": f"arn:aws:logs:{region}:{account}:log-group:{name}:*"}
        if kind == "AWS::IAM::Role":
            name = named("RoleName", f"{self.stack_name}-{logical_id}")
            return {"Ref": name, "Arn": f"arn:aws:iam::{account}:role/{name}"}
        return {"Ref": logical_id, "Arn": f"arn:aws:local:{region}:{account}:{logical_id}"}

    # --- what the local stack runs ----------------------------------------------------------------

    def api(self, logical_id: str | None) -> ApiSpec:
        """The API an Api or HttpApi event belongs to (SAM's implicit API when none is named)."""
        if logical_id is None or logical_id not in self.resources:
            if logical_id == IMPLICIT_HTTP_API:
                return ApiSpec(logical_id, "$default", http=True)
            return ApiSpec(logical_id or IMPLICIT_REST_API, "Prod")
        resource = self.resources[logical_id]
        properties = resource.get("Properties") or {}
        rate: float | None = None
        burst: int | None = None
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            stage = _string(self.resolve(properties.get("StageName", "$default")))
            setting = self.resolve(properties.get("DefaultRouteSettings") or {})
            if "ThrottlingRateLimit" in setting:
                rate = float(setting["ThrottlingRateLimit"])
            if "ThrottlingBurstLimit" in setting:
                burst = int(setting["ThrottlingBurstLimit"])
            return ApiSpec(logical_id, stage, rate, burst, http=True)
        stage = _string(self.resolve(properties.get("StageName", "Prod")))
        for setting in self.resolve(properties.get("MethodSettings") or []):
            if setting.get("ResourcePath") == "/*" and setting.get("HttpMethod") == "*":
                if "ThrottlingRateLimit" in setting:
                    rate = float(setting["ThrottlingRateLimit"])
                if "ThrottlingBurstLimit" in setting:
                    burst = int(setting["ThrottlingBurstLimit"])
        return ApiSpec(logical_id, stage, rate, burst)

    def api_routes(self) -> list[tuple[str, ApiRoute]]:
        """(function logical id, route) for every Api and HttpApi event; resolvable before anything
        is created. An HttpApi event's payload format is its PayloadFormatVersion (SAM's default 2.0)."""
        routes: list[tuple[str, ApiRoute]] = []
        for logical_id in self.of_type("AWS::Serverless::Function"):
            events = (self.resources[logical_id].get("Properties") or {}).get("Events") or {}
            for event_name, event in events.items():
                kind = event.get("Type")
                if kind not in ("Api", "HttpApi"):
                    continue
                properties = event.get("Properties") or {}
                http = kind == "HttpApi"
                api = properties.get("ApiId" if http else "RestApiId")
                api_id = api["Ref"] if isinstance(api, dict) and "Ref" in api else None
                # An HttpApi event without Path and Method is the API's $default route: every request.
                path = properties.get("Path", "/{proxy+}" if http else None)
                method = properties.get("Method", "ANY" if http else None)
                if path is None or method is None:
                    raise TemplateError(f"{logical_id}.{event_name}: an Api event needs Path and Method")
                version = properties.get("PayloadFormatVersion", "2.0") if http else "1.0"
                route = ApiRoute(
                    name=event_name,
                    api=api_id or (IMPLICIT_HTTP_API if http else IMPLICIT_REST_API),
                    path=_string(self.resolve(path)),
                    method=_string(self.resolve(method)).upper(),
                    payload_version=_string(self.resolve(version)),
                )
                routes.append((logical_id, route))
        return routes

    def outputs(self) -> dict[str, str]:
        """The stack's Outputs, resolved (those naming what the local stack does not make are left out)."""
        found: dict[str, str] = {}
        for name, output in (self.document.get("Outputs") or {}).items():
            condition = output.get("Condition")
            if condition is not None and not self.condition(condition):
                continue
            try:
                found[name] = _string(self.resolve(output["Value"]))
            except (TemplateError, Unresolved, KeyError):
                continue
        return found

    def functions(self) -> list[FunctionSpec]:
        """Every function, resolved: call once the queues, tables and secrets exist."""
        return [self._function_spec(logical_id) for logical_id in self.of_type("AWS::Serverless::Function")]

    def _function_spec(self, logical_id: str) -> FunctionSpec:
        own = self.resources[logical_id].get("Properties") or {}
        properties = _merge_globals(self._globals, own)
        if properties.get("PackageType", "Zip") != "Zip" or "InlineCode" in properties:
            raise TemplateError(f"{logical_id}: only Zip functions with a CodeUri folder run locally")
        code_uri = self.resolve(properties.get("CodeUri"))
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local folder")
        layer_dirs: list[Path] = []
        for layer in properties.get("Layers") or []:
            target = layer.get("Ref") if isinstance(layer, dict) else None
            resource = self.resources.get(target or "")
            if resource is None or resource.get("Type") != "AWS::Serverless::LayerVersion":
                raise TemplateError(f"{logical_id}: only layers of this template run locally ({layer!r})")
            content = self.root / str(self.resolve(resource["Properties"]["ContentUri"]))
            # Lambda puts a layer's python/ folder on sys.path; SAM adds that folder at build time
            # when the package sits directly in ContentUri.
            layer_dirs.append(content / "python" if (content / "python").is_dir() else content)
        variables = self.resolve((properties.get("Environment") or {}).get("Variables") or {})
        name = _string(self.resolve(properties.get("FunctionName", f"{self.stack_name}-{logical_id}")))
        logging = self.resolve(properties.get("LoggingConfig") or {})
        snap_start = self.resolve(properties.get("SnapStart") or {}).get("ApplyOn") == "PublishedVersions"
        sqs: list[SqsSource] = []
        schedules: list[ScheduleSource] = []
        api: list[ApiRoute] = [route for owner, route in self.api_routes() if owner == logical_id]
        for event_name, event in (properties.get("Events") or {}).items():
            if event.get("Type") == "Schedule":
                spec = self.resolve(event.get("Properties") or {})
                schedules.append(
                    ScheduleSource(
                        name=event_name,
                        every=rate_seconds(str(spec["Schedule"])),
                        enabled=spec.get("Enabled", True) not in (False, "false", "False")
                        and spec.get("State", "ENABLED") == "ENABLED",
                    )
                )
                continue
            if event.get("Type") != "SQS":
                continue
            spec = self.resolve(event.get("Properties") or {})
            unsupported = sorted(
                set(spec)
                - {
                    "Queue",
                    "BatchSize",
                    "MaximumBatchingWindowInSeconds",
                    "FunctionResponseTypes",
                    "ScalingConfig",
                    "Enabled",
                }
            )
            if unsupported:
                raise TemplateError(f"{logical_id}.{event_name}: not emulated: {', '.join(unsupported)}")
            sqs.append(
                SqsSource(
                    name=event_name,
                    queue_arn=str(spec["Queue"]),
                    batch_size=int(spec.get("BatchSize", 10)),
                    window=float(spec.get("MaximumBatchingWindowInSeconds", 0)),
                    report_failures="ReportBatchItemFailures" in (spec.get("FunctionResponseTypes") or []),
                    max_concurrency=(
                        int(spec["ScalingConfig"]["MaximumConcurrency"])
                        if "MaximumConcurrency" in (spec.get("ScalingConfig") or {})
                        else None
                    ),
                    enabled=spec.get("Enabled", True) not in (False, "false", "False"),
                )
            )
        return FunctionSpec(
            logical_id=logical_id,
            name=name,
            handler=_string(self.resolve(properties["Handler"])),
            runtime=_string(self.resolve(properties.get("Runtime", ""))),
            code_dir=(self.root / code_uri).resolve(),
            layer_dirs=tuple(path.resolve() for path in layer_dirs),
            timeout=int(self.resolve(properties.get("Timeout", 3))),
            memory=int(self.resolve(properties.get("MemorySize", 128))),
            environment={key: _string(value) for key, value in variables.items()},
            snap_start=snap_start,
            log_group=_string(logging.get("LogGroup", f"/aws/lambda/{name}")),
            log_format=_string(logging.get("LogFormat", "Text")),
            application_log_level=_string(
                logging.get("ApplicationLogLevel", "INFO") if logging.get("LogFormat") == "JSON" else ""
            ),
            sqs=tuple(sqs),
            api=tuple(api),
            schedules=tuple(schedules),
            arn=f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{name}",
        )
