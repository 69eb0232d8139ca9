"""Ingress benchmarks, each a ratio against a baseline measured in the same run.

1. Cold start: importing functions/ingress/app.py in a fresh process, next to importing what a
   straightforward Powertools webhook function behind an HTTP API would (Logger, Metrics,
   APIGatewayHttpResolver(enable_validation=True), the parser's HTTP API (payload format 2.0)
   model, a boto3 SQS client). Target: at most 0.6x. Also printed: what the ingress defers to its
   first secret read.
2. Warm: CPU time per event (payload format 2.0, what the template's HTTP API sends) of the whole
   handler (Powertools decorators included; SQS replaced by
   an in-process stub) next to a floor doing only json.loads, the signature check and the stub
   send. Information only: the old target (at most 2x the floor) is retired (issue 11): the handler
   costs tens of microseconds, Lambda bills by the millisecond, and Powertools' per-invocation work
   is wanted.
3. Before-callback verdicts against a 1,000-term list: p99 under 1 ms.

Run with `make bench` (or `python bench/ingress.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "functions" / "ingress" / "app.py"
ENV = {
    "EVENTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-events-bench.fifo",
    "TENCENT_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:liveguard-bench-AbCdEf",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "LiveGuardBench",
    "POWERTOOLS_SERVICE_NAME": "liveguard-ingress",
}

TIMED_IMPORT = """
import time, importlib.util, sys
started = time.perf_counter()
{body}
print(time.perf_counter() - started)
"""
OURS = f"""
spec = importlib.util.spec_from_file_location("app", {str(APP)!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""
BASELINE = """
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
import boto3
logger, metrics = Logger(), Metrics()
app = APIGatewayHttpResolver(enable_validation=True)
sqs = boto3.client("sqs")
"""
DEFERRED = f"""
{OURS}
from aws_lambda_powertools.utilities import parameters
import boto3
boto3.client("secretsmanager")
"""


def timed(body: str) -> float:
    output = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", TIMED_IMPORT.format(body=body)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **ENV},
    ).stdout
    return float(output.strip().splitlines()[-1])


def bench_cold(runs: int) -> bool:
    ours: list[float] = []
    baseline: list[float] = []
    deferred: list[float] = []
    for run in range(runs):
        order = [(OURS, ours), (BASELINE, baseline)]
        for body, into in order if run % 2 == 0 else order[::-1]:
            into.append(timed(body))
        deferred.append(timed(DEFERRED))
    ours_ms, base_ms = statistics.median(ours) * 1000, statistics.median(baseline) * 1000
    ratio = ours_ms / base_ms
    print(f"cold start: {runs} fresh processes each, interleaved (median)")
    print(f"  baseline Powertools webhook function imports: {base_ms:.0f} ms")
    print(f"  functions/ingress/app.py import:             {ours_ms:.0f} ms")
    print(f"  ratio {ratio:.2f}x (target <= 0.6x)")
    extra = (statistics.median(deferred) - statistics.median(ours)) * 1000
    print(f"  deferred to the first secret read (boto3 for Powertools parameters): ~{max(extra, 0):.0f} ms;")
    print("  under SnapStart it is paid during the snapshot's init instead")
    return ratio <= 0.6


class StubQueue:
    def __init__(self) -> None:
        self.sent = 0

    def send_message(self, queue_url: str, body: str, **_: Any) -> object:
        self.sent += 1
        return {"MessageId": str(self.sent)}


class Context:
    function_name = "IngressFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:IngressFunction"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


def bench_warm(events: int) -> None:
    os.environ.update(ENV)
    from liveguard.settings import TencentSecret
    from liveguard.tencent.webhook_signature import verify_webhook_signature
    from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event

    spec = importlib.util.spec_from_file_location("ingress_app", APP)
    assert spec is not None
    assert spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    secret = TencentSecret.model_validate(LOCAL_SECRET)
    queue = StubQueue()
    app.ingress.queue = queue
    app.ingress.secret = lambda: secret
    devnull = open(os.devnull, "w")  # noqa: SIM115 - for the whole benchmark
    for handler in logging.getLogger("liveguard").handlers + app.logger.handlers:
        handler.stream = devnull  # type: ignore[attr-defined]
    token = LOCAL_SECRET["CallbackToken"]
    commands = [
        "Live.CallbackAfterSetMetadata",
        "Group.CallbackBeforeSendMsg",
        "Live.CallbackAfterMemberStateChanged",
    ]
    # proxy_event's default: payload format 2.0, what the template's HTTP API sends.
    batch = [proxy_event(c, json.dumps(CALLBACK_BODIES[c])) for c in commands] * (events // len(commands))

    def handler_run() -> float:
        started = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            for event in batch:
                app.lambda_handler(event, Context())
        return (time.process_time() - started) / len(batch)

    def floor_run() -> float:
        started = time.process_time()
        for event in batch:
            query = event["queryStringParameters"]
            body = json.loads(event["body"])
            verify_webhook_signature(token, query["Sign"], query["RequestTime"])
            queue.send_message(ENV["EVENTS_QUEUE_URL"], json.dumps(body))
        return (time.process_time() - started) / len(batch)

    # Without the handler's decorator nobody flushes metrics between events: Powertools warns that
    # each event's Command dimension replaces the last. Expected here, so quiet.
    warnings.filterwarnings("ignore", message="Dimension 'Command' has already been added")

    def logic_run() -> float:
        started = time.process_time()
        # Every 100 metrics Powertools flushes its EMF blob to stdout: kept out of the bench's output.
        with contextlib.redirect_stdout(io.StringIO()):
            for event in batch:
                app.ingress.handle(event, 5000)
        return (time.process_time() - started) / len(batch)

    handler_us: list[float] = []
    logic_us: list[float] = []
    floor_us: list[float] = []
    runs = [(handler_run, handler_us), (logic_run, logic_us), (floor_run, floor_us)]
    for run, _ in runs:
        run()  # warm up
    for round_ in range(5):
        for run, into in runs if round_ % 2 == 0 else runs[::-1]:
            into.append(run() * 1e6)
    floor, logic, handler = (statistics.median(x) for x in (floor_us, logic_us, handler_us))
    print(f"warm: CPU per event over {len(batch)} events x 5 rounds (median)")
    print(f"  floor (json.loads + signature check + stub send): {floor:.1f} us")
    print(f"  ingress logic (auth, model, envelope, verdict, send): {logic:.1f} us = {logic / floor:.2f}x")
    print(f"  whole handler (+ Powertools context, EMF flush):  {handler:.1f} us = {handler / floor:.2f}x")
    print(f"  ratio {handler / floor:.2f}x (information: the <= 2x target is retired, issue 11)")


def bench_verdicts(samples: int) -> bool:
    from liveguard.rules.engine import InlineRules
    from liveguard.rules.loader import DEFAULT_RULES, parse_rules
    from liveguard.rules.verdict import decide
    from liveguard.webhooks.models import parse_callback
    from liveguard_local.events import CALLBACK_BODIES

    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    terms = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(4, 12))) for _ in range(1000)})
    # The shipped default rules, their banned list swapped for 1,000 terms.
    text = DEFAULT_RULES.read_text().replace(
        "banned: {file: terms/banned.txt}", f"banned: {json.dumps(terms)}"
    )
    rules = InlineRules(parse_rules(text, base_dir=DEFAULT_RULES.parent), admin="administrator")
    comments = []
    for index in range(samples):
        words = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 9))) for _ in range(rng.randint(3, 25))
        ]
        if index % 10 == 0:
            words.insert(rng.randint(0, len(words)), rng.choice(terms).upper())
        body = {**CALLBACK_BODIES["Group.CallbackBeforeSendMsg"]}
        body["MsgBody"] = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": " ".join(words)}}]
        comments.append(parse_callback("Group.CallbackBeforeSendMsg", body))
    timings = []
    masked = 0
    for comment in comments:
        started = time.perf_counter()
        verdict = decide(comment, rules)
        timings.append(time.perf_counter() - started)
        masked += verdict.action != "deliver"
    timings.sort()
    p50, p99 = timings[len(timings) // 2] * 1e6, timings[int(len(timings) * 0.99)] * 1e6
    print(
        f"verdicts: {samples} comments, the default rules with {len(terms)} banned terms ({masked} moderated)"
    )
    print(f"  p50 {p50:.1f} us, p99 {p99:.1f} us (target p99 < 1000 us)")
    return p99 < 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per side for the cold start")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=10000)
    args = parser.parse_args()
    cold = bench_cold(args.runs)
    bench_warm(args.events)
    results = [cold, bench_verdicts(args.samples)]
    print("PASS" if all(results) else "FAIL: a target was missed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
