"""Moderation benchmarks, each next to a baseline measured in the same run.

1. Engine: events/s of liveguard.rules.engine.evaluate on one core (CPU time), with the default
   rules and a 1,000-term banned list, over a live room's mix of callbacks, next to parsing the same
   events with parse_callback. Target: at least 10,000 events/s.
2. Actuator: sustained set_room_metadata calls/s through the actuator (SQS batches of 10 handled
   as the function runs them, Powertools' FIFO batch processor over Actuator.handle_record: message
   validation, Powertools idempotency, LiveClient with its rate limiter, the audit) against the
   Tencent emulator's 200 calls/s limit over ~10 s, next to LiveClient alone. Run as one process and
   as four (threads standing for four Lambda instances, ACTUATOR_CONCURRENCY=4, each limited to a
   quarter of the rate). Target: at least 95% of the limit, and zero 60007 as the emulator counts
   them. The idempotency store and the audit are in memory here: this measures the actuator, not
   DynamoDB's latency, which concurrency absorbs.

Run with `make bench` (or `python bench/moderation.py --seconds 10`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SDK_APP_ID = 1400000001
SECRET_KEY = "bench-secret-key"
ADMIN = "administrator"
LIMIT = 200  # Tencent's (and the emulator's) calls per second for set_room_metadata

# --- 1. the engine ---------------------------------------------------------------------------------

# A live room's traffic: comments dominate, then members coming and going, gifts, metadata.
MIX = [
    ("Group.CallbackBeforeSendMsg", 50),
    ("Group.CallbackAfterSendMsg", 20),
    ("Live.CallbackAfterMemberStateChanged", 10),
    ("Live.CallbackBeforeSendGift", 8),
    ("Live.CallbackAfterSetMetadata", 6),
    ("Live.CallbackAfterUpdateRoomInfo", 3),
    ("Live.CallbackAfterCreateRoom", 2),
    ("ContentCallback.ResultNotify", 1),
]
ALPHABET = "abcdefghijklmnopqrstuvwxyz"


class BenchState:
    """A StateView with some history: one user in ten already has strikes (enough for the mute or
    the ban threshold), one in fifty is muted, protected keys have approved values."""

    def strike_count(self, room_id: str, user_id: str, window_seconds: int, now: float) -> int:
        return {0: 4, 1: 7}.get(sum(map(ord, user_id)) % 20, 0)

    def approved_value(self, room_id: str, key: str) -> str | None:
        return "approved" if key.endswith("0") else None

    def violation_count(self, room_id: str, kind: str, window_seconds: int, now: float) -> int:
        return len(room_id) % 3

    def sanction(self, room_id: str, user_id: str, now: float) -> Any:
        return "muted" if sum(map(ord, user_id)) % 50 == 7 else None


def _words(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(2, 9))) for _ in range(count)]


def _text(rng: random.Random, banned: list[str], chance: float = 0.1) -> str:
    words = _words(rng, rng.randint(3, 20))
    if rng.random() < chance:
        words.insert(rng.randint(0, len(words)), rng.choice(banned).upper())
    return " ".join(words)


def engine_events(count: int, banned: list[str], seed: int = 11) -> list[tuple[str, dict[str, Any]]]:
    """(CallbackCommand, body) pairs in the MIX's proportions, by users, 10% with a banned term."""
    from liveguard_local.events import CALLBACK_BODIES

    rng = random.Random(seed)
    commands = [command for command, weight in MIX for _ in range(weight)]
    events = []
    for index in range(count):
        command = rng.choice(commands)
        body = json.loads(json.dumps(CALLBACK_BODIES[command]))
        user = f"viewer-{rng.randint(1, 500)}"
        room = f"live-{rng.randint(1, 50)}"
        if command.startswith("Group."):
            body.update(GroupId=room, From_Account=user, Operator_Account=user, Random=index)
            body["MsgBody"] = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": _text(rng, banned)}}]
        elif command == "Live.CallbackAfterSetMetadata":
            body.update(Operator_Account=user, RoomId=room)
            body["Metadata"] = [
                {
                    "Key": rng.choice(["topic", "lang", "title", "cover", "lg.rules-version"]),
                    "Value": _text(rng, banned),
                }
                for _ in range(rng.randint(1, 3))
            ]
        elif command in ("Live.CallbackAfterUpdateRoomInfo", "Live.CallbackAfterCreateRoom"):
            body["Operator_Account"] = user
            body["RoomInfo"] = {**body["RoomInfo"], "RoomId": room, "RoomName": _text(rng, banned, 0.2)}
        elif command == "Live.CallbackBeforeSendGift":
            body.update(Operator_Account=user, RoomId=room)
            body["GiftWater"] = {
                **body["GiftWater"],
                "From_Account": user,
                "Count": 200 if rng.random() < 0.05 else rng.randint(1, 10),
            }
        elif command == "Live.CallbackAfterMemberStateChanged":
            body.update(RoomId=room, MemberList=[{"Member_Account": user}])
        elif command == "ContentCallback.ResultNotify":
            body.update(From_Account=user, CtxcbLabel=rng.choice(["Ad", "Porn", "Normal"]))
            body["ContactItem"] = {**body["ContactItem"], "ToGroupId": room}
        events.append((command, body))
    return events


