"""End-to-end benchmarks on one local stack (moto, the Tencent emulator, the API front and the three
functions, all on loopback, started by this script and stopped on the way out).

1. Latency: rooms created one at a time through the emulator's client API; for each, rule 8
   (room-defaults) makes the actuator call set_room_metadata. From the webhook's delivery to that
   REST call, split per stage from the stack's own records:
     ingress    webhook sent (emulator's record `at`) -> the ingress invocation recorded by the front
     queue      ingress done -> moderator start (events queue) + moderator done -> actuator start
                (actions queue); both hops are also shown alone
     moderator  the moderator's invocation (its worker's duration)
     actuator   actuator start -> the REST call reaching the emulator (`at` - `latency_ms`)
   p50 and p99 per stage, and the slowest stage named. The stack's invocation records are made
   after a poller deletes its batch (up to ~30 ms later than the invocation ended), so the bench
   times each poller's invocation itself (wrapping SqsPoller._invoke). The moderator sends the
   action before it returns, and the actuator often starts while the moderator finishes: the
   moderator stage ends at the earlier of its end and the actuator's start, so the stages add up to
   the total exactly. One event at a time, on a stack with nothing else to do: this is the latency
   floor, not latency under load.
2. Throughput: webhooks/s accepted (HTTP 200) by the local front, signed callbacks with unique
   RoomIds POSTed straight to the stack's callback URL from a few threads, next to the same number
   of the same POSTs to a trivial loopback HTTP server (the same http.server setup as the front,
   answering at once), in interleaved rounds of the same run: the ratio is what the front, the
   ingress function and its SQS send cost over bare HTTP on this machine.

Run with `make bench` (or `python bench/e2e.py`). The whole run stays under ~90 s.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
# Only the standard library at module level: the stack's function processes are spawned, and a
# spawned process imports the main module (this one) before its function's environment is set.

ROOT = Path(__file__).resolve().parents[1]
CREATE = "Live.CallbackAfterCreateRoom"
THROUGHPUT_COMMAND = "Live.CallbackAfterMemberStateChanged"
INGRESS, MODERATOR, ACTUATOR = "IngressFunction", "ModeratorFunction", "ActuatorFunction"
WAIT = 10.0  # seconds for any one event's effect before it counts as lost


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def groups(detail: str) -> list[str]:
    """The message groups a poller's invocation line names ("group r1" / "groups r1, r2")."""
    for prefix in ("groups ", "group "):
        if detail.startswith(prefix):
            return detail[len(prefix) :].split(", ")
    return []


def wait_for[T](check: Callable[[], T | None], timeout: float) -> T | None:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None or time.monotonic() >= deadline:
            return value
        time.sleep(0.002)


# --- 1. latency per stage ---------------------------------------------------------------------------


class Timed:
    """Each SQS invocation's real start and end, and its message groups, seen around the poller's
    call into the function (the stack's own record is made only after the batch is deleted)."""

    def __init__(self, stack: Any) -> None:
        self.runs: list[tuple[str, float, float, list[str]]] = []
        for poller in stack._pollers:
            poller._invoke = self._wrap(poller.function, poller._invoke)

    def _wrap(
        self, function: str, invoke: Callable[[dict[str, Any]], Any]
    ) -> Callable[[dict[str, Any]], Any]:
        def timed(event: dict[str, Any]) -> Any:
            started = time.time()
            result = invoke(event)
            ended = time.time()
            found = [record.get("attributes", {}).get("MessageGroupId", "") for record in event["Records"]]
            self.runs.append((function, started, ended, found))  # list.append: atomic
            return result

        return timed

    def first(self, function: str, room: str) -> tuple[float, float] | None:
        for name, started, ended, found in list(self.runs):
            if name == function and room in found:
                return started, ended
        return None


