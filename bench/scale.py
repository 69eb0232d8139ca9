"""Scale benchmarks (issue 11): what a webhook costs in AWS calls and dollars, and how far the
template's defaults let the app go. Each figure is printed next to its target.

1. AWS calls per webhook, by callback type and outcome, counted at moto's server: the local stack
   (template.yaml's functions, queues, table, pollers and API front, started by this script) runs
   with a counting proxy between every AWS client and moto. Each function gets its own access key,
   so each call is put down to the ingress, the moderator, the actuator or an event source mapping
   (Lambda's SQS pollers, which AWS bills too). Webhooks are POSTed one at a time, signed as Tencent
   signs them, each in its own room, and counted until the stack is quiet again. The issue's mix
   (70% comments, 3% of them moderated; 20% enter and leave; 5% gifts; 5% other) weighs them.
   Reads of the spool's activity mark (once per ingress instance per second of traffic, not per
   webhook) are shown apart. Target: a webhook no rule listens to makes 0 SQS and 0 DynamoDB calls.
2. $ per million webhooks at that mix, from the dated price table below: API Gateway, Lambda
   (requests, and GB-s at each function's MemorySize in template.yaml over the durations measured
   here plus the stated in-region latency of each AWS call counted), SQS FIFO (64 KB chunks; the
   pollers' calls with batches as full as the template's BatchSize, as at a big app's peak),
   DynamoDB on demand (request units estimated from the item sizes seen at moto) and CloudWatch
   Logs ingestion (the bytes the functions logged here: their other lines per record, their EMF
   lines and Lambda's own START/END/REPORT lines, unless its LoggingConfig drops them, per
   invocation, so per batch at the pollers' fill). Target: <= $2.
3. The app-wide ceiling the template's defaults allow (read from template.yaml): the API stage's
   throttle, the moderator's and actuator's MaximumConcurrency over their per-webhook time, Lambda's
   default account concurrency (1,000) and API Gateway's account quota, with the binding one named;
   also shown, not a default: Tencent's per-command limit and any DynamoDB partition key every room
   writes to (1,000 write units/s). Target: no default caps the app below 5,000 webhooks/s.
4. One hot room (bench/hot_room.py), on the same stack once the counting is done, with the proxy
   now sleeping each call's stated in-region latency (LATENCY_S: DynamoDB 5 ms, SQS 10 ms) before it
   reaches moto (once per call: a long poll's wait is moto's own). (a) The moderator's pollers are
   paused, a backlog of 2,400 queued events of one room (before-send comments of many users, 3% of
   them moderated, from ten spammers who get muted and banned, and gifts) is POSTed through the front
   and the real ingress, and the pollers resume: events/s of the room's FIFO group, the median of
   five windows of consecutive batches, each batch timed in the poller (receive, invocation,
   deletes), with the moderator's AWS calls and moto's share; also shown, as information, the rate
   less moto's own time and the rate the stated latency alone allows. Lambda's one batch at a time
   per message group is moto's doing (made strict in liveguard_local.stack.motoserver), whatever the
   pollers. The target (>= 200 webhooks/s of the room) is checked, as every figure here, at the
   issue's mix, where 40% of a room's webhooks are queued (the rest never reach its group); the
   queued events/s, what a room whose every webhook is queued would sustain, is printed beside it.
   (b) The ingress grown to 4 instances (LocalStack.scale, as Lambda adds concurrency), three runs of
   6 s of the issue's mix POSTed through the front, open-loop at 150/s from 16 connections; in each,
   one user's third moderated comment earns a mute: the time from its POST to
   mute_member reaching the emulator (its call record), median over the runs, target <= 2 s, met
   only if the front also kept up (>= 95% of the rate sent, every answer 200). The CPU seconds of
   each process of the stack over those runs are printed: on a small shared machine, moto and this
   process (the front, the proxy, the emulator, the pollers) are what runs out.

Run with `make bench` (or `python bench/scale.py`); about three minutes.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import math
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

# Only the standard library at module level: the stack's function processes are spawned, and a
# spawned process imports the main module (this one) before its function's environment is set.

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
INGRESS, MODERATOR, ACTUATOR, DRAIN = (
    "IngressFunction",
    "ModeratorFunction",
    "ActuatorFunction",
    "SpoolDrainFunction",
)
KEY_PREFIX = "BENCH"  # a function's access key is BENCH<logical id>; the stack's own clients use another

# --- prices ----------------------------------------------------------------------------------------

# us-east-1, first pricing tier, no free tier; looked up 2026-11-29.
PRICES_DATE = "2026-11-29"
PRICES: dict[str, tuple[float, str]] = {
    "api_rest_per_million": (
        3.50,
        "https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/"
        "cost-optimization.html (REST: first 333M/month $3.50 per million), "
        "https://aws.amazon.com/api-gateway/pricing/",
    ),
    "api_http_per_million": (
        1.00,
        "same page (HTTP API: first 300M/month $1.00 per million, metered in 512 KB increments)",
    ),
    "lambda_request_per_million": (0.20, "https://aws.amazon.com/lambda/pricing/ ($0.20 per 1M requests)"),
    "lambda_arm_gb_second": (
        0.0000133334,
        "https://aws.amazon.com/lambda/pricing/ (Arm, first 6B GB-s/month: $0.0000133334 per GB-s)",
    ),
    "sqs_fifo_per_million": (
        0.50,
        "https://aws.amazon.com/sqs/pricing/ (FIFO $0.50 per million requests; each 64 KB chunk of a "
        "request's payload is one request)",
    ),
    "ddb_wru_per_million": (
        0.625,
        "https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.625 per million write request units, "
        "1 KB each)",
    ),
    "ddb_rru_per_million": (
        0.125,
        "same page ($0.125 per million read request units: 4 KB strongly consistent, 8 KB eventually)",
    ),
    "logs_ingest_per_gb": (
        0.50,
        "https://aws.amazon.com/cloudwatch/pricing/ (Logs, Standard class: $0.50 per GB ingested)",
    ),
}
# Stated, not measured here: in-region latency of one call (the figures), Tencent's REST
# answer from us-east-1, and the bytes of Lambda's START/END/REPORT lines per invocation.
LATENCY_S = {"dynamodb": 0.005, "sqs": 0.010, "secretsmanager": 0.010}
TENCENT_CALL_S = 0.100
PLATFORM_LOG_BYTES = 350
# Limits that are not the template's, each with where it is written down:
# Lambda's concurrent executions per account and Region, by default,
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
LAMBDA_ACCOUNT_CONCURRENCY = 1000
# API Gateway's throttle quota per account and Region (burst 5,000),
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
API_ACCOUNT_RPS = 10_000
# One DynamoDB partition's writes per second,
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html
PARTITION_WRU_PER_S = 1000
# An on-demand table's read and write request units per second, by default,
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
TABLE_ON_DEMAND_UNITS_PER_S = 40_000
# Tencent's calls per second per REST command (docs/architecture.md, "Why two queues")
TENCENT_PER_COMMAND_PER_S = 200
TARGET_COST = 2.0
TARGET_CEILING = 5000.0

# --- the mix ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    command: str
    weight: float  # share of all webhooks at the mix
    moderated: bool = False
    event_cause: str = ""


COMMENTS, MODERATED, MEMBERS, GIFTS, OTHER = 0.70, 0.03, 0.20, 0.05, 0.05
SCENARIOS = [
    # A comment is a before- and an after-callback; 3% of comments are moderated (the before-callback
    # masks and strikes; the delivered copy's after-callback is an ordinary one).
    Scenario("comment, clean (before)", "Group.CallbackBeforeSendMsg", COMMENTS / 2 * (1 - MODERATED)),
    Scenario("comment, moderated (before)", "Group.CallbackBeforeSendMsg", COMMENTS / 2 * MODERATED, True),
    Scenario("comment (after)", "Group.CallbackAfterSendMsg", COMMENTS / 2),
    Scenario("enter", "Live.CallbackAfterMemberStateChanged", MEMBERS / 2, event_cause="Enter"),
    Scenario("leave", "Live.CallbackAfterMemberStateChanged", MEMBERS / 2, event_cause="Leave"),
    Scenario("gift", "Live.CallbackBeforeSendGift", GIFTS),
    Scenario("other: seat change", "Mic.CallbackAfterSeatInfoChanged", OTHER / 2),
    Scenario("other: follow", "Follow.CallbackAfterFollowAdd", OTHER / 2),
]
# One user's moderated comments in a row: strikes 1-2, then a mute at 3, 4 and 5, a ban at 6 (the
# default rules), so the moderated figure carries the sanctions moderation leads to.
MODERATED_RUN = 6
BANNED = "buy followers"

# --- counting at moto ------------------------------------------------------------------------------

SERVICES = {"AmazonSQS": "sqs", "DynamoDB_20120810": "dynamodb", "secretsmanager": "secretsmanager"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
CREDENTIAL = re.compile(r"Credential=([^/]+)/")


@dataclass
class Call:
    at: float
    caller: str  # a function's logical id, or "pollers"
    service: str
    operation: str
    requests: int  # billed requests: SQS counts each 64 KB chunk of the payload
    messages: int = 0  # messages a ReceiveMessage returned
    read_units: float = 0.0
    write_units: float = 0.0
    partition: str = ""  # the pk a DynamoDB item call names
    queue: str = ""
    elapsed: float = 0.0  # seconds moto took to answer: the function waited as long


def _item_bytes(item: Any) -> int:
    """An item's size as DynamoDB bills it, roughly: names and values, from the wire's JSON."""
    return len(json.dumps(item, separators=(",", ":"))) if item else 0


def _classify(caller: str, target: str, body: bytes, answer: bytes, elapsed: float) -> Call:
    prefix, _, operation = target.partition(".")
    service = SERVICES.get(prefix, prefix)
    call = Call(time.monotonic(), caller, service, operation, 1, elapsed=elapsed)
    try:
        request = json.loads(body or b"{}")
        reply = json.loads(answer or b"{}")
    except ValueError:
        return call
    if service == "sqs":
        call.requests = max(1, math.ceil(len(body) / 65536))
        call.queue = str(request.get("QueueUrl", "")).rsplit("/", 1)[-1]
        call.messages = len(reply.get("Messages") or [])
    elif service == "dynamodb":
        key = request.get("Key") or request.get("Item") or {}
        call.partition = str((key.get("pk") or {}).get("S", ""))
        if operation in WRITES:
            size = _item_bytes(request.get("Item") or reply.get("Attributes") or key)
            call.write_units = max(1, math.ceil(size / 1024))
        elif operation in ("GetItem", "Query"):
            items = [reply["Item"]] if reply.get("Item") else reply.get("Items") or []
            consistent = bool(request.get("ConsistentRead"))
            units = max(1, math.ceil(sum(map(_item_bytes, items)) / 4096))
            call.read_units = units if consistent else units / 2
            if operation == "Query":
                call.partition = str(
                    ((request.get("ExpressionAttributeValues") or {}).get(":pk") or {}).get("S", "")
                )
    return call


class Counting(BaseHTTPRequestHandler):
    """Forwards each request to moto as it came, and records it."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls
    upstream: tuple[str, int] = ("127.0.0.1", 0)
    calls: ClassVar[list[Call]] = []
    lock = threading.Lock()
    # Seconds slept before forwarding a call, by service: the stated in-region latency (LATENCY_S),
    # set only for the hot room; the counting part runs without it.
    latency: ClassVar[dict[str, float]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target")
        if self.latency and target:
            # Once per call, before moto: a long poll's wait is moto's own, not charged again.
            time.sleep(self.latency.get(SERVICES.get(target.partition(".")[0], ""), 0.0))
        started = time.monotonic()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        # One connection to moto per client connection, kept open as the client keeps its own.
        connection: http.client.HTTPConnection | None = getattr(self, "_upstream", None)
        try:
            if connection is None:
                raise ConnectionError
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
        except (ConnectionError, http.client.HTTPException):  # none yet, or moto closed it: a new one
            if connection is not None:
                connection.close()
            started = time.monotonic()
            connection = self._upstream = http.client.HTTPConnection(*self.upstream, timeout=60)
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
        answer = response.read()
        elapsed = time.monotonic() - started
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                self.send_header(name, value)
        # A HEAD's answer has no body but says the object's length, as moto said it.
        length = response.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(answer)))
        try:
            self.end_headers()
            self.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError):
            # The caller gave up waiting (the ingress bounds its calls): moto did the call all the same.
            self.close_connection = True
        if target:
            found = CREDENTIAL.search(self.headers.get("Authorization", ""))
            key = found.group(1) if found else ""
            caller = key.removeprefix(KEY_PREFIX) if key.startswith(KEY_PREFIX) else "pollers"
            call = _classify(caller, target, body, answer, elapsed)
            with self.lock:
                self.calls.append(call)

    def finish(self) -> None:
        super().finish()
        upstream = getattr(self, "_upstream", None)
        if upstream is not None:
            upstream.close()

    # SQS and DynamoDB are POSTs; the rules bucket's S3 calls (the stack creating it, the functions'
    # conditional GETs) are forwarded too, and not counted: not X-Amz-Target calls, and a function
    # checks the bucket once per RULES_REFRESH_SECONDS whatever the traffic (docs/architecture.md).
    do_POST = _forward  # noqa: N815 - http.server's names
    do_GET = _forward  # noqa: N815
    do_PUT = _forward  # noqa: N815
    do_HEAD = _forward  # noqa: N815
    do_DELETE = _forward  # noqa: N815


class CountingProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        handler = type("Handler", (Counting,), {"upstream": (parts.hostname, parts.port), "calls": []})
        self.handler: type[Counting] = handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def calls(self) -> list[Call]:
        with self.handler.lock:
            return list(self.handler.calls)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def counted_stack_class() -> type:
    """The local stack with every AWS client behind a CountingProxy and one access key per function
    (a class made here: liveguard_local is imported only once main runs)."""
    from liveguard_local.stack import LocalStack

    class CountedStack(LocalStack):
        proxy: CountingProxy | None = None

        def proxy_url(self) -> str:
            if self.proxy is None:
                self.proxy = CountingProxy(self.aws_url)
            return self.proxy.url

        def function_environment(self, spec: Any) -> dict[str, str]:
            environment: dict[str, str] = super().function_environment(spec)
            return {
                **environment,
                "AWS_ENDPOINT_URL": self.proxy_url(),
                "AWS_ACCESS_KEY_ID": f"{KEY_PREFIX}{spec.logical_id}",
            }

        def _new_client(self, service: str) -> Any:  # the pollers and the stack's own set-up
            import boto3

            return boto3.session.Session().client(
                service,
                endpoint_url=self.proxy_url(),
                region_name=self.options.region,
                aws_access_key_id="stack",
                aws_secret_access_key="testing",
            )

        def stop(self) -> None:
            super().stop()
            if self.proxy is not None:
                self.proxy.stop()

    return CountedStack