@contextlib.contextmanager
def default_rules_with_terms(terms: list[str]) -> Iterator[Path]:
    """The layer's default rules file, its banned list replaced by ``terms``, in a temporary folder."""
    from liveguard.rules import loader

    defaults = Path(loader.__file__).with_name("defaults.yaml")
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(defaults, Path(folder) / "rules.yaml")
        (Path(folder) / "terms").mkdir()
        (Path(folder) / "terms" / "banned.txt").write_text("\n".join(terms) + "\n", encoding="utf-8")
        yield Path(folder) / "rules.yaml"


def bench_engine(events_count: int, rounds: int) -> bool:
    from liveguard.rules.engine import evaluate
    from liveguard.rules.loader import load_rules
    from liveguard.webhooks.models import parse_callback

    rng = random.Random(7)
    # Banned terms (word mode with evasion, the default): words of 5 to 10 letters, a third of them
    # two-word phrases.
    unique: set[str] = set()
    while len(unique) < 1000:
        words = [
            "".join(rng.choice(ALPHABET) for _ in range(rng.randint(5, 10)))
            for _ in range(rng.choice([1, 1, 2]))
        ]
        unique.add(" ".join(words))
    terms = sorted(unique)
    with default_rules_with_terms(terms) as path:
        rules = load_rules(path)
    raw = engine_events(events_count, terms)
    parsed = [parse_callback(command, body) for command, body in raw]
    ids = [hashlib.sha256(str(index).encode()).hexdigest() for index in range(len(raw))]
    state = BenchState()
    now = time.time()

    def parse_run() -> float:
        started = time.process_time()
        for command, body in raw:
            parse_callback(command, body)
        return time.process_time() - started

    fired = actions = 0

    def engine_run() -> float:
        nonlocal fired, actions
        fired = actions = 0
        started = time.process_time()
        for event, event_id in zip(parsed, ids, strict=True):
            decision = evaluate(event, state, rules, now=now, admin=ADMIN, event_id=event_id)
            fired += bool(decision.fired)
            actions += len(decision.actions)
        return time.process_time() - started

    def both_run() -> float:
        started = time.process_time()
        for (command, body), event_id in zip(raw, ids, strict=True):
            evaluate(parse_callback(command, body), state, rules, now=now, admin=ADMIN, event_id=event_id)
        return time.process_time() - started

    runs: list[tuple[Callable[[], float], list[float]]] = [(parse_run, []), (engine_run, []), (both_run, [])]
    for run, _ in runs:
        run()  # warm up
    for round_ in range(rounds):
        for run, into in runs if round_ % 2 == 0 else runs[::-1]:
            into.append(run())
    parse_s, engine_s, both_s = (statistics.median(into) for _, into in runs)
    n = len(raw)
    engine_rate = n / engine_s
    print(f"engine: {n} events ({len(terms)} banned terms, default rules: {rules.summary()})")
    print(
        f"  {fired} events fired a rule, {actions} actions; CPU time, median of {rounds} interleaved rounds"
    )
    print(
        f"  baseline parse_callback only:   {n / parse_s:>9,.0f} events/s ({parse_s / n * 1e6:.1f} us/event)"
    )
    print(
        f"  engine evaluate, parsed events: {engine_rate:>9,.0f} events/s ({engine_s / n * 1e6:.1f} us/event)"
    )
    print(f"  parse + evaluate:               {n / both_s:>9,.0f} events/s = {both_s / parse_s:.1f}x parsing")
    print(f"  target >= 10,000 events/s for the engine: {'met' if engine_rate >= 10_000 else 'MISSED'}")
    return engine_rate >= 10_000


