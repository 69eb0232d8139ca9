"""One hot room (issue 11), for bench/scale.py: how fast the moderator and the actuator drain one
room's FIFO message group, and how long a mute takes to reach Tencent while the room runs at
150 webhooks/s. Both run on scale.py's local stack with the stated in-region latency of each AWS
call (DynamoDB 5 ms, SQS 10 ms) slept by its proxy before the call reaches moto.

1. Sustained drain. The moderator's pollers are paused (as a disabled event source mapping), and a
   backlog of one room's webhooks is POSTed through the API front and the real ingress, signed as
   Tencent signs them: the ingress builds and queues each envelope itself (verdicts, event ids,
   group), so the backlog is exactly what it would queue. Only what a rule acts on reaches the
   queue (quiet callbacks are answered and dropped), so the backlog holds the queued kinds at the
   issue's mix: before-send comments of many users, 3% moderated (from a few spammers, who get
   muted and banned, so the actuator works too), and gifts. The backlog is made without the
   injected latency (it is set-up, not measured); then latency is switched on and the pollers
   resume. The moderator's poller is timed in its own thread (receive, invocation, the rest of the
   batch: its deletes), batch by batch; the rate is the events of consecutive batches over their
   time, in a few windows, and the median window is reported. Lambda runs one batch at a time per
   FIFO message group: moto (made strict by liveguard_local.stack.motoserver) hands a group's next
   messages out only once the batch in flight is deleted, as SQS does, whatever the pollers.
2. Mute latency. Webhooks of the issue's mix (comments as a before- and an after-callback, enters
   and leaves, gifts, seat changes, follows; 3% of comments moderated) are POSTed through the front
   open-loop, paced at 150/s from a pool of connections, for a few seconds per run. Within each run
   one user sends three moderated comments about a second apart; the third strike mutes them (the
   default rules' strikes-mute). From the POST of that third comment to the emulator receiving its
   mute_member (the emulator's call record, its arrival); the median over the runs. Whether the front
   kept up is shown: the rate sent, answers other than 200, the answers' p50 and p99.
"""

from __future__ import annotations

import http.client as http_client
import json
import os
import queue
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

MODERATOR, ACTUATOR = "ModeratorFunction", "ActuatorFunction"
TARGET_DRAIN = 200.0  # webhooks/s of one room, at the mix
TARGET_MUTE_S = 2.0
RATE = 150.0  # webhooks/s of the room while the mute is timed
BACKLOG = 2400  # queued events of one room
WINDOWS = 5
MUTE_RUNS = 3
RUN_SECONDS = 6.0
SENDERS = 16  # connections posting the paced webhooks
# Ingress instances for the paced runs: Lambda runs one invocation per instance and adds instances
# as requests wait, so 150 webhooks/s at ~10-20 ms each keeps about 3 busy; the local stack starts
# with one (enough for the counting, which posts one webhook at a time).
INGRESS_INSTANCES = 4


@dataclass
class Cycle:
    """One batch of the moderator's poller, timed in its thread (monotonic seconds)."""

    received: float = 0.0  # the receive started
    events: int = 0
    invoked: float = 0.0
    returned: float = 0.0
    done: float = 0.0  # deletes done: the poller goes back to receive


class PollerTimer:
    """Wraps one SqsPoller's receive, invocation and batch handling to time each batch."""

    def __init__(self, poller: Any) -> None:
        self.cycles: list[Cycle] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        receive, invoke, handle = poller._receive, poller._invoke, poller._handle

        def timed_receive(sqs: Any) -> list[dict[str, Any]]:
            started = time.monotonic()
            messages: list[dict[str, Any]] = receive(sqs)
            self._local.cycle = Cycle(received=started, events=len(messages))
            return messages

        def timed_invoke(event: dict[str, Any]) -> Any:
            cycle = self._local.cycle
            cycle.invoked = time.monotonic()
            result = invoke(event)
            cycle.returned = time.monotonic()
            return result

        def timed_handle(sqs: Any, messages: list[dict[str, Any]]) -> None:
            handle(sqs, messages)
            cycle = self._local.cycle
            cycle.done = time.monotonic()
            with self._lock:
                self.cycles.append(cycle)

        poller._receive, poller._invoke, poller._handle = timed_receive, timed_invoke, timed_handle

    def since(self, start: float) -> list[Cycle]:
        with self._lock:
            return sorted((c for c in self.cycles if c.received >= start), key=lambda c: c.received)


