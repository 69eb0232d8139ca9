"""The local stack: the whole app from template.yaml on loopback, without Docker.

    moto (SQS, Secrets Manager, DynamoDB, S3) <- queues, table, secret, rules bucket from the template
    the Tencent emulator                    -- webhooks (signed) --> the API front
    the API front (API Gateway REST proxy)  -> the ingress instance
    one poller set per SQS event source      -> the moderator / actuator instances

``LocalStack(options).start()`` / ``.stop()``, or ``with LocalStack(options) as stack:``. Settings for
other tools go to ``<state_dir>/local.json`` (removed again on stop); each function's own logs go to
``<state_dir>/logs/<Function>.log``, and one line per invocation to the console.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .front import ApiFront, Route
from .motoserver import SQS_FAULTS_PATH, MotoProcess
from .pollers import SqsPoller
from .resources import Created, ResourceMaker
from .schedules import ScheduledInvoker
from .template import FunctionSpec, Template, TemplateError
from .workers import CrashOnGroup, FunctionPool, Result, WorkerSpec

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Of this process's environment, only what a Python runtime needs reaches a function (as in Lambda,
# nothing of the developer's AWS profile, endpoints or settings).
INHERITED = ("PATH", "HOME", "LANG", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT", "SSL_CERT_FILE", "SSL_CERT_DIR")


RULES_BUCKET = "RulesBucket"  # the template's rules bucket (its logical id)


def default_template() -> Path:
    """./template.yaml when there is one, else the repository's."""
    here = Path.cwd() / "template.yaml"
    return here if here.is_file() else Path(__file__).resolve().parents[3] / "template.yaml"


class LocalStackError(Exception):
    """The local stack could not start; the message says why."""