# --- 2. the actuator -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_emulator() -> Iterator[str]:
    """The Tencent emulator in its own process (its own interpreter lock, as Tencent is elsewhere)."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "liveguard_local.emulator",
            "--port",
            str(port),
            "--sdkappid",
            str(SDK_APP_ID),
            "--secret-key",
            SECRET_KEY,
            "--admin",
            ADMIN,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{base_url}/emulator/v1/faults", timeout=0.5).raise_for_status()
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the emulator did not start")
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


class InMemoryIdempotency:
    """Powertools' persistence contract (conditional put, get, update, delete) over a dict: the
    actuator's idempotency code runs in full, without DynamoDB's round trips."""

    @staticmethod
    def make() -> Any:
        from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyItemAlreadyExistsError,
            IdempotencyItemNotFoundError,
        )
        from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
            STATUS_CONSTANTS,
            DataRecord,
        )

        class Store(BasePersistenceLayer):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__()
                self.records: dict[str, DataRecord] = {}
                self.lock = threading.Lock()

            def _get_record(self, idempotency_key: str) -> DataRecord:
                with self.lock:
                    if idempotency_key not in self.records:
                        raise IdempotencyItemNotFoundError
                    return self.records[idempotency_key]

            def _put_record(self, data_record: DataRecord) -> None:
                now_ms = int(datetime.now().timestamp() * 1000)
                with self.lock:
                    old = self.records.get(data_record.idempotency_key)
                    stale = old is None or old.is_expired
                    if old is not None and old.status == STATUS_CONSTANTS["INPROGRESS"]:
                        stale = stale or (old.in_progress_expiry_timestamp or now_ms) < now_ms
                    if not stale:
                        raise IdempotencyItemAlreadyExistsError(old_data_record=old)
                    self.records[data_record.idempotency_key] = data_record

            def _update_record(self, data_record: DataRecord) -> None:
                with self.lock:
                    self.records[data_record.idempotency_key] = data_record

            def _delete_record(self, data_record: DataRecord) -> None:
                with self.lock:
                    self.records.pop(data_record.idempotency_key, None)

        return Store()


class ListAudit:
    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []

    def audit(self, room_id: str | None, record: Any) -> None:
        self.records.append((record.id, record.outcome))


class NoQueues:
    """Nothing is dead-lettered or delayed in this run; fail loudly if something is."""

    def dead_letter(self, body: Any, *, group: str, deduplication_id: str) -> None:
        raise RuntimeError(f"unexpected dead letter: {body}")

    def delay(self, action: Any, seconds: int) -> None:
        raise RuntimeError(f"unexpected delay of {seconds}s")


class Context:
    function_name = "ActuatorFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ActuatorFunction"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def live_client(base_url: str, concurrency: int = 1) -> Any:
    from liveguard.tencent.client import LiveClient
    from liveguard.tencent.ratelimit import CommandRateLimiter

    return LiveClient(
        sdk_app_id=SDK_APP_ID,
        secret_key=SECRET_KEY,
        admin_identifier=ADMIN,
        base_url=base_url,
        http=httpx.Client(),
        limiter=CommandRateLimiter(concurrency=concurrency),
    )


def set_metadata_params(room: str, index: int) -> dict[str, Any]:
    return {"RoomId": room, "Metadata": [{"Key": f"k{index % 10}", "Value": f"v{index}"}]}


def sqs_batch(room: str, start: int, size: int = 10) -> dict[str, Any]:
    """An SQS event of ``size`` set_room_metadata actions for ``room``, as Lambda delivers it."""
    from liveguard.messages import ActionMessage, action_id

    records = []
    for index in range(start, start + size):
        cause = hashlib.sha256(f"{room}-{index}".encode()).hexdigest()
        params = set_metadata_params(room, index)
        action = ActionMessage(
            id=action_id(cause, "bench", "set_room_metadata", params),
            command="set_room_metadata",
            params=params,
            room=room,
            rule="bench",
            cause=cause,
        )
        records.append(
            {
                "messageId": f"{room}-{index}",
                "receiptHandle": f"handle-{room}-{index}",
                "body": action.model_dump_json(),
                "attributes": {"MessageGroupId": room, "ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:liveguard-actions-bench.fifo",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


class Emulator:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(timeout=30)

    def fresh_rooms(self, rooms: list[str]) -> None:
        # The previous run's last calls must not share a calendar second with this run's first:
        # the emulator counts per second, and a new run's limiters know nothing of the last one's.
        time.sleep(1.1)
        self.http.post(f"{self.base_url}/emulator/v1/reset").raise_for_status()
        client = live_client(self.base_url)
        for room in rooms:
            client.execute("create_room", {"RoomInfo": {"RoomId": room, "RoomType": "Live"}})

    def calls(self, command: str) -> list[dict[str, Any]]:
        calls = self.http.get(f"{self.base_url}/emulator/v1/calls").json()["calls"]
        return [call for call in calls if call["command"] == command]


def report(label: str, calls: list[dict[str, Any]], cpu: float) -> tuple[float, int]:
    times = sorted(call["at"] for call in calls)
    span = times[-1] - times[0]
    rate = (len(times) - 1) / span if span else 0.0
    refused = sum(1 for call in calls if call["code"] == 60007)
    other = sum(1 for call in calls if call["code"] not in (0, 60007))
    per_call = cpu / max(len(calls), 1) * 1e6
    print(
        f"  {label:<38} {rate:6.1f} calls/s = {rate / LIMIT:.3f} of {LIMIT}/s; "
        f"{refused} x 60007, {other} other errors; {per_call:.0f} us CPU/call in this process"
    )
    return rate, refused + other


def run_liveclient(emulator: Emulator, seconds: float) -> tuple[float, int]:
    emulator.fresh_rooms(["bench-0"])
    client = live_client(emulator.base_url)
    cpu, started, index = time.process_time(), time.monotonic(), 0
    while time.monotonic() - started < seconds:
        client.execute("set_room_metadata", set_metadata_params("bench-0", index))
        index += 1
    return report(
        "LiveClient alone (baseline)", emulator.calls("set_room_metadata"), time.process_time() - cpu
    )


def run_actuator(emulator: Emulator, seconds: float, workers: int) -> tuple[float, int]:
    """``workers`` actuators at ACTUATOR_CONCURRENCY=workers, each on its own room's batches."""
    from aws_lambda_powertools.utilities.batch import process_partial_response

    from liveguard.actuator import ActionOutcome, Actuator
    from liveguard.aws.batch import fifo_batch_processor
    from liveguard.aws.idempotency import PowertoolsIdempotency

    rooms = [f"bench-{n}" for n in range(workers)]
    emulator.fresh_rooms(rooms)
    store = InMemoryIdempotency.make()
    audits = [ListAudit() for _ in rooms]
    errors: list[BaseException] = []
    stop = threading.Event()

    def work(room: str, audit: ListAudit) -> None:
        client = live_client(emulator.base_url, concurrency=workers)
        actuator = Actuator(
            client=lambda: client, idempotency=PowertoolsIdempotency(store), queues=NoQueues(), audit=audit
        )
        processor = fifo_batch_processor()
        start = 0
        try:
            while not stop.is_set():
                response = process_partial_response(
                    event=sqs_batch(room, start),
                    record_handler=actuator.handle_record,
                    processor=processor,
                    context=Context(),  # type: ignore[arg-type]
                )
                if response["batchItemFailures"]:
                    raise RuntimeError(f"records failed: {response}")
                start += 10
        except BaseException as error:  # report it after the run, whatever it is
            errors.append(error)
            stop.set()

    threads = [
        threading.Thread(target=work, args=(room, audit)) for room, audit in zip(rooms, audits, strict=True)
    ]
    cpu = time.process_time()
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    cpu = time.process_time() - cpu
    if errors:
        raise errors[0]
    done = sum(1 for audit in audits for _, outcome in audit.records if outcome == ActionOutcome.DONE)
    label = f"actuator x{workers} (ACTUATOR_CONCURRENCY={workers})"
    rate, bad = report(label, emulator.calls("set_room_metadata"), cpu)
    print(f"  {'':<38} {done} actions done, each audited once")
    return rate, bad