# --- webhooks --------------------------------------------------------------------------------------


class Webhooks:
    """Signed callbacks POSTed to the stack's callback URL, each side with its own token."""

    def __init__(self, stack: Any) -> None:
        import httpx

        from liveguard.tencent.webhook_signature import webhook_sign
        from liveguard_local.events import CALLBACK_BODIES

        secret = stack.settings()["secret"]
        self.tokens = {
            "live": secret["CallbackToken"],
            "chat": secret.get("ChatCallbackToken") or secret["CallbackToken"],
        }
        self.sign = webhook_sign
        self.bodies = CALLBACK_BODIES
        self.sdk_app_id = str(secret["SdkAppId"])
        self.url = stack.callback_url
        self.http = httpx.Client(timeout=10)
        self.serial = 0

    def body(self, scenario: Scenario, room: str, user: str) -> dict[str, Any]:
        self.serial += 1
        body = copy.deepcopy(self.bodies[scenario.command])
        now_ms = int(time.time() * 1000)
        for name in ("RoomId", "GroupId"):
            if name in body:
                body[name] = room
        if "EventTime" in body:
            body["EventTime"] = str(now_ms) if isinstance(body["EventTime"], str) else now_ms
        for name in ("From_Account", "Operator_Account"):
            if name in body:
                body[name] = user
        if "MsgBody" in body:
            text = f"hello {self.serial}" + (f", {BANNED}" if scenario.moderated else "")
            body["MsgBody"] = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
            body["MsgId"] = f"scale-{self.serial}"
            body["Random"] = self.serial
        if scenario.event_cause:
            body["EventCause"] = scenario.event_cause
            body["EventType"] = "Online" if scenario.event_cause == "Enter" else "Offline"
            body["MemberList"] = [{"Member_Account": user}]
        if "GiftWater" in body:
            body["GiftWater"] = {**body["GiftWater"], "From_Account": user, "Time": now_ms // 1000}
        return body

    def query(self, command: str) -> dict[str, str]:
        """The query string Tencent sends with ``command``, signed now with its side's token."""
        side = "live" if command.startswith(("Live.", "Mic.")) else "chat"
        stamp = int(time.time())
        return {
            "SdkAppid": self.sdk_app_id,
            "CallbackCommand": command,
            "contenttype": "json",
            "ClientIP": "203.0.113.7",
            "OptPlatform": "Android",
            "RequestTime": str(stamp),
            "Sign": self.sign(self.tokens[side], stamp),
        }

    def post(self, scenario: Scenario, room: str, user: str) -> int:
        response = self.http.post(
            self.url,
            params=self.query(scenario.command),
            content=json.dumps(self.body(scenario, room, user)).encode(),
        )
        return response.status_code


# --- measuring -------------------------------------------------------------------------------------


@dataclass
class Measured:
    """What one scenario's webhooks cost, summed over ``webhooks``."""

    webhooks: int = 0
    calls: list[Call] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # ms per function
    invocations: Counter[str] = field(default_factory=Counter)
    # Bytes each function logged: its EMF lines (one set per invocation: at a peak, per batch) and
    # its other lines (per record).
    log_bytes: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    def per(self, value: float) -> float:
        return value / self.webhooks if self.webhooks else 0.0

    def counted(self) -> list[Call]:
        """The calls a webhook caused: not the pollers' empty receives, not the drain's schedule, not
        the spool's activity mark (read once per instance-second, shown apart)."""
        return [
            c
            for c in self.calls
            if c.caller != DRAIN
            and not (c.operation == "ReceiveMessage" and c.messages == 0)
            and c.partition != "SPOOL#ACTIVE"
        ]

    def requests(self, service: str, caller: str | None = None) -> float:
        return self.per(
            sum(c.requests for c in self.counted() if c.service == service and caller in (None, c.caller))
        )


class Bench:
    def __init__(self, stack: Any, quiet: float) -> None:
        self.stack = stack
        self.proxy: CountingProxy = stack.proxy
        self.webhooks = Webhooks(stack)
        self.quiet = quiet
        self._posted = time.monotonic()

    def _settle(self, since: int) -> None:
        """Until no call but an empty receive has come for ``quiet`` seconds (10 s at most)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.05)
            active = [
                c
                for c in self.proxy.calls[since:]
                if c.caller != DRAIN and not (c.operation == "ReceiveMessage" and c.messages == 0)
            ]
            last = active[-1].at if active else 0.0
            if time.monotonic() - max(last, self._posted) >= self.quiet:
                return

    def enter_room(self, room: str, user: str) -> None:
        """Create ``room`` and have ``user`` enter it through the emulator (their webhooks and their
        effects run to the end here, uncounted)."""
        emulator = f"{self.stack.emulator_url}/emulator/v1/client"
        since = len(self.proxy.calls)
        self._posted = time.monotonic()
        self.webhooks.http.post(
            f"{emulator}/create_room",
            json={"UserId": f"host-{room}", "Platform": "Android", "RoomId": room, "RoomName": "scale"},
        ).raise_for_status()
        self.webhooks.http.post(
            f"{emulator}/enter_room", json={"UserId": user, "Platform": "Android", "RoomId": room}
        ).raise_for_status()
        self._settle(since)

    def _log_sizes(self) -> dict[str, int]:
        """Each function's log file size (0 before it logged anything)."""
        logs = self.stack.logs_dir
        return {
            f: (logs / f"{f}.log").stat().st_size if (logs / f"{f}.log").exists() else 0
            for f in (INGRESS, MODERATOR, ACTUATOR)
        }

    def _logged(self, since: dict[str, int], into: Measured) -> None:
        """The lines each function logged after ``since`` (file sizes), by kind: EMF or other."""
        for function, offset in since.items():
            path = self.stack.logs_dir / f"{function}.log"
            if not path.exists():
                continue
            with path.open("rb") as log:
                log.seek(offset)
                for line in log:
                    into.log_bytes[function, "emf" if line.startswith(b'{"_aws"') else "lines"] += len(line)

    def run(self, scenario: Scenario, room: str, user: str, into: Measured) -> None:
        since, invocations, logs = len(self.proxy.calls), len(self.stack.invocations), self._log_sizes()
        self._posted = time.monotonic()
        into.statuses[self.webhooks.post(scenario, room, user)] += 1
        self._settle(since)
        into.webhooks += 1
        into.calls.extend(self.proxy.calls[since:])
        for invocation in list(self.stack.invocations)[invocations:]:
            into.durations[invocation.function] += invocation.duration_ms
            into.invocations[invocation.function] += 1
        self._logged(logs, into)


def measure(bench: Bench, repeat: int) -> dict[str, Measured]:
    results: dict[str, Measured] = {}
    for index, scenario in enumerate(SCENARIOS):  # warm every function and path, uncounted
        for _ in range(3 if scenario.moderated else 1):  # the third strike mutes: the actuator too
            bench.run(scenario, f"scale-warm-{index}", f"warm-user-{index}", Measured())
    for index, scenario in enumerate(SCENARIOS):
        measured = results[scenario.name] = Measured()
        if scenario.moderated:
            # A real room with the spammer in it, so the mute and the ban succeed at the emulator.
            bench.enter_room(f"scale-{index}-0", f"spammer-{index}")
            for _ in range(MODERATED_RUN):
                bench.run(scenario, f"scale-{index}-0", f"spammer-{index}", measured)
        else:
            for turn in range(repeat):
                bench.run(scenario, f"scale-{index}-{turn}", f"viewer-{index}-{turn}", measured)
    return results


# --- the template's numbers ------------------------------------------------------------------------


class Defaults:
    """template.yaml's defaults: parameters, memory sizes, event sources."""

    def __init__(self) -> None:
        from liveguard_local.stack.template import load_template

        self.template = load_template(TEMPLATE)
        self.parameters = {name: p.get("Default") for name, p in self.template["Parameters"].items()}

    def value(self, value: Any) -> Any:
        if isinstance(value, dict) and "Ref" in value:
            return self.parameters[value["Ref"]]
        return value

    def memory_mb(self, function: str) -> int:
        own = self.template["Resources"][function]["Properties"].get("MemorySize")
        shared = self.template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
        return int(self.value(own if own is not None else shared))

    def sqs_source(self, function: str) -> dict[str, Any]:
        """The function's FIFO event source (the actuator's second, the delayed-actions queue, only
        carries delayed and retried actions)."""
        events = self.template["Resources"][function]["Properties"].get("Events", {})
        sources = [e["Properties"] for e in events.values() if e["Type"] == "SQS"]
        (source,) = [s for s in sources if "DelayedActions" not in str(s.get("Queue"))] or sources[:1]
        return dict(source)

    def platform_log_bytes(self, function: str) -> int:
        """Bytes of Lambda's own lines per invocation: START, END and REPORT are system logs at INFO,
        dropped when the function's LoggingConfig sets a SystemLogLevel of WARN."""
        logging = self.template["Resources"][function]["Properties"].get("LoggingConfig", {})
        level = (
            self.value(logging.get("SystemLogLevel", "INFO"))
            if logging.get("LogFormat") == "JSON"
            else "INFO"
        )
        return 0 if level == "WARN" else PLATFORM_LOG_BYTES

    def max_concurrency(self, function: str) -> int:
        return int(self.value(self.sqs_source(function)["ScalingConfig"]["MaximumConcurrency"]))

    def batch_size(self, function: str) -> int:
        return int(self.value(self.sqs_source(function).get("BatchSize", 10)))

    def http_api(self) -> bool:
        """Whether the ingress's API event is an HttpApi (API Gateway's HTTP API), not an Api (REST)."""
        events = self.template["Resources"][INGRESS]["Properties"].get("Events", {})
        (kind,) = {e["Type"] for e in events.values() if e["Type"] in ("Api", "HttpApi")}
        return bool(kind == "HttpApi")


# --- reporting -------------------------------------------------------------------------------------


def _records(measured: Measured, function: str) -> int:
    """The messages the pollers handed ``function``."""
    queue = "events" if function == MODERATOR else "actions"
    return sum(
        c.messages
        for c in measured.counted()
        if c.caller == "pollers"
        and c.operation == "ReceiveMessage"
        and c.queue.startswith(f"liveguard-{queue}-")
    )


def _busy_seconds(measured: Measured, function: str) -> float:
    """Seconds of ``function`` per webhook in AWS: its duration here less the time it waited on moto,
    plus the stated in-region latency of each AWS call it made (and of each Tencent call, one per
    action, for the actuator)."""
    calls = [c for c in measured.calls if c.caller == function]
    own = measured.durations.get(function, 0.0) / 1000 - sum(c.elapsed for c in calls)
    waited = sum(LATENCY_S.get(c.service, 0.0) for c in calls)
    if function == ACTUATOR:
        waited += _records(measured, ACTUATOR) * TENCENT_CALL_S
    return measured.per(max(own, 0.0) + waited)


def _actions(measured: Measured) -> float:
    """Actions the moderator queued per webhook (the entries of its sends to the actions queue)."""
    return measured.per(
        sum(
            1
            for c in measured.counted()
            if c.caller == MODERATOR and "actions" in c.queue and "dlq" not in c.queue
        )
    )


def _short(function: str) -> str:
    return function.removesuffix("Function").lower()


def _mix(results: dict[str, Measured], value: Any) -> float:
    return sum(s.weight * value(results[s.name]) for s in SCENARIOS)


def report_calls(results: dict[str, Measured], quiet_commands: set[str]) -> bool:
    print("AWS calls per webhook, counted at moto (one webhook at a time, each in its own room)")
    print(f"  {'scenario':<30}{'mix':>6}  {'SQS':>5} {'DDB':>5}  by function and operation")
    quiet_ok = True
    for scenario in SCENARIOS:
        measured = results[scenario.name]
        calls = measured.counted()
        parts = []
        for caller in (INGRESS, "pollers", MODERATOR, ACTUATOR):
            ops = Counter(c.operation for c in calls if c.caller == caller and c.service != "secretsmanager")
            if ops:
                text = " ".join(f"{op} {n / measured.webhooks:.3g}" for op, n in sorted(ops.items()))
                parts.append(f"{caller.removesuffix('Function').lower()}: {text}")
        sqs, ddb = measured.requests("sqs"), measured.requests("dynamodb")
        quiet = scenario.command in quiet_commands
        if quiet and (sqs or ddb):
            quiet_ok = False
        label = scenario.name + (" [quiet]" if quiet else "")
        print(f"  {label:<30}{scenario.weight:>6.1%}  {sqs:>5.2f} {ddb:>5.2f}  {'; '.join(parts) or '-'}")
        refused = {status: n for status, n in measured.statuses.items() if status != 200}
        if refused:
            print(f"    answered {dict(measured.statuses)}: a webhook was refused, the figures above are off")
            quiet_ok = False
    sqs_mix = _mix(results, lambda m: m.requests("sqs"))
    ddb_mix = _mix(results, lambda m: m.requests("dynamodb"))
    print(f"  {'at the mix':<30}{1:>6.0%}  {sqs_mix:>5.2f} {ddb_mix:>5.2f}")
    marks = sum(1 for m in results.values() for c in m.calls if c.partition == "SPOOL#ACTIVE")
    print(
        f"  (apart: {marks} reads of the spool's activity mark, once per ingress instance-second of traffic)"
    )
    print(
        "  quiet webhooks (no rule listens to their callback): "
        f"{', '.join(sorted(quiet_commands)) or 'none'}; target 0 SQS and 0 DynamoDB calls: "
        + ("met" if quiet_ok else "MISSED")
    )
    return quiet_ok


def report_cost(results: dict[str, Measured], defaults: Defaults) -> bool:
    fill = {f: defaults.batch_size(f) for f in (MODERATOR, ACTUATOR)}

    def sqs_requests(measured: Measured, fill_to: dict[str, int]) -> float:
        own = sum(c.requests for c in measured.counted() if c.service == "sqs" and c.caller != "pollers")
        for function, queue in ((MODERATOR, "events"), (ACTUATOR, "actions")):
            pollers = [
                c
                for c in measured.counted()
                if c.caller == "pollers" and c.queue.startswith(f"liveguard-{queue}-")
            ]
            batches = sum(1 for c in pollers if c.operation == "ReceiveMessage")
            if batches:  # the pollers' calls per batch, with batches filled to ``fill_to`` messages
                per_batch = sum(c.requests for c in pollers) / batches
                own += per_batch * sum(c.messages for c in pollers) / fill_to[function]
        return measured.per(own)

    def lambda_requests(measured: Measured, fill_to: dict[str, int]) -> float:
        records = {f: _records(measured, f) for f in (MODERATOR, ACTUATOR)}
        return measured.per(measured.invocations.get(INGRESS, 0)) + sum(
            measured.per(records[f]) / fill_to[f] for f in records
        )

    def gb_seconds(measured: Measured) -> float:
        return sum(
            _busy_seconds(measured, f) * defaults.memory_mb(f) / 1024 for f in (INGRESS, MODERATOR, ACTUATOR)
        )

    def log_gb(measured: Measured, fill_to: dict[str, int]) -> float:
        """Per webhook: each function's lines per record, and its lines per invocation (EMF and
        Lambda's own) times its invocations, with the pollers' batches filled to ``fill_to``."""
        total = 0.0
        for function in (INGRESS, MODERATOR, ACTUATOR):
            here = measured.invocations.get(function, 0)
            if not here:
                continue
            per_invocation = measured.log_bytes[function, "emf"] / here + defaults.platform_log_bytes(
                function
            )
            invocations = here if function == INGRESS else _records(measured, function) / fill_to[function]
            total += measured.log_bytes[function, "lines"] + per_invocation * invocations
        return measured.per(total) / 1e9

    def ddb(measured: Measured, kind: str) -> float:
        return measured.per(sum(getattr(c, kind) for c in measured.counted() if c.service == "dynamodb"))

    # The API template.yaml fronts the ingress with, priced; the other one is the alternative line.
    rest, http = PRICES["api_rest_per_million"][0], PRICES["api_http_per_million"][0]
    api, api_price, other, other_price = (
        ("HTTP", http, "REST", rest) if defaults.http_api() else ("REST", rest, "HTTP API", http)
    )

    def lines(fill_to: dict[str, int]) -> dict[str, float]:
        million = 1e6
        return {
            f"API Gateway {api}": million * api_price / 1e6,
            "Lambda requests": _mix(results, lambda m: lambda_requests(m, fill_to))
            * PRICES["lambda_request_per_million"][0],
            "Lambda GB-s": million * _mix(results, gb_seconds) * PRICES["lambda_arm_gb_second"][0],
            "SQS FIFO": _mix(results, lambda m: sqs_requests(m, fill_to)) * PRICES["sqs_fifo_per_million"][0],
            "DynamoDB writes": _mix(results, lambda m: ddb(m, "write_units"))
            * PRICES["ddb_wru_per_million"][0],
            "DynamoDB reads": _mix(results, lambda m: ddb(m, "read_units"))
            * PRICES["ddb_rru_per_million"][0],
            "CloudWatch Logs": million
            * _mix(results, lambda m: log_gb(m, fill_to))
            * PRICES["logs_ingest_per_gb"][0],
        }

    peak = lines(fill)
    total = sum(peak.values())
    low = sum(lines({MODERATOR: 1, ACTUATOR: 1}).values())
    alternative = total - peak[f"API Gateway {api}"] + other_price
    print(
        f"$ per million webhooks at the mix (prices of {PRICES_DATE}, us-east-1; sources in bench/scale.py)"
    )
    for name, dollars in peak.items():
        print(f"  {name:<18} ${dollars:6.3f}  {dollars / total:5.1%}")
    print(
        f"  total              ${total:6.3f}  (pollers' batches filled to BatchSize {fill[MODERATOR]},"
        f" as at a peak; one message a batch: ${low:.3f})"
    )
    print(f"  with {other} instead: ${alternative:.3f}")
    memory = ", ".join(f"{_short(f)} {defaults.memory_mb(f)} MB" for f in (INGRESS, MODERATOR, ACTUATOR))
    print(
        f"  durations: measured here + stated latency per call (DynamoDB {LATENCY_S['dynamodb'] * 1000:g} ms,"
        f" SQS {LATENCY_S['sqs'] * 1000:g} ms, Tencent {TENCENT_CALL_S * 1000:g} ms), at MemorySize {memory}"
    )
    for function in (INGRESS, MODERATOR, ACTUATOR):
        here = _mix(results, lambda m, f=function: m.per(m.durations.get(f, 0.0)))
        moto = _mix(
            results, lambda m, f=function: m.per(sum(c.elapsed for c in m.calls if c.caller == f)) * 1000
        )
        busy = _mix(results, lambda m, f=function: _busy_seconds(m, f)) * 1000
        print(
            f"    {_short(function):<9} {here:6.2f} ms here per webhook, {moto:5.2f} of them waiting on"
            f" moto; in AWS {busy:6.2f} ms"
        )
    met = total <= TARGET_COST
    print(f"  ${total:.2f} per million (target <= ${TARGET_COST:.0f}): {'met' if met else 'MISSED'}")
    return met


def report_ceiling(results: dict[str, Measured], defaults: Defaults) -> bool:
    inf = float("inf")
    ingress_s = _mix(results, lambda m: _busy_seconds(m, INGRESS))
    moderator_s = _mix(results, lambda m: _busy_seconds(m, MODERATOR))
    actuator_s = _mix(results, lambda m: _busy_seconds(m, ACTUATOR))
    actions = _mix(results, _actions)
    moderator_cap = defaults.max_concurrency(MODERATOR)
    actuator_cap = defaults.max_concurrency(ACTUATOR)
    rate = float(defaults.parameters["ApiThrottlingRateLimit"])
    burst = defaults.parameters["ApiThrottlingBurstLimit"]
    # (webhooks/s, what binds, default?)
    limits: list[tuple[float, str, bool]] = [
        (rate, f"API stage throttle ApiThrottlingRateLimit {rate:g}/s (burst {burst})", True),
        (float(API_ACCOUNT_RPS), f"API Gateway account quota {API_ACCOUNT_RPS}/s per Region", True),
        (
            moderator_cap / moderator_s if moderator_s else inf,
            f"moderator: ModeratorConcurrency {moderator_cap} / {moderator_s * 1000:.2f} ms per webhook",
            True,
        ),
        (
            actuator_cap / actuator_s if actuator_s else inf,
            f"actuator: ActuatorConcurrency {actuator_cap} / {actuator_s * 1000:.2f} ms per webhook",
            True,
        ),
        (
            LAMBDA_ACCOUNT_CONCURRENCY / (ingress_s + moderator_s + actuator_s),
            f"Lambda account concurrency {LAMBDA_ACCOUNT_CONCURRENCY} / "
            f"{(ingress_s + moderator_s + actuator_s) * 1000:.2f} ms of functions per webhook",
            True,
        ),
        (
            TENCENT_PER_COMMAND_PER_S / actions if actions else inf,
            f"Tencent {TENCENT_PER_COMMAND_PER_S} calls/s per command / {actions:.4f} actions per webhook"
            " (all as one command)",
            False,
        ),
    ]
    write_units = _mix(
        results, lambda m: m.per(sum(c.write_units for c in m.counted() if c.service == "dynamodb"))
    )
    read_units = _mix(
        results, lambda m: m.per(sum(c.read_units for c in m.counted() if c.service == "dynamodb"))
    )
    busiest = max(write_units, read_units)
    limits.append(
        (
            TABLE_ON_DEMAND_UNITS_PER_S / busiest if busiest else inf,
            f"DynamoDB on-demand table quota {TABLE_ON_DEMAND_UNITS_PER_S:,} request units/s"
            f" / {write_units:.2f} write, {read_units:.2f} read units per webhook",
            True,
        )
    )
    # DynamoDB partition keys written for webhooks of more than one room: every room shares them.
    rooms_by_key: dict[str, set[str]] = defaultdict(set)
    for name, measured in results.items():
        for call in measured.counted():
            if call.write_units and call.partition:
                rooms_by_key[call.partition].add(name if "moderated" not in name else name + "*")
    for key in sorted(k for k, rooms in rooms_by_key.items() if len(rooms) > 1 and not k.startswith("ROOM#")):
        units = _mix(
            results, lambda m, key=key: m.per(sum(c.write_units for c in m.counted() if c.partition == key))
        )
        if units:
            limits.append(
                (
                    PARTITION_WRU_PER_S / units,
                    f"DynamoDB partition key {key!r} written by every room"
                    f" ({units:.2f} write units per webhook, {PARTITION_WRU_PER_S}/s per partition)",
                    False,
                )
            )
    print("app-wide ceiling the template's defaults allow (webhooks/s at the mix)")
    for value, what, default in sorted(limits):
        kind = "default" if default else "not a default"
        print(f"  {value:>10,.0f}  {what}  [{kind}]")
    by_default = min(limits for limits in limits if limits[2])
    overall = min(limits)
    print(f"  ceiling of the defaults: {by_default[0]:,.0f} webhooks/s, bound by {by_default[1]}")
    if overall is not by_default:
        print(f"  ceiling overall: {overall[0]:,.0f} webhooks/s, bound by {overall[1]}")
    met = by_default[0] >= TARGET_CEILING
    print(f"  no default caps the app below {TARGET_CEILING:,.0f}/s: {'met' if met else 'MISSED'}")
    return met


def quiet_commands() -> set[str]:
    """The scenarios' callbacks no default rule listens to."""
    from liveguard.rules.loader import load_rules

    heard = {command for rule in load_rules(check_params=False).rules for command in rule.commands}
    return {s.command for s in SCENARIOS} - heard


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=4, help="webhooks per scenario")
    parser.add_argument("--quiet", type=float, default=0.6, help="seconds without a call that end a webhook")
    args = parser.parse_args()

    import hot_room  # bench/hot_room.py, beside this script

    from liveguard_local.stack import LocalStackError, LocalStackOptions

    began = time.monotonic()
    options = LocalStackOptions(
        port=0,
        emulator_port=0,
        aws_port=0,
        template=TEMPLATE,
        state_dir=ROOT / ".liveguard" / "bench-scale",
        visibility_timeout=5,
        console=lambda line: None,
    )
    defaults = Defaults()
    try:
        with counted_stack_class()(options) as stack:
            print(f"local stack up in {stack.startup_seconds:.1f} s, every AWS call through a counting proxy")
            bench = Bench(stack, args.quiet)
            try:
                results = measure(bench, args.repeat)
                hot = hot_room.measure(
                    stack, stack.proxy, bench.webhooks, SCENARIOS, quiet_commands(), LATENCY_S
                )
            finally:
                bench.webhooks.http.close()
    except LocalStackError as error:
        print(f"scale: the local stack did not start: {error}", file=sys.stderr)
        return 1
    results_ok = [
        report_calls(results, quiet_commands()),
        report_cost(results, defaults),
        report_ceiling(results, defaults),
    ]
    results_ok.append(hot_room.report(hot))
    print(f"done in {time.monotonic() - began:.1f} s")
    print("PASS" if all(results_ok) else "FAIL: a target was missed")
    return 0 if all(results_ok) else 1


if __name__ == "__main__":
    sys.exit(main())