@dataclass(frozen=True)
class LocalStackOptions:
    """How to run the stack. Port 0 picks a free port (tests)."""

    port: int = 3000
    emulator_port: int = 9000
    aws_port: int = 5000
    host: str = "127.0.0.1"
    rules: Path | None = None
    aws_only: bool = False
    template: Path = field(default_factory=default_template)
    state_dir: Path | None = None  # default: .liveguard beside the template
    stage: str = "local"
    parameters: Mapping[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    sdk_app_id: int = 1400000001
    admin: str = "administrator"
    # None keeps each queue's VisibilityTimeout from the template (180 s here); tests and demos that
    # want failed records retried quickly set a few seconds.
    visibility_timeout: int | None = None
    # Instances per function. An SQS source runs min(its MaximumConcurrency, instances) invocations at
    # once; 1 (the default) is one instance per function, as when Lambda has scaled to one.
    instances: int = 1
    console: Callable[[str], None] | None = None  # one line per invocation; default: stdout
    # Test-only fault injection, off by default: a function's invocations raise on batches holding a
    # record of one message group, the first N times (workers.CrashOnGroup).
    crash_on_group: CrashOnGroup | None = None
    # Seconds between a Schedule event's invocations; None keeps the template's rate (the spool
    # drain's is a minute). Tests and demos that make SQS fail set a second or two.
    schedule_interval: float | None = None
    # RULES_REFRESH_SECONDS for the functions; None keeps the template's (30 s). Tests and demos that
    # publish rules and wait for them to be used set a second or two.
    rules_refresh_seconds: float | None = None


@dataclass(frozen=True)
class Invocation:
    at: float
    function: str
    records: str  # "1 request", "3 records"
    outcome: str  # the HTTP status, "ok", "1 of 3 failed", "error", "timeout", "crashed"
    duration_ms: float
    cold: bool
    detail: str
    error: dict[str, Any] | None


def _print(line: str) -> None:
    print(line, flush=True)


class LocalStack:
    def __init__(self, options: LocalStackOptions | None = None) -> None:
        self.options = options or LocalStackOptions()
        self.template_path = self.options.template.resolve()
        self.state_dir = (self.options.state_dir or self.template_path.parent / ".liveguard").resolve()
        self.settings_path = self.state_dir / "local.json"
        self.logs_dir = self.state_dir / "logs"
        self.invocations: deque[Invocation] = deque(maxlen=10_000)
        self.warnings: list[str] = []
        self.startup_seconds = 0.0
        self.aws_url = ""
        self.api_url = ""
        self.callback_url = ""
        self.emulator_url = ""
        self.secret: dict[str, Any] = {}
        self.created = Created()
        self.rules_version: str | None = None
        self.functions: list[FunctionSpec] = []
        self.template: Template | None = None
        self._console = self.options.console or _print
        self._console_lock = threading.Lock()
        self._moto: MotoProcess | None = None
        self._front: ApiFront | None = None
        self._emulator: Any = None
        self._pools: dict[str, FunctionPool] = {}
        self._pollers: list[SqsPoller] = []
        self._schedules: list[ScheduledInvoker] = []
        self._clients: dict[str, Any] = {}
        self._started = False
        self.rules_file: Path | None = None  # None: the rules shipped in the layer
        self.rules_summary = ""

    # --- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        started = time.perf_counter()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self._started = True
        self.startup_seconds = time.perf_counter() - started
        return self

    def _start(self) -> None:
        options = self.options
        if options.rules is not None and not options.rules.is_file():
            raise LocalStackError(f"{options.rules}: no such rules file")
        try:
            template = Template(
                self.template_path, {"Stage": options.stage, **options.parameters}, region=options.region
            )
        except (OSError, TemplateError) as error:
            raise LocalStackError(f"{self.template_path}: {error}") from error
        self.template = template
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._moto = MotoProcess(options.host, options.aws_port, self.logs_dir / "moto.log")
        self._moto.launch()
        # While moto starts: the imports this process needs (the emulator, boto3's models).
        import boto3  # noqa: F401

        from liveguard_local.emulator import server  # noqa: F401

        try:
            self.aws_url = self._moto.wait()
        except OSError as error:
            raise LocalStackError(f"moto: {error}") from error
        routes = template.api_routes()
        if options.aws_only:
            self.api_url = f"http://{options.host}:{options.port}"
        else:
            self._front = self._bind(lambda: ApiFront(options.host, options.port), "the API", options.port)
            self.api_url = self._front.url
        callback = next((route for _, route in routes if route.method == "POST"), None)
        self.callback_url = self.api_url + (callback.path if callback else "/")
        # Two tokens, as Tencent has two sides (Live REST-configured, Chat console-configured): every
        # local run exercises the ingress choosing the token by the callback's side.
        key, token, chat_token = secrets.token_hex(16), secrets.token_hex(16), secrets.token_hex(16)
        self._emulator = self._bind(
            lambda: self._make_emulator(key, token, chat_token), "the emulator", options.emulator_port
        )
        self._emulator.start()
        self.emulator_url = self._emulator.base_url
        self.secret = {
            "SdkAppId": options.sdk_app_id,
            "SecretKey": key,
            "AdminIdentifier": options.admin,
            "CallbackToken": token,
            "ChatCallbackToken": chat_token,
            "ApiBaseUrl": self.emulator_url,
        }
        maker = ResourceMaker(
            template, self._client, secret_value=self.secret, visibility_timeout=options.visibility_timeout
        )
        try:
            self.created = maker.create_all()
            self.functions = template.functions()
        except TemplateError as error:
            raise LocalStackError(f"{self.template_path}: {error}") from error
        self.warnings.extend(maker.created.warnings)
        self._check_rules(self.functions)
        self.rules_version = self._publish_rules()
        for spec in self.functions:
            if spec.runtime and spec.runtime != f"python{sys.version_info[0]}.{sys.version_info[1]}":
                self.warnings.append(
                    f"{spec.logical_id}: runtime {spec.runtime}, run here on Python {sys.version}"
                )
        if not options.aws_only:
            self._start_functions(template)
        self._write_settings()

    def _publish_rules(self) -> str | None:
        """``--rules FILE``: FILE published to the rules bucket as its first version, as `liveguard rules
        publish` would (validated the same way), before the functions' cold starts read it; its
        ``<version id>:<sha12>``. Without --rules nothing is published: the functions run the
        layer's defaults, as a freshly deployed stack does until its first publish."""
        bucket = self.created.buckets.get(RULES_BUCKET)
        if self.options.rules is None or bucket is None:
            return None
        from liveguard.aws.rules_store import RulesStore
        from liveguard.rules.bundle import sha256_hex, short_sha
        from liveguard.rules.loader import RulesInvalid, read_rules_bundle

        try:
            _, bundle = read_rules_bundle(self.options.rules)
        except RulesInvalid as invalid:
            raise LocalStackError(f"{self.options.rules}: invalid\n{invalid}") from None
        body = bundle.to_bytes()
        sha = sha256_hex(body)
        version = RulesStore(self._client("s3"), bucket).publish(
            body, sha256=sha, published_by="liveguard local up", source=self.options.rules.name
        )
        return f"{version}:{short_sha(sha)}"

    def _check_rules(self, functions: list[FunctionSpec]) -> None:
        """Which rules file the functions run (--rules, else a RULES_FILE the template gives them, else
        the layer's defaults) and what it holds, for the startup lines; a file the functions would
        refuse stops the stack here, with its mistakes, rather than as a function's failed init."""
        from liveguard.rules.loader import RulesInvalid, load_rules

        named = {spec.environment.get("RULES_FILE") for spec in functions} - {None, ""}
        if self.options.rules is not None:
            self.rules_file = self.options.rules.resolve()
        elif named:
            self.rules_file = (self.template_path.parent / sorted(str(name) for name in named)[0]).resolve()
        try:
            self.rules_summary = load_rules(self.rules_file).summary()
        except RulesInvalid as invalid:
            where = self.rules_file or "the layer's default rules"
            raise LocalStackError(f"{where}: invalid\n{invalid}") from None

    def rules_line(self) -> str:
        """The rules the functions run, one line: the file (absolute) or the layer's defaults, and
        how many rules and term lists it holds."""
        where = str(self.rules_file) if self.rules_file is not None else "the layer's defaults"
        return f"{where}: {self.rules_summary}"

    def _bind(self, make: Callable[[], Any], what: str, port: int) -> Any:
        try:
            return make()
        except OSError as error:
            raise LocalStackError(
                f"{what}: cannot listen on {self.options.host}:{port}: {error.strerror}"
            ) from error

    def _make_emulator(self, key: str, token: str, chat_token: str) -> Any:
        from liveguard_local.emulator.server import Emulator, EmulatorConfig

        return Emulator(
            EmulatorConfig(
                sdk_app_id=self.options.sdk_app_id,
                secret_key=key,
                admin=self.options.admin,
                host=self.options.host,
                port=self.options.emulator_port,
                webhook_url=self.callback_url,
                callback_token=token,
                chat_callback_token=chat_token,
            )
        )

    def _start_functions(self, template: Template) -> None:
        options = self.options
        crash = options.crash_on_group
        for spec in self.functions:
            worker = WorkerSpec(
                function=spec.logical_id,
                name=spec.name,
                arn=spec.arn,
                handler=spec.handler,
                code_dir=str(spec.code_dir),
                layer_dirs=tuple(str(path) for path in spec.layer_dirs),
                environment=self.function_environment(spec),
                memory=spec.memory,
                timeout=float(spec.timeout),
                log_path=str(self.logs_dir / f"{spec.logical_id}.log"),
                log_group=spec.log_group,
                crash=crash if crash is not None and crash.function == spec.logical_id else None,
            )
            self._pools[spec.logical_id] = FunctionPool(worker, max(1, options.instances))
        for pool in self._pools.values():  # every cold start at once
            pool.spawn()
        for logical_id, pool in self._pools.items():
            error = pool.wait_ready()
            if error is not None:
                kind, message = error.get("errorType"), error.get("errorMessage")
                log = self.logs_dir / f"{logical_id}.log"
                raise LocalStackError(
                    f"{logical_id} failed to initialise ({kind}): {message}\n(its log: {log})"
                )
        assert self._front is not None
        routes = [
            Route.of(function, route, template.api(route.api)) for function, route in template.api_routes()
        ]
        self._front.serve(routes, lambda function, event: self._pools[function].invoke(event), self._report)
        for spec in self.functions:
            for source in spec.sqs:
                if not source.enabled:
                    continue
                url = self.created.queue_arns.get(source.queue_arn)
                if url is None:
                    raise LocalStackError(
                        f"{spec.logical_id}.{source.name}: no local queue {source.queue_arn}"
                    )
                pool = self._pools[spec.logical_id]
                poller = SqsPoller(
                    spec.logical_id,
                    source,
                    url,
                    region=options.region,
                    clients=lambda: self._new_client("sqs"),
                    invoke=pool.invoke,
                    report=self._report,
                    concurrency=min(source.max_concurrency or pool.size, pool.size),
                )
                self._pollers.append(poller)
                poller.start()
        for spec in self.functions:
            for schedule in spec.schedules:
                if not schedule.enabled:
                    continue
                invoker = ScheduledInvoker(
                    spec.logical_id,
                    schedule,
                    region=options.region,
                    invoke=self._pools[spec.logical_id].invoke,
                    report=self._report,
                    every=options.schedule_interval,
                )
                self._schedules.append(invoker)
                invoker.start()

    def stop(self) -> None:
        """Stop everything that was started, in order; safe to call twice or after a failed start."""
        for poller in self._pollers:
            poller.signal_stop()
        for invoker in self._schedules:
            invoker.signal_stop()
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None
        if self._front is not None:
            self._front.stop()
            self._front = None
        for poller in self._pollers:
            poller.stop()
        self._pollers.clear()
        for invoker in self._schedules:
            invoker.stop()
        self._schedules.clear()
        for pool in self._pools.values():
            pool.stop()
        self._pools.clear()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self._started:
            self._remove_settings()
        self._started = False

    # --- AWS side -----------------------------------------------------------------------------------

    def run_scheduled(self, function: str) -> Result:
        """Invoke a function that has a Schedule event now, as its rule would (for tests that must
        choose when the spool drain runs); the result, also reported like a scheduled run's."""
        invoker = next((invoker for invoker in self._schedules if invoker.function == function), None)
        if invoker is None:
            raise LocalStackError(f"{function} has no enabled Schedule event in this stack")
        return invoker.run_once()

    def scale(self, function: str, instances: int) -> None:
        """Give ``function`` up to ``instances`` instances (a front's invocations then run that many at
        once; an SQS source's pollers stay as many as they were), as Lambda scales a function under
        load. Benchmarks that drive the API front at a high rate use it."""
        failure = self._pools[function].grow(instances)
        if failure is not None:
            raise LocalStackError(
                f"{function}: a new instance failed its init: {failure.get('errorMessage')}"
            )

    def pollers(self, function: str) -> list[SqsPoller]:
        """``function``'s SQS event source mappings (its pollers, one per source), to pause and
        resume (benchmarks fill a queue with a backlog that way)."""
        return [poller for poller in self._pollers if poller.function == function]

    def refuse_sqs_sends(self, queue_names: list[str]) -> None:
        """Make moto refuse SendMessage and SendMessageBatch to these queues (by name) with HTTP 503,
        as SQS does when unavailable; ``[]`` makes it take them again (motoserver's fault switch)."""
        import httpx

        response = httpx.post(
            f"{self.aws_url}{SQS_FAULTS_PATH}", json={"refuse_send": queue_names}, timeout=5
        )
        response.raise_for_status()

    def _new_client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.aws_url,
            region_name=self.options.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._new_client(service)
        return self._clients[service]

    def function_variables(self, spec: FunctionSpec) -> dict[str, str]:
        """The template's variables for the function, with boto3 pointed at moto (over whatever the
        template declares for AWS_ENDPOINT_URL, a placeholder for `sam local`) and --rules applied."""
        variables = {**spec.environment, "AWS_ENDPOINT_URL": self.aws_url}
        if self.options.rules is not None:
            variables["RULES_FILE"] = str(self.options.rules.resolve())
        if self.options.rules_refresh_seconds is not None and "RULES_BUCKET" in variables:
            variables["RULES_REFRESH_SECONDS"] = f"{self.options.rules_refresh_seconds:g}"
        return variables

    def function_environment(self, spec: FunctionSpec) -> dict[str, str]:
        """What the function's process sees: Lambda's variables, the template's, AWS pointed at moto
        with fake credentials (last: nothing in the template can send a function to real AWS)."""
        inherited = {
            key: value
            for key, value in os.environ.items()
            if key in INHERITED or key.startswith("LC_") or key == "VIRTUAL_ENV"
        }
        return {
            **inherited,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            **(
                {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": spec.application_log_level}
                if spec.log_format == "JSON"
                else {}
            ),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if spec.snap_start else "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime or 'python'}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "TZ": "UTC",
            **self.function_variables(spec),
            **FAKE_CREDENTIALS,
            "AWS_REGION": self.options.region,
            "AWS_DEFAULT_REGION": self.options.region,
            "AWS_ENDPOINT_URL": self.aws_url,
        }

    # --- console and settings -----------------------------------------------------------------------

    def _report(self, function: str, records: str, result: Result, outcome: str, detail: str) -> None:
        """One console line per invocation: time, function, records, outcome, duration, then details."""
        invocation = Invocation(
            at=time.time(),
            function=function,
            records=records,
            outcome=outcome or result.status,
            duration_ms=result.duration_ms,
            cold=result.cold,
            detail=detail,
            error=result.error,
        )
        clock = time.strftime("%H:%M:%S", time.localtime(invocation.at))
        clock += f".{int(invocation.at * 1000) % 1000:03d}"
        line = (
            f"{clock}  {function:<18} {records:<10} {invocation.outcome:<14}"
            f" {invocation.duration_ms:6.0f} ms{' cold' if result.cold else '     '}  {detail}"
        ).rstrip()
        if result.error:
            message = str(result.error.get("errorMessage", "")).strip().splitlines()
            line += f"  {result.error.get('errorType')}: {message[-1][:200] if message else ''}"
        with self._console_lock:  # the record and its line together, in the same order
            self.invocations.append(invocation)
            self._console(line)

    def settings(self) -> dict[str, Any]:
        """What local.json holds."""
        return {
            "stage": self.options.stage,
            "region": self.options.region,
            "aws_only": self.options.aws_only,
            "pid": os.getpid(),
            "template": str(self.template_path),
            "endpoints": {
                "api": self.api_url,
                "callback": self.callback_url,
                "emulator": self.emulator_url,
                "aws": self.aws_url,
            },
            "aws_credentials": {
                **FAKE_CREDENTIALS,
                "AWS_REGION": self.options.region,
                "AWS_DEFAULT_REGION": self.options.region,
                "AWS_ENDPOINT_URL": self.aws_url,
            },
            # The template's Outputs, as `sam deploy` would print them, for this stack.
            "outputs": self._outputs(),
            "queues": dict(self.created.queues),
            "tables": dict(self.created.tables),
            "secrets": dict(self.created.secrets),
            "buckets": dict(self.created.buckets),
            "rules_version": self.rules_version,
            "secret": dict(self.secret),
            "functions": {
                spec.logical_id: {
                    "name": spec.name,
                    "handler": spec.handler,
                    "log": str(self.logs_dir / f"{spec.logical_id}.log"),
                    "environment": self.function_variables(spec),
                }
                for spec in self.functions
            },
            "logs": str(self.logs_dir),
            # The rules the functions run: the file, or null for the layer's defaults.
            "rules": {
                "file": str(self.rules_file) if self.rules_file else None,
                "summary": self.rules_summary,
            },
        }

    def _outputs(self) -> dict[str, str]:
        outputs = self.template.outputs() if self.template is not None else {}
        if "CallbackUrl" in outputs:
            outputs["CallbackUrl"] = self.callback_url
        return outputs

    def _write_settings(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        partial = self.settings_path.with_suffix(".json.tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(self.settings(), file, indent=2)
            file.write("\n")
        partial.replace(self.settings_path)

    def _remove_settings(self) -> None:
        try:
            if json.loads(self.settings_path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                self.settings_path.unlink()
        except (OSError, ValueError):
            pass

    def describe(self) -> str:
        """The startup summary printed by `liveguard local up`."""
        mode = "moto and the emulator only (--aws-only)" if self.options.aws_only else "the whole app"
        lines = [
            f"LiveGuard local stack, {mode}, from {self.template_path.name} (Stage={self.options.stage}), "
            f"up in {self.startup_seconds:.1f} s",
            f"  aws       {self.aws_url}  (moto: SQS, Secrets Manager, DynamoDB, S3; any access key)",
            f"  emulator  {self.emulator_url}  (SdkAppId {self.options.sdk_app_id}, "
            f"admin {self.options.admin}, signed webhooks -> {self.callback_url})",
        ]
        if self.options.aws_only:
            lines.append(
                f"  api       not served: start it with `sam local start-api --port {self.options.port}`"
            )
        else:
            lines.append(f"  api       {self.callback_url}")
            lines.append(f"  rules     {self.rules_line()}")
        for logical_id, url in self.created.queues.items():
            lines.append(f"  queue     {logical_id}: {url}")
        for logical_id, name in self.created.tables.items():
            lines.append(f"  table     {logical_id}: {name}")
        for logical_id, arn in self.created.secrets.items():
            lines.append(f"  secret    {logical_id}: {arn}")
        for logical_id, name in self.created.buckets.items():
            line = f"  bucket    {logical_id}: {name}"
            if logical_id == RULES_BUCKET:
                line += (
                    f" (the rules above, published as version {self.rules_version}"
                    if self.rules_version
                    else " (nothing published: the functions run the rules above"
                ) + "; `liveguard rules publish FILE` changes them)"
            lines.append(line)
        for poller in self._pollers:
            source, queue = poller.source, poller.queue_url.rsplit("/", 1)[-1]
            lines.append(
                f"  poller    {poller.function} <- {queue} (batch {source.batch_size}"
                + (f", window {source.window:g} s" if source.window else "")
                + (", partial batch responses" if source.report_failures else "")
                + f", {poller.concurrency} at once"
                + (f" of MaximumConcurrency {source.max_concurrency}" if source.max_concurrency else "")
                + ")"
            )
        for invoker in self._schedules:
            rate = f"every {invoker.every:g} s"
            if invoker.every != invoker.source.every:
                rate += f" (the template says {invoker.source.every:g} s)"
            lines.append(f"  schedule  {invoker.function} {rate}")
        if not self.options.aws_only:
            lines.append(
                f"  faults    POST {self.aws_url}{SQS_FAULTS_PATH} "
                '{"refuse_send": ["<queue name>"]} makes SQS refuse SendMessage ([] stops it)'
            )
        for warning in self.warnings:
            lines.append(f"  note      {warning}")
        lines.append(f"  settings  {self.settings_path}  (endpoints, queues, credentials)")
        lines.append(f"  logs      {self.logs_dir}/")
        return "\n".join(lines)


def run(options: LocalStackOptions) -> int:
    """`liveguard local up`: start, print the summary, run until SIGINT or SIGTERM, stop."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = LocalStack(options)
    try:
        try:
            stack.start()
        except LocalStackError as error:
            print(f"liveguard local up: {error}", file=sys.stderr)
            return 1
        if stop.is_set():
            return 0
        print(stack.describe(), flush=True)
        print("Ctrl-C stops everything.", flush=True)
        while not stop.wait(0.5):
            pass
        print("stopping...", flush=True)
        return 0
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