def bench_actuator(seconds: float, concurrencies: list[int]) -> bool:
    print(f"actuator: set_room_metadata over {seconds:.0f} s each, against the emulator's {LIMIT}/s")
    with running_emulator() as base_url:
        emulator = Emulator(base_url)
        baseline, baseline_bad = run_liveclient(emulator, seconds)
        results = [run_actuator(emulator, seconds, workers) for workers in concurrencies]
    ok = all(rate >= 0.95 * LIMIT and bad == 0 for rate, bad in results)
    ratios = ", ".join(f"{rate / baseline:.3f}" for rate, _ in results) if baseline else "-"
    print(f"  actuator / LiveClient calls/s: {ratios}")
    print(f"  target >= {0.95 * LIMIT:.0f} calls/s and zero 60007: {'met' if ok else 'MISSED'}")
    return ok and baseline_bad == 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000, help="events per engine round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each actuator run")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 4], help="actuator runs, by ACTUATOR_CONCURRENCY"
    )
    parser.add_argument("--only", choices=["engine", "actuator"])
    args = parser.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    results = []
    if args.only in (None, "engine"):
        results.append(bench_engine(args.events, args.rounds))
    if args.only in (None, "actuator"):
        results.append(bench_actuator(args.seconds, args.concurrency))
    print("PASS" if all(results) else "FAIL: a target was missed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
