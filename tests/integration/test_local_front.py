"""The local stack's API front over HTTP, with template.yaml's HTTP API: the events it hands the
function, the stage's throttle read from DefaultRouteSettings, and an HTTP API's answers."""

from pathlib import Path
from typing import Any

import httpx

from liveguard_local.stack.front import ApiFront, Route
from liveguard_local.stack.template import Template
from liveguard_local.stack.workers import Result

ROOT = Path(__file__).resolve().parents[2]


def _serve(parameters: dict[str, str]) -> tuple[ApiFront, list[dict[str, Any]]]:
    template = Template(ROOT / "template.yaml", {"Stage": "local", **parameters})
    routes = [Route.of(function, route, template.api(route.api)) for function, route in template.api_routes()]
    events: list[dict[str, Any]] = []

    def invoke(function: str, event: dict[str, Any]) -> Result:
        events.append(event)
        return Result(
            "ok", payload={"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
        )

    front = ApiFront("127.0.0.1", 0)
    front.serve(routes, invoke, lambda *_: None)
    return front, events


def test_the_front_throttles_the_http_api_stage_by_its_default_route_settings() -> None:
    # Given the template's HTTP API with its stage throttled to 1 request/s, bursts of 2
    front, events = _serve({"ApiThrottlingRateLimit": "1", "ApiThrottlingBurstLimit": "2"})
    try:
        # When five webhooks arrive at once
        with httpx.Client(timeout=10) as http:
            answers = [
                http.post(
                    f"{front.url}/tencent/callback?CallbackCommand=Live.CallbackAfterCreateRoom",
                    content=b"{}",
                )
                for _ in range(5)
            ]
    finally:
        front.stop()
    statuses = [answer.status_code for answer in answers]
    # Then the burst is taken and the rest refused 429 without calling the function, as API Gateway does
    assert statuses[:2] == [200, 200]
    assert 429 in statuses[2:]
    assert len(events) == statuses.count(200)
    assert answers[statuses.index(429)].json() == {"message": "Too Many Requests"}


def test_the_front_hands_the_ingress_a_payload_format_2_event_and_answers_unknown_routes_404() -> None:
    # Given the template's HTTP API, unthrottled for this test's few requests
    front, events = _serve({})
    try:
        with httpx.Client(timeout=10) as http:
            # When Tencent posts a webhook, and someone posts where no route is
            http.post(
                f"{front.url}/tencent/callback?CallbackCommand=Live.CallbackAfterCreateRoom&Sign=a&Sign=b",
                content=b'{"RoomId": "r1"}',
                headers={"Content-Type": "application/json", "X-Extra": "1"},
            )
            nowhere = http.post(f"{front.url}/nowhere", content=b"{}")
    finally:
        front.stop()
    # Then the ingress gets the HTTP API's event (2.0: lowercase headers, repeated names joined)
    (event,) = events
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /tencent/callback"
    assert event["queryStringParameters"]["Sign"] == "a,b"
    assert event["headers"]["x-extra"] == "1"
    assert event["body"] == '{"RoomId": "r1"}'
    assert event["requestContext"]["stage"] == "local"
    # And an unknown route is an HTTP API's 404, not a REST API's 403
    assert (nowhere.status_code, nowhere.json()) == (404, {"message": "Not Found"})
