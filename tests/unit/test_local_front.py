"""The local stack's API front: which routes and payload format it reads from a template, and the
proxy events it builds (payload format 2.0 for an HTTP API, the template's; 1.0 for a REST API)."""

import base64
import json
from pathlib import Path

import pytest

from liveguard_local.stack.front import LocalRequest, Route, proxy_event, proxy_response
from liveguard_local.stack.template import ApiRoute, ApiSpec, Template
from liveguard_local.stack.workers import Result

ROOT = Path(__file__).resolve().parents[2]

REST_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      MethodSettings:
        - {ResourcePath: /*, HttpMethod: "*", ThrottlingRateLimit: 7, ThrottlingBurstLimit: 3}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings: {ThrottlingRateLimit: 9, ThrottlingBurstLimit: 4}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Events:
        ViaRest: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: /rest, Method: post}}
        ViaHttpV1:
          Type: HttpApi
          Properties: {ApiId: !Ref Http, Path: /http-v1, Method: post, PayloadFormatVersion: "1.0"}
        ViaHttp: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /http, Method: post}}
        Anything: {Type: HttpApi}
"""


def _route(version: str = "2.0", http: bool = True) -> Route:
    api = ApiSpec("CallbackApi", "dev", 10.0, 5, http=http)
    return Route.of(
        "IngressFunction",
        ApiRoute("TencentCallback", "CallbackApi", "/tencent/callback", "POST", version),
        api,
    )


def _event(
    route: Route,
    *,
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> dict:
    return proxy_event(
        route,
        LocalRequest(
            "POST",
            "/tencent/callback",
            query,
            headers if headers is not None else [("Content-Type", "application/json")],
            body,
            "203.0.113.7",
        ),
    )


def test_the_templates_callback_route_is_an_http_api_route_sending_payload_format_2() -> None:
    # Given template.yaml as the local stack reads it
    template = Template(ROOT / "template.yaml", {"Stage": "local"})
    # When it lists the API events and the API they belong to
    routes = template.api_routes()
    # Then the ingress's route is the HTTP API's POST /tencent/callback, in payload format 2.0,
    # throttled by the stage's default route settings (the template's throttle parameters)
    assert routes == [
        ("IngressFunction", ApiRoute("TencentCallback", "CallbackApi", "/tencent/callback", "POST", "2.0"))
    ]
    assert template.api("CallbackApi") == ApiSpec("CallbackApi", "local", 10_000.0, 5_000, http=True)


def test_rest_and_http_api_events_keep_their_own_payload_format_and_throttle(tmp_path: Path) -> None:
    # Given a template with a REST API event, HTTP API events in both formats and a $default route
    (tmp_path / "template.yaml").write_text(REST_TEMPLATE)
    template = Template(tmp_path / "template.yaml", {})
    # When the local stack reads its routes and their APIs
    routes = {route.name: route for _, route in template.api_routes()}
    # Then a REST API's event is 1.0, an HTTP API's is 2.0 unless it asks for 1.0, and each API's
    # stage throttle comes from its own settings
    assert {name: (r.api, r.path, r.method, r.payload_version) for name, r in routes.items()} == {
        "ViaRest": ("Rest", "/rest", "POST", "1.0"),
        "ViaHttpV1": ("Http", "/http-v1", "POST", "1.0"),
        "ViaHttp": ("Http", "/http", "POST", "2.0"),
        "Anything": ("ServerlessHttpApi", "/{proxy+}", "ANY", "2.0"),
    }
    assert template.api("Rest") == ApiSpec("Rest", "dev", 7.0, 3)
    assert template.api("Http") == ApiSpec("Http", "$default", 9.0, 4, http=True)
    assert template.api("ServerlessHttpApi") == ApiSpec("ServerlessHttpApi", "$default", http=True)


def test_an_http_api_event_has_lowercase_headers_and_commas_joining_repeated_names() -> None:
    # Given a webhook with a repeated query parameter, a repeated header and cookies
    headers = [
        ("Content-Type", "application/json"),
        ("X-Trace", "a"),
        ("X-Trace", "b"),
        ("Cookie", "one=1; two=2"),
        ("User-Agent", "Tencent-IM-Callback"),
    ]
    query = "CallbackCommand=Live.CallbackAfterSetMetadata&Sign=aa&Sign=bb"
    # When the front turns it into the HTTP API's event
    event = _event(_route(), query=query, headers=headers, body=b'{"RoomId": "r1"}')
    # Then it is payload format 2.0 as API Gateway documents it
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /tencent/callback"
    assert (event["rawPath"], event["rawQueryString"]) == ("/dev/tencent/callback", query)  # stage "dev"
    assert event["headers"] == {
        "content-type": "application/json",
        "x-trace": "a,b",
        "user-agent": "Tencent-IM-Callback",
        "x-forwarded-for": "203.0.113.7",
    }
    assert event["cookies"] == ["one=1", "two=2"]
    assert event["queryStringParameters"] == {
        "CallbackCommand": "Live.CallbackAfterSetMetadata",
        "Sign": "aa,bb",
    }
    assert (event["body"], event["isBase64Encoded"]) == ('{"RoomId": "r1"}', False)
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/dev/tencent/callback",
        "protocol": "HTTP/1.1",
        "sourceIp": "203.0.113.7",
        "userAgent": "Tencent-IM-Callback",
    }
    assert (context["stage"], context["routeKey"], context["apiId"]) == (
        "dev",
        "POST /tencent/callback",
        "CallbackApi",
    )
    assert context["requestId"]
    assert "multiValueHeaders" not in event
    assert "multiValueQueryStringParameters" not in event


def test_an_http_api_events_path_carries_a_named_stage_but_not_default() -> None:
    # Given the same request on a named stage and on the $default stage
    api = ApiSpec("CallbackApi", "$default", http=True)
    on_default = Route.of(
        "IngressFunction", ApiRoute("T", "CallbackApi", "/tencent/callback", "POST", "2.0"), api
    )
    # When the front builds each event
    # Then only the named stage's segment is in the path, as API Gateway hands it over
    assert _event(_route())["rawPath"] == "/dev/tencent/callback"
    assert _event(on_default)["rawPath"] == "/tencent/callback"
    assert _event(on_default)["requestContext"]["http"]["path"] == "/tencent/callback"


def test_an_http_api_event_leaves_out_an_empty_body_and_an_empty_query() -> None:
    # Given a POST with no query string and no body
    # When the front builds the HTTP API's event
    event = _event(_route())
    # Then neither key is there, as API Gateway sends it
    assert "body" not in event
    assert "queryStringParameters" not in event
    assert event["rawQueryString"] == ""
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/octet-stream", b'{"RoomId": "r1"}'),  # not a text content type
        ("application/json", b'{"RoomId": "\xff"}'),  # text type, but not UTF-8
    ],
)
def test_an_http_api_event_carries_a_body_that_is_not_text_base64_encoded(
    content_type: str, body: bytes
) -> None:
    # Given a body API Gateway does not hand over as text
    # When the front builds the HTTP API's event
    event = _event(_route(), headers=[("Content-Type", content_type)], body=body)
    # Then the body is base64 and says so
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_a_route_asking_for_payload_format_1_gets_the_rest_apis_event() -> None:
    # Given a route in payload format 1.0 (a REST API's, or an HTTP API's that asks for it)
    # When the front builds its event for a repeated query parameter
    event = _event(_route("1.0", http=False), query="Sign=aa&Sign=bb", body=b"{}")
    # Then it has the 1.0 shape: the last value single, every value multi
    assert event["httpMethod"] == "POST"
    assert event["queryStringParameters"] == {"Sign": "bb"}
    assert event["multiValueQueryStringParameters"] == {"Sign": ["aa", "bb"]}
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["requestContext"]["requestId"]
    assert "version" not in event


def test_an_http_api_answers_a_result_without_status_code_as_a_200_json_body() -> None:
    # Given a function result that is a bare JSON value (payload format 2.0 allows it)
    result = Result("ok", payload={"ActionStatus": "OK"})
    # When the front answers with it for a 2.0 route, and for a 1.0 route
    v2 = proxy_response(result, "2.0")
    v1 = proxy_response(result, "1.0")
    # Then the HTTP API answers 200 with it as the body; a 1.0 proxy response needs its own shape
    assert v2 == (200, [("Content-Type", "application/json")], json.dumps({"ActionStatus": "OK"}).encode())
    assert v1[0] == 200  # a dict without statusCode is a 200 with an empty body in 1.0
    assert v1[2] == b""


def test_an_http_api_answers_502_when_the_invocation_failed_and_turns_cookies_into_set_cookie() -> None:
    # Given a failed invocation and a proxy response with cookies
    failed = Result("error", error={"errorType": "Boom"})
    with_cookies = Result("ok", payload={"statusCode": 201, "cookies": ["a=1"], "body": "x"})
    # When the front answers them on a 2.0 route
    # Then the failure is the HTTP API's 502 and each cookie a Set-Cookie header
    assert proxy_response(failed, "2.0") == (
        502,
        [("Content-Type", "application/json")],
        b'{"message":"Internal Server Error"}',
    )
    assert proxy_response(with_cookies, "2.0") == (201, [("Set-Cookie", "a=1")], b"x")