def bench_latency(stack: Any, http: httpx.Client, events: int) -> bool:
    from liveguard_local.driver import call_room, call_started

    timed = Timed(stack)

    emulator = stack.emulator_url
    rooms = [f"e2e-lat-{index:04d}" for index in range(events)]
    warmup = ["e2e-warm-0", "e2e-warm-1", "e2e-warm-2"]
    lost: list[str] = []

    def actuated(room: str) -> Any:
        for invocation in list(stack.invocations):
            if invocation.function == ACTUATOR and room in groups(invocation.detail):
                return invocation
        return None

    def moderated_twice(room: str) -> bool | None:
        seen = sum(
            1
            for invocation in list(stack.invocations)
            if invocation.function == MODERATOR and room in groups(invocation.detail)
        )
        return True if seen >= 2 else None

    started = time.monotonic()
    for room in warmup + rooms:
        http.post(
            f"{emulator}/emulator/v1/client/create_room",
            json={"UserId": f"host-{room}", "Platform": "Android", "RoomId": room, "RoomName": "bench"},
        ).raise_for_status()
        if wait_for(lambda room=room: actuated(room), WAIT) is None:
            lost.append(room)
            continue
        # Its set_room_metadata fires Live.CallbackAfterSetMetadata, moderated in the same group: let
        # it pass (briefly) so the next room starts on a quiet stack.
        wait_for(lambda room=room: moderated_twice(room), 0.5)
    elapsed = time.monotonic() - started

    webhooks = http.get(f"{emulator}/emulator/v1/webhooks").json()["webhooks"]
    calls = http.get(f"{emulator}/emulator/v1/calls").json()["calls"]
    invocations = list(stack.invocations)
    sent = {
        w["order_key"]: float(w["at"])
        for w in webhooks
        if w["command"] == CREATE and w["attempt"] == 1 and not w["duplicate"]
    }
    first_call: dict[str, float] = {}
    for call in calls:
        room = call_room(call)
        if call["command"] == "set_room_metadata" and room is not None and room not in first_call:
            first_call[room] = call_started(call)
    ingress_ends = sorted(
        i.at
        for i in invocations
        if i.function == INGRESS and i.detail.endswith(CREATE) and i.outcome == "200"
    )

    stages: dict[str, list[float]] = {
        name: []
        for name in ("ingress", "queue", "  events queue", "moderator", "  actions queue", "actuator")
    }
    totals: list[float] = []
    overlaps: list[float] = []
    for room in rooms:
        moderator, actuator = timed.first(MODERATOR, room), timed.first(ACTUATOR, room)
        if room not in sent or room not in first_call or moderator is None or actuator is None:
            if room not in lost:
                lost.append(room)
            continue
        t_sent = sent[room]
        # One room at a time: its CreateRoom ingress invocation is the first one recorded after it
        # was sent.
        ingress_end = next((end for end in ingress_ends if end >= t_sent), None)
        if ingress_end is None:
            lost.append(room)
            continue
        (moderator_start, moderator_end), (actuator_start, _) = moderator, actuator
        events_queue = moderator_start - ingress_end
        actions_queue = max(0.0, actuator_start - moderator_end)
        if actuator_start < moderator_end:
            overlaps.append(moderator_end - actuator_start)
        stages["ingress"].append(ingress_end - t_sent)
        stages["  events queue"].append(events_queue)
        stages["  actions queue"].append(actions_queue)
        stages["queue"].append(events_queue + actions_queue)
        stages["moderator"].append(min(moderator_end, actuator_start) - moderator_start)
        stages["actuator"].append(first_call[room] - actuator_start)
        totals.append(first_call[room] - t_sent)

    print(
        f"latency: {len(totals)} rooms created one at a time through the emulator's client API in "
        f"{elapsed:.1f} s ({len(warmup)} more first, to warm up); rule 8 -> set_room_metadata"
    )
    if not totals:
        print("  no event could be followed to its Tencent call")
        return False
    print(f"  {'stage':<18} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, values in stages.items():
        print(
            f"  {name:<18} {percentile(values, 0.5) * 1000:8.1f} {percentile(values, 0.99) * 1000:8.1f}"
            f" {statistics.fmean(values) * 1000:8.1f}"
        )
    print(
        f"  {'webhook -> Tencent':<18} {percentile(totals, 0.5) * 1000:8.1f}"
        f" {percentile(totals, 0.99) * 1000:8.1f} {statistics.fmean(totals) * 1000:8.1f}"
    )
    top = [name for name in stages if not name.startswith(" ")]
    slowest = max(top, key=lambda name: percentile(stages[name], 0.5))
    slowest99 = max(top, key=lambda name: percentile(stages[name], 0.99))
    share = percentile(stages[slowest], 0.5) / percentile(totals, 0.5)
    print(f"  slowest stage: {slowest} (p50, {share:.0%} of the total's p50); at p99: {slowest99}")
    if overlaps:
        print(
            f"  the actuator started before the moderator returned in {len(overlaps)} of {len(totals)} events"
            " (the moderator's work after sending the action: median"
            f" {statistics.median(overlaps) * 1000:.1f} ms,"
            " off the path to the Tencent call)"
        )
    if lost:
        print(f"  FAIL: {len(lost)} events not followed to their Tencent call: {', '.join(lost[:5])}")
    return not lost


# --- 2. webhooks/s accepted by the front -----------------------------------------------------------


class Bare(BaseHTTPRequestHandler):
    """The baseline: the same http.server setup as the front, answering at once."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    answer = json.dumps({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}).encode()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)


class Poster:
    """Signed callbacks, each with its own RoomId, POSTed from ``threads`` threads."""

    def __init__(self, secret: dict[str, Any], threads: int) -> None:
        import httpx

        from liveguard.tencent.webhook_signature import webhook_sign
        from liveguard_local.events import CALLBACK_BODIES

        self.sign = lambda stamp: webhook_sign(secret["CallbackToken"], stamp)
        self.sdk_app_id = str(secret["SdkAppId"])
        self.template = CALLBACK_BODIES[THROUGHPUT_COMMAND]
        self.clients = [httpx.Client(timeout=10) for _ in range(threads)]
        self.serial = 0
        self.lock = threading.Lock()

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def _request(self) -> tuple[dict[str, str], bytes]:
        with self.lock:
            self.serial += 1
            serial = self.serial
        body = copy.deepcopy(self.template)
        body["RoomId"] = f"e2e-tp-{serial:07d}"
        body["EventTime"] = int(time.time() * 1000)
        stamp = int(time.time())
        query = {
            "SdkAppid": self.sdk_app_id,
            "CallbackCommand": THROUGHPUT_COMMAND,
            "contenttype": "json",
            "ClientIP": "203.0.113.7",
            "OptPlatform": "Android",
            "RequestTime": str(stamp),
            "Sign": self.sign(stamp),
        }
        return query, json.dumps(body).encode()

    def run(
        self, url: str, *, seconds: float | None = None, count: int | None = None
    ) -> tuple[dict[int, int], float]:
        """POST until ``seconds`` pass or ``count`` requests are sent; (statuses, elapsed)."""
        import httpx

        statuses: dict[int, int] = {}
        left = [count if count is not None else 1 << 62]
        deadline = time.monotonic() + (seconds if seconds is not None else 60.0)  # bounded either way

        def worker(client: httpx.Client) -> None:
            while time.monotonic() < deadline:
                with self.lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                query, body = self._request()
                try:
                    status = client.post(
                        url, params=query, content=body, headers={"Content-Type": "application/json"}
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                with self.lock:
                    statuses[status] = statuses.get(status, 0) + 1

        threads = [threading.Thread(target=worker, args=(client,)) for client in self.clients]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return statuses, time.perf_counter() - started


def bench_throughput(stack: Any, seconds: float, threads: int, rounds: int) -> bool:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Bare)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    bare_url = f"http://127.0.0.1:{server.server_address[1]}/tencent/callback"
    poster = Poster(stack.settings()["secret"], threads)
    front_statuses: dict[int, int] = {}
    front_time = bare_time = 0.0
    accepted_total = bare_total = 0
    try:
        poster.run(stack.callback_url, count=threads * 5)  # warm the connections and the ingress
        poster.run(bare_url, count=threads * 5)
        for _ in range(rounds):
            statuses, elapsed = poster.run(stack.callback_url, seconds=seconds / rounds)
            for status, count in statuses.items():
                front_statuses[status] = front_statuses.get(status, 0) + count
            accepted = statuses.get(200, 0)
            front_time += elapsed
            accepted_total += accepted
            bare, elapsed = poster.run(bare_url, count=sum(statuses.values()))
            bare_time += elapsed
            bare_total += bare.get(200, 0)
    finally:
        poster.close()
        server.shutdown()
        server.server_close()
    sent = sum(front_statuses.values())
    front_rate, bare_rate = accepted_total / front_time, bare_total / bare_time
    print(
        f"throughput: signed {THROUGHPUT_COMMAND} callbacks, unique RoomIds, {threads} threads, "
        f"{rounds} interleaved rounds"
    )
    others = ", ".join(
        f"{count} x {status or 'no answer'}"
        for status, count in sorted(front_statuses.items())
        if status != 200
    )
    print(
        f"  local front:  {accepted_total} of {sent} accepted in {front_time:.1f} s"
        f" = {front_rate:.0f} webhooks/s" + (f" (refused: {others})" if others else "")
    )
    print(f"  bare loopback HTTP, same POSTs: {bare_total} in {bare_time:.2f} s = {bare_rate:.0f} requests/s")
    ratio, cost = front_rate / bare_rate, bare_rate / front_rate
    front_ms, bare_ms = 1000 / front_rate * threads, 1000 / bare_rate * threads
    print(f"  ratio {ratio:.3f} of bare HTTP: each webhook costs {cost:.1f}x a bare request")
    print(f"  ({front_ms:.1f} ms vs {bare_ms:.2f} ms per request per thread)")
    return accepted_total > 0 and accepted_total == sent and bare_total == sent


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100, help="rooms followed to their Tencent call")
    parser.add_argument("--seconds", type=float, default=10.0, help="total POSTing time at the front")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import httpx

    from liveguard_local.stack import LocalStack, LocalStackError, LocalStackOptions
    from liveguard_local.stack.core import default_template

    template = default_template()
    options = LocalStackOptions(
        port=0,
        emulator_port=0,
        aws_port=0,
        template=template,
        state_dir=template.resolve().parent / ".liveguard" / "bench",
        visibility_timeout=5,
        console=lambda line: None,  # thousands of invocations; the records are read instead
    )
    began = time.monotonic()
    try:
        with LocalStack(options) as stack, httpx.Client(timeout=10) as http:
            print(
                f"local stack up in {stack.startup_seconds:.1f} s "
                f"({options.instances} instance per function, as the template's defaults)"
            )
            results = [bench_latency(stack, http, args.events)]
            results.append(bench_throughput(stack, args.seconds, args.threads, args.rounds))
            print("stopping the stack...")
    except LocalStackError as error:
        print(f"e2e: the local stack did not start: {error}", file=sys.stderr)
        return 1
    print(f"done in {time.monotonic() - began:.1f} s")
    print("PASS" if all(results) else "FAIL: see above")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