@dataclass
class Drain:
    queued: int  # the backlog in the events queue when the pollers resumed
    events: int  # the events the moderator's batches held
    seconds: float
    windows: list[float]  # events/s of each window
    cycles: list[Cycle]
    moderator_calls: Counter[str]
    moderator_moto_s: float
    moderator_injected_s: float
    receive_moto_s: list[float]
    delete_moto_s: list[float]
    actions: int  # REST calls the actuator made for the room meanwhile
    failed: int  # invocations not ok


@dataclass
class Run:
    sent: int
    seconds: float
    statuses: Counter[int]
    answers_ms: list[float]
    mute_s: float | None


@dataclass
class HotRoom:
    drain: Drain
    runs: list[Run] = field(default_factory=list)
    queued_share: float = 0.0
    latency: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of each process over the runs
    runs_seconds: float = 0.0
    cores: int = 1


def _cpu_seconds(pid: int) -> float:
    """A process's user and system CPU seconds so far (Linux's /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_part(stack: Any) -> dict[str, float]:
    """CPU seconds so far of each process of the local stack (the stack's own handles: a bench may
    look inside); empty where /proc is not there."""
    pids = {"this process (front, proxy, emulator, pollers)": os.getpid()}
    moto = getattr(getattr(stack, "_moto", None), "_process", None)
    if moto is not None:
        pids["moto"] = moto.pid
    parts: dict[str, float] = {}
    try:
        for name, pid in pids.items():
            parts[name] = _cpu_seconds(pid)
        for function, pool in getattr(stack, "_pools", {}).items():
            instances = [i.process.pid for i in pool._instances if i.process is not None]
            parts[function.removesuffix("Function").lower()] = sum(map(_cpu_seconds, instances))
    except OSError:
        return {}
    return parts


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


class HotRoomBench:
    """Runs on scale.py's stack; ``proxy`` is its counting proxy, ``webhooks`` its signed POSTs."""

    def __init__(self, stack: Any, proxy: Any, webhooks: Any, scenarios: Sequence[Any], quiet: set[str]):
        import boto3
        import httpx

        self.stack = stack
        self.proxy = proxy
        self.webhooks = webhooks
        self.scenarios = list(scenarios)
        self.quiet = quiet
        self.http = httpx.Client(timeout=10)
        # Straight to moto, not through the proxy: the bench's own looks are neither counted nor slowed.
        self.sqs = boto3.client(
            "sqs",
            endpoint_url=stack.aws_url,
            region_name=stack.options.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.queues = stack.settings()["queues"]
        self.random = random.Random(11)

    # --- the emulator and the queues ---

    def _client(self, action: str, **fields: Any) -> None:
        self.http.post(
            f"{self.stack.emulator_url}/emulator/v1/client/{action}",
            json={"Platform": "Android", **fields},
        ).raise_for_status()

    def open_room(self, room: str, members: Sequence[str]) -> None:
        self._client("create_room", UserId=f"host-{room}", RoomId=room, RoomName="hot room")
        for member in members:
            self._client("enter_room", UserId=member, RoomId=room)
        self.http.get(f"{self.stack.emulator_url}/emulator/v1/webhooks")  # its webhooks delivered
        self.wait_empty(30)

    def calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self.http.get(f"{self.stack.emulator_url}/emulator/v1/calls").json()[
            "calls"
        ]
        return calls

    def depth(self, name: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queues[name],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def wait_empty(self, timeout: float) -> None:
        """Until the events and actions queues are empty (looked at four times a second: each look
        costs moto a pass over the queue)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.depth("EventsQueue") == 0 and self.depth("ActionsQueue") == 0:
                return
            time.sleep(0.25)

    # --- posting ---

    def _post_all(self, items: list[tuple[float, Any, dict[str, Any]]], senders: int) -> list[Any]:
        """POST (not before its time, monotonic) each (time, scenario, body) from ``senders``
        connections; (status, sent at, answered at) of each, in order."""
        from urllib.parse import urlencode, urlsplit

        url = urlsplit(self.webhooks.url)
        work: queue.Queue[int | None] = queue.Queue()
        for index in range(len(items)):
            work.put(index)
        results: list[Any] = [None] * len(items)

        def sender() -> None:
            # http.client, not httpx: the senders share this process (and its GIL) with the front,
            # the proxy and the emulator, and should cost them as little as they can.
            http = http_client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
            while (index := work.get()) is not None:
                at, scenario, body = items[index]
                content = json.dumps(body).encode()
                wait = at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                sent, wall = time.monotonic(), time.time()
                try:
                    http.request(
                        "POST",
                        f"{url.path}?{urlencode(self.webhooks.query(scenario.command))}",
                        body=content,
                        headers={"Content-Type": "application/json"},
                    )
                    response = http.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http_client.HTTPException):
                    http.close()
                    status = 0
                results[index] = (status, sent, time.monotonic(), wall)
            http.close()

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
        for thread in threads:
            work.put(None)
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def _queued_mix(self) -> list[tuple[Any, float]]:
        return [(s, s.weight) for s in self.scenarios if s.command not in self.quiet]

    # --- 1. the drain ---

    def drain(self, latency: dict[str, float], backlog: int) -> Drain:
        room = "hot-drain"
        spammers = [f"hot-spammer-{n}" for n in range(10)]
        self.open_room(room, spammers)
        (poller,) = self.stack.pollers(MODERATOR)
        timer = PollerTimer(poller)
        mix = self._queued_mix()
        items = []
        for index in range(backlog):
            (scenario,) = self.random.choices([s for s, _ in mix], weights=[w for _, w in mix])
            user = spammers[index % len(spammers)] if scenario.moderated else f"hot-viewer-{index}"
            items.append((0.0, scenario, self.webhooks.body(scenario, room, user)))
        if not poller.pause():
            raise RuntimeError("the moderator's pollers did not pause")
        try:
            statuses = Counter(status for status, *_ in self._post_all(items, 4))
            if set(statuses) != {200}:
                raise RuntimeError(f"the backlog's webhooks were answered {dict(statuses)}")
            calls_before = len(self.calls())
            self.proxy.handler.latency = dict(latency)
            since = len(self.proxy.calls)
            queued = self.depth("EventsQueue")
        finally:
            started, wall = time.monotonic(), time.time()
            poller.resume()
        # Drained when the moderator's batches have held the backlog: timed in the poller, not by
        # asking moto (each look at a queue's depth costs it a pass over the backlog).
        deadline = started + 120
        while sum(c.events for c in timer.since(started)) < queued and time.monotonic() < deadline:
            time.sleep(0.05)
        cycles = [c for c in timer.since(started) if c.events]
        ended = max((c.done for c in cycles), default=time.monotonic())
        self.wait_empty(30)  # the actuator's work too, before the next part
        events = sum(c.events for c in cycles)
        size = max(1, len(cycles) // WINDOWS)
        windows = []
        for start in range(0, len(cycles) - size + 1, size):
            part = cycles[start : start + size]
            windows.append(sum(c.events for c in part) / (part[-1].done - part[0].received))
        calls = [c for c in self.proxy.calls[since:] if c.at <= ended]
        mine = [c for c in calls if c.caller == MODERATOR]
        events_queue = [c for c in calls if c.caller == "pollers" and c.queue.startswith("liveguard-events-")]
        invocations = [
            i for i in list(self.stack.invocations) if i.function in (MODERATOR, ACTUATOR) and i.at >= wall
        ]
        room_calls = [c for c in self.calls()[calls_before:] if (c.get("body") or {}).get("RoomId") == room]
        return Drain(
            queued=queued,
            events=events,
            seconds=ended - started,
            windows=windows,
            cycles=cycles,
            moderator_calls=Counter(c.operation for c in mine),
            moderator_moto_s=sum(c.elapsed for c in mine),
            moderator_injected_s=sum(latency.get(c.service, 0.0) for c in mine),
            receive_moto_s=[
                c.elapsed for c in events_queue if c.operation == "ReceiveMessage" and c.messages
            ],
            delete_moto_s=[c.elapsed for c in events_queue if c.operation == "DeleteMessageBatch"],
            actions=len(room_calls),
            failed=sum(1 for i in invocations if i.outcome != "ok"),
        )

    # --- 2. the mute at 150 webhooks/s ---

    def mute_run(self, run: int) -> Run:
        room = f"hot-mute-{run}"
        spammer = f"hot-muted-{run}"
        self.open_room(room, [spammer])
        count = int(RATE * RUN_SECONDS)
        weights = [s.weight for s in self.scenarios]
        moderated = next(s for s in self.scenarios if s.moderated)
        strikes = {int(RATE * t): n for n, t in enumerate((0.5, 1.5, 3.0), start=1)}
        start = time.monotonic() + 0.2
        items = []
        for index in range(count):
            if index in strikes:
                scenario, user = moderated, spammer
            else:
                (scenario,) = self.random.choices(self.scenarios, weights=weights)
                user = f"hot-viewer-{run}-{index}"
            items.append((start + index / RATE, scenario, self.webhooks.body(scenario, room, user)))
        calls_before = len(self.calls())
        results = self._post_all(items, SENDERS)
        mute_index = max(strikes)
        posted_at = results[mute_index][3]

        def mute() -> dict[str, Any] | None:
            for call in self.calls()[calls_before:]:
                body = call.get("body") or {}
                if call["command"] == "mute_member" and spammer in (body.get("MemberList_Account") or []):
                    return call
            return None

        deadline = time.monotonic() + 15
        found = mute()  # the call record has its own time: no need to look often
        while found is None and time.monotonic() < deadline:
            time.sleep(0.25)
            found = mute()
        self.wait_empty(30)
        arrived = float(found["at"]) - float(found["latency_ms"]) / 1000 if found else None
        sent = [r[1] for r in results]
        return Run(
            sent=len(results),
            seconds=max(sent) - min(sent),
            statuses=Counter(r[0] for r in results),
            answers_ms=[(r[2] - r[1]) * 1000 for r in results],
            mute_s=None if arrived is None else arrived - posted_at,
        )


def measure(
    stack: Any,
    proxy: Any,
    webhooks: Any,
    scenarios: Sequence[Any],
    quiet: set[str],
    latency: dict[str, float],
    *,
    backlog: int = BACKLOG,
    runs: int = MUTE_RUNS,
) -> HotRoom:
    bench = HotRoomBench(stack, proxy, webhooks, scenarios, quiet)
    try:
        drain = bench.drain(latency, backlog)
        result = HotRoom(drain=drain, latency=dict(latency))
        result.queued_share = sum(s.weight for s in scenarios if s.command not in quiet)
        stack.scale("IngressFunction", INGRESS_INSTANCES)
        before, started = cpu_by_part(stack), time.monotonic()
        for run in range(runs):
            result.runs.append(bench.mute_run(run))
        after = cpu_by_part(stack)
        result.cpu = {part: after[part] - before.get(part, 0.0) for part in after}
        result.runs_seconds = time.monotonic() - started
        result.cores = os.cpu_count() or 1
    finally:
        proxy.handler.latency = {}
        bench.http.close()
    return result


def receive_floor(latency: dict[str, float], per_batch: dict[str, float]) -> float:
    """Milliseconds of stated latency in one batch: the receive and the delete (SQS) and the
    moderator's calls."""
    sqs, ddb = latency.get("sqs", 0.0), latency.get("dynamodb", 0.0)
    sends = {"SendMessageBatch", "SendMessage"}
    calls = sum(n * (sqs if op in sends else ddb) for op, n in per_batch.items())
    return (2 * sqs + calls) * 1000


def report(result: HotRoom, short: Callable[[str], str] = str) -> bool:
    drain = result.drain
    latency = result.latency
    rate = _median(drain.windows)
    cycles = drain.cycles
    batches = len(cycles) or 1
    print(
        "one hot room: one FIFO message group, every AWS call slowed by its stated in-region latency"
        f" (DynamoDB {latency.get('dynamodb', 0) * 1000:g} ms, SQS {latency.get('sqs', 0) * 1000:g} ms)"
    )
    print(
        f"  drain: {drain.events} queued events of one room (comments of many users, 3% moderated, and"
        f" gifts) in {drain.seconds:.1f} s; events/s by window of {len(cycles) // max(1, len(drain.windows))}"
        f" batches: {', '.join(f'{w:.0f}' for w in drain.windows)}"
    )
    receive = _median([c.invoked - c.received for c in cycles]) * 1000
    invoke = _median([c.returned - c.invoked for c in cycles]) * 1000
    rest = _median([c.done - c.returned for c in cycles]) * 1000
    cycle = _median([c.done - c.received for c in cycles]) * 1000
    per_batch = {op: n / batches for op, n in sorted(drain.moderator_calls.items())}
    print(
        f"  per batch (medians): {_median([c.events for c in cycles]):.0f} events, {cycle:.1f} ms:"
        f" receive {receive:.1f} (moto {_median(drain.receive_moto_s) * 1000:.1f}),"
        f" moderator {invoke:.1f}, deletes {rest:.1f} (moto {_median(drain.delete_moto_s) * 1000:.1f})"
    )
    print(
        f"  the moderator's AWS calls per batch: {', '.join(f'{op} {n:.2f}' for op, n in per_batch.items())};"
        f" {drain.moderator_moto_s / batches * 1000:.1f} ms in moto,"
        f" {drain.moderator_injected_s / batches * 1000:.1f} ms injected;"
        f" the actuator made {drain.actions} REST calls for the room meanwhile"
    )
    # Information, not the target: the same batches less moto's own time (SQS's and DynamoDB's time
    # in AWS is within the stated latency, which stays in). Means, so that the parts add up.
    events = sum(c.events for c in cycles) / batches
    mean_cycle = sum(c.done - c.received for c in cycles) / batches * 1000
    moto_batch = (sum(drain.receive_moto_s) + sum(drain.delete_moto_s) + drain.moderator_moto_s) / batches
    moto_batch *= 1000
    floor = receive_floor(latency, per_batch)
    print(
        f"  means per batch: {mean_cycle:.1f} ms, {moto_batch:.1f} of them in moto; less moto's own time"
        f" (the injected latency stays): {events / max(mean_cycle - moto_batch, 1e-3) * 1000:.0f} events/s;"
        f" the stated latency alone ({floor:.1f} ms: receive, the moderator's calls, delete) allows"
        f" {events / max(floor, 1e-3) * 1000:.0f}"
    )
    share = result.queued_share
    print(
        f"  sustained: {rate:.0f} queued events/s (median window); at the issue's mix {share:.0%} of a"
        f" room's webhooks are queued, so {rate / share if share else 0:.0f} webhooks/s of the room"
    )
    # The room's webhooks, as the issue counts them and as every figure of scale.py is taken: at the
    # issue's mix, where the callbacks no rule listens to never reach the room's group. A room whose
    # every webhook were queued would sustain the queued rate above.
    room_rate = rate / share if share else 0.0
    drain_met = room_rate >= TARGET_DRAIN and not drain.failed
    print(
        f"  one room >= {TARGET_DRAIN:.0f} webhooks/s at the issue's mix: {room_rate:.0f}/s "
        + ("met" if drain_met else "MISSED")
        + (f" ({drain.failed} invocations failed)" if drain.failed else "")
    )
    mutes = [r.mute_s for r in result.runs]
    statuses: Counter[int] = Counter()
    for run in result.runs:
        statuses.update(run.statuses)
    answers = [ms for run in result.runs for ms in run.answers_ms]
    sent = _median([run.sent / run.seconds for run in result.runs if run.seconds])
    refused = {status: n for status, n in statuses.items() if status != 200}
    print(
        f"  at {RATE:.0f} webhooks/s through the front (issue's mix, {len(result.runs)} runs of"
        f" {RUN_SECONDS:g} s): sent {sent:.0f}/s, answers {dict(sorted(statuses.items()))},"
        f" p50 {_pct(answers, 0.5):.0f} ms, p99 {_pct(answers, 0.99):.0f} ms"
    )
    timed = [m for m in mutes if m is not None]
    print(
        "  the strike that earns a mute -> mute_member at Tencent: "
        + ", ".join("not seen" if m is None else f"{m:.2f} s" for m in mutes)
        + (f"; median {_median(timed):.2f} s" if timed else "")
    )
    if result.cpu:
        busy = sum(result.cpu.values())
        print(
            f"  CPU over those runs ({result.runs_seconds:.0f} s, {result.cores} cores shared with whatever"
            f" else runs here): {busy:.1f} s, "
            + ", ".join(
                f"{part} {seconds:.1f}" for part, seconds in sorted(result.cpu.items(), key=lambda x: -x[1])
            )
        )
    kept_up = not refused and sent >= RATE * 0.95
    mute_met = len(timed) == len(mutes) and bool(timed) and _median(timed) <= TARGET_MUTE_S and kept_up
    print(
        f"  that mute within {TARGET_MUTE_S:g} s at {RATE:.0f} webhooks/s: "
        + ("met" if mute_met else "MISSED")
        + ("" if kept_up else " (the front did not keep up with the rate)")
    )
    return drain_met and mute_met
