"""LiveClient benchmarks against a loopback server that answers like Tencent.

1. Rate: calls/s achieved with the limiter at 200/s, over 10 s, as the server counts arrivals;
   target at least 95% of the limit and no calendar second (nor any sliding 1 s window) above it.
2. Overhead: LiveClient.call next to a bare httpx POST of the same body to the same server,
   measured in the same run in interleaved rounds; target at most 1.5x.

Run with `make bench` (or `python bench/client.py --seconds 10`).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

import httpx

from liveguard.tencent.client import LiveClient
from liveguard.tencent.commands.rooms import DestroyRoom
from liveguard.tencent.ratelimit import CommandRateLimiter
from liveguard.tencent.usersig import gen_usersig
from liveguard_local.tencent_stub import running_stub

SDK_APP_ID = 1400000001
SECRET_KEY = "bench-secret-key"
ADMIN = "administrator"


def most_in_window(times: list[float], window: float) -> int:
    best, left = 0, 0
    for right, t in enumerate(times):
        while times[left] <= t - window:
            left += 1
        best = max(best, right - left + 1)
    return best


def bench_rate(base_url: str, arrivals: list[tuple[float, str]], rate: int, seconds: float) -> bool:
    client = LiveClient(
        sdk_app_id=SDK_APP_ID,
        secret_key=SECRET_KEY,
        admin_identifier=ADMIN,
        base_url=base_url,
        http=httpx.Client(),
        limiter=CommandRateLimiter({"destroy_room": rate}),
    )
    request = DestroyRoom(room_id="bench-room")
    arrivals.clear()
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        client.call(request)
    times = sorted(t for t, command in arrivals if command == "destroy_room")
    span = times[-1] - times[0]
    achieved = (len(times) - 1) / span if span else math.inf
    per_second: dict[int, int] = {}
    for t in times:
        per_second[int(t - times[0])] = per_second.get(int(t - times[0]), 0) + 1
    full_seconds = [count for second, count in per_second.items() if second < int(span)]
    sliding = most_in_window(times, 1.0)
    ok = achieved >= 0.95 * rate and max(full_seconds) <= rate and sliding <= rate
    print(f"rate: configured {rate}/s, {len(times)} calls over {span:.2f}s")
    print(f"  achieved {achieved:.1f} calls/s = {achieved / rate:.3f} of the limit (target >= 0.95)")
    print(f"  busiest second from the first call: {max(full_seconds)} (limit {rate})")
    print(f"  busiest sliding 1 s window: {sliding} (limit {rate})")
    return ok


def bench_overhead(base_url: str, rounds: int, calls: int) -> bool:
    http = httpx.Client()
    client = LiveClient(
        sdk_app_id=SDK_APP_ID,
        secret_key=SECRET_KEY,
        admin_identifier=ADMIN,
        base_url=base_url,
        http=http,
        limiter=CommandRateLimiter({"destroy_room": 1_000_000}),
    )
    request = DestroyRoom(room_id="bench-room")
    url = base_url + "/v4/live_engine_http_srv/destroy_room"
    usersig = gen_usersig(SDK_APP_ID, SECRET_KEY, ADMIN)
    body = request.to_wire()

    def bare() -> None:
        params = {
            "sdkappid": str(SDK_APP_ID),
            "identifier": ADMIN,
            "usersig": usersig,
            "random": "12345",
            "contenttype": "json",
        }
        response = http.post(url, params=params, json=body)
        envelope = response.json()
        if envelope["ErrorCode"] != 0:
            raise RuntimeError(envelope)

    def ours() -> None:
        client.call(request)

    for warm in (bare, ours):
        for _ in range(50):
            warm()
    bare_us: list[float] = []
    ours_us: list[float] = []
    for round_ in range(rounds):
        # Alternate which goes first so drift on this shared machine hits both alike.
        order = [(bare, bare_us), (ours, ours_us)]
        for fn, into in order if round_ % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            into.append((time.perf_counter() - t0) / calls * 1e6)
    bare_median, ours_median = statistics.median(bare_us), statistics.median(ours_us)
    ratio = ours_median / bare_median
    print(f"overhead: {rounds} interleaved rounds of {calls} calls each")
    print(f"  bare httpx POST: {bare_median:.0f} us/call (median round)")
    print(f"  LiveClient.call: {ours_median:.0f} us/call (median round)")
    own = ours_median - bare_median
    print(f"  ratio {ratio:.2f}x (target <= 1.5x); LiveClient's own work {own:.0f} us/call")
    return ratio <= 1.5


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the rate run")
    parser.add_argument("--rate", type=int, default=200, help="configured calls/s for the rate run")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200, help="calls per round in the overhead run")
    args = parser.parse_args()
    with running_stub(SDK_APP_ID, SECRET_KEY, ADMIN) as stub:
        rate_ok = bench_rate(stub.base_url, stub.record.arrivals, args.rate, args.seconds)
        overhead_ok = bench_overhead(stub.base_url, args.rounds, args.calls)
        refused = stub.record.refused
    if refused:
        print(f"the server refused {len(refused)} calls: {refused[:3]}")
    print("PASS" if rate_ok and overhead_ok and not refused else "FAIL: a target was missed")
    return 0 if rate_ok and overhead_ok and not refused else 1


if __name__ == "__main__":
    sys.exit(main())
