"""LiveClient: the wire format, typed replies, the error taxonomy, retries, re-signing, local refusals."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from liveguard.settings import TencentSecret
from liveguard.tencent.client import LiveClient, shared_http_client
from liveguard.tencent.commands.members import BanMember, GetBannedMemberList
from liveguard.tencent.commands.metadata import GetRoomMetadata, SetRoomMetadata
from liveguard.tencent.commands.rooms import DestroyRoom, GetRoomInfo, GetRoomList
from liveguard.tencent.commands.seats import KickUserOffSeat
from liveguard.tencent.errors import ErrorCategory, TencentApiError
from liveguard.tencent.usersig import verify_usersig

from .conftest import ADMIN, SDK_APP_ID, SECRET_KEY, FakeTencent, fail, ok


def test_a_call_posts_the_json_body_to_the_commands_path_with_tencents_query(tencent, make_client):
    # Given a client
    client = make_client()
    # When it destroys a room
    client.call(DestroyRoom(room_id="live-1"))
    # Then Tencent sees POST /v4/live_engine_http_srv/destroy_room with the documented query and body
    (request,) = tencent.requests
    assert request.method == "POST"
    assert request.url.host == "adminapisgp.im.qcloud.com"
    assert request.url.path == "/v4/live_engine_http_srv/destroy_room"
    query = dict(request.url.params)
    assert set(query) == {"sdkappid", "identifier", "usersig", "random", "contenttype"}
    assert query["sdkappid"] == str(SDK_APP_ID)
    assert query["identifier"] == ADMIN
    assert query["contenttype"] == "json"
    assert 0 <= int(query["random"]) < 2**32
    claims = verify_usersig(query["usersig"], sdkappid=SDK_APP_ID, secret_key=SECRET_KEY, identifier=ADMIN)
    assert claims.identifier == ADMIN
    assert json.loads(request.content) == {"RoomId": "live-1"}


def test_each_call_carries_a_fresh_random(tencent, make_client):
    client = make_client()
    for _ in range(5):
        client.call(DestroyRoom(room_id="r"))
    randoms = {dict(r.url.params)["random"] for r in tencent.requests}
    assert len(randoms) == 5


def test_seat_commands_go_to_the_mic_service(tencent, make_client):
    make_client().call(KickUserOffSeat(room_id="live-1", member_account="bob"))
    assert tencent.requests[0].url.path == "/v4/room_engine_http_mic/kick_user_off_seat"


def test_the_reply_is_typed_with_the_request_id(tencent, make_client):
    # Given Tencent answers destroy_room with the room's statistics
    tencent.answers = [ok({"Statistic": {"TotalViewers": 7, "TotalGiftCoins": 300}}, request_id="Id-42")]
    # When the client destroys the room
    reply = make_client().call(DestroyRoom(room_id="live-1"))
    # Then the statistics come back typed, with Tencent's RequestId
    assert reply.statistic.total_viewers == 7
    assert reply.statistic.total_gift_coins == 300
    assert reply.request_id == "Id-42"


def test_replies_tolerate_numbers_for_accounts_and_unknown_fields(tencent, make_client):
    tencent.answers = [ok({"RoomInfo": {"RoomId": "r", "Owner_Account": 144115216631667826, "NewField": 1}})]
    reply = make_client().call(GetRoomInfo(room_id="r"))
    assert reply.room_info.owner_account == "144115216631667826"
    assert reply.room_info.model_extra == {"NewField": 1}


def test_metadata_reply_reads_as_a_mapping(tencent, make_client):
    tencent.answers = [ok({"Metadata": [{"Key": "topic", "Value": "chess"}, {"Key": "lang", "Value": "en"}]})]
    reply = make_client().call(GetRoomMetadata(room_id="r"))
    assert reply.as_dict() == {"topic": "chess", "lang": "en"}


def test_a_permanent_error_raises_at_once_with_code_info_request_id_and_command(tencent, make_client):
    # Given Tencent refuses the parameters
    tencent.answers = [fail(100002, "invalid parameter: Duration", request_id="Id-9")]
    # When the client bans someone
    with pytest.raises(TencentApiError) as raised:
        make_client().call(BanMember(room_id="r", member_list_account=["bob"], duration=60))
    # Then the error says everything, and no retry was spent
    error = raised.value
    assert (error.code, error.info, error.request_id, error.command) == (
        100002,
        "invalid parameter: Duration",
        "Id-9",
        "ban_member",
    )
    assert error.category is ErrorCategory.PERMANENT
    assert not error.local
    assert len(tencent.requests) == 1


@pytest.mark.parametrize("code", [60007, 60011, 60018, 60019, 60008, 70169, 70202, 70500, 100001])
def test_a_retryable_error_is_retried_until_it_succeeds(tencent, make_client, code):
    tencent.answers = [fail(code), fail(code), ok({"Statistic": {"TotalViewers": 1}})]
    reply = make_client().call(DestroyRoom(room_id="r"))
    assert reply.statistic.total_viewers == 1
    assert len(tencent.requests) == 3


def test_backoff_grows_exponentially_up_to_its_cap(tencent, make_client, clock):
    # Given Tencent is overloaded for good
    tencent.answers = [fail(100001)]
    client = make_client(max_attempts=6, backoff_base=0.1, backoff_cap=0.5)
    # When the client calls
    with pytest.raises(TencentApiError):
        client.call(DestroyRoom(room_id="r"))
    # Then it paused 0.1, 0.2, 0.4, then the cap, between its six attempts
    assert clock.slept == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    assert len(tencent.requests) == 6


def test_backoff_is_jittered_between_zero_and_the_exponential_bound(tencent, make_client, clock):
    tencent.answers = [fail(100001), fail(100001), ok()]
    seen: list[tuple[float, float]] = []

    def jitter(low: float, high: float) -> float:
        seen.append((low, high))
        return (low + high) / 2

    make_client(jitter=jitter, backoff_base=0.2).call(DestroyRoom(room_id="r"))
    assert seen == [(0.0, 0.2), (0.0, 0.4)]
    assert clock.slept == pytest.approx([0.1, 0.2])


def test_retries_stop_at_max_attempts_and_raise_the_last_error(tencent, make_client):
    tencent.answers = [fail(60007, "too frequent")]
    with pytest.raises(TencentApiError) as raised:
        make_client(max_attempts=3).call(DestroyRoom(room_id="r"))
    assert raised.value.code == 60007
    assert raised.value.retryable
    assert len(tencent.requests) == 3


def test_no_retry_starts_that_would_pass_the_callers_deadline(tencent, make_client, clock):
    # Given a deadline 0.15 s away and a backoff of 0.1 then 0.2
    tencent.answers = [fail(100001)]
    client = make_client(max_attempts=10, backoff_base=0.1)
    # When the call keeps failing
    with pytest.raises(TencentApiError):
        client.call(DestroyRoom(room_id="r"), deadline=clock.now + 0.15)
    # Then the second pause (0.2 s) is not taken: two attempts, within the deadline
    assert len(tencent.requests) == 2
    assert clock.now <= 1000.15


def test_a_spent_deadline_refuses_the_call_without_sending(tencent, make_client, clock):
    with pytest.raises(TencentApiError) as raised:
        make_client().call(DestroyRoom(room_id="r"), deadline=clock.now - 1)
    assert raised.value.local
    assert raised.value.retryable
    assert tencent.requests == []


def test_each_attempt_is_given_no_more_time_than_the_deadline_leaves(tencent, make_client, clock):
    timeouts: list[float | None] = []

    def record(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"]["read"])
        return httpx.Response(200, json=ok())

    tencent.answers = [record]
    make_client(timeout=4.0).call(DestroyRoom(room_id="r"), deadline=clock.now + 1.5)
    make_client(timeout=4.0).call(DestroyRoom(room_id="r"))
    assert timeouts == [pytest.approx(1.5), 4.0]


def test_network_errors_are_retryable_and_retried(tencent, make_client):
    tencent.answers = [httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out"), ok()]
    make_client().call(DestroyRoom(room_id="r"))
    assert len(tencent.requests) == 3


def test_a_network_error_that_persists_has_no_code_and_names_the_failure(tencent, make_client):
    tencent.answers = [httpx.ConnectError("connection refused")]
    with pytest.raises(TencentApiError) as raised:
        make_client(max_attempts=2).call(DestroyRoom(room_id="r"))
    assert raised.value.code is None
    assert raised.value.category is ErrorCategory.RETRYABLE
    assert "ConnectError" in raised.value.info


def test_http_5xx_without_a_json_body_is_retryable(tencent, make_client):
    tencent.answers = [lambda request: httpx.Response(502, text="<html>bad gateway</html>"), ok()]
    make_client().call(DestroyRoom(room_id="r"))
    assert len(tencent.requests) == 2


def test_http_4xx_is_permanent(tencent, make_client):
    tencent.answers = [lambda request: httpx.Response(404, text="not found")]
    with pytest.raises(TencentApiError) as raised:
        make_client().call(DestroyRoom(room_id="r"))
    assert raised.value.category is ErrorCategory.PERMANENT
    assert raised.value.http_status == 404
    assert len(tencent.requests) == 1


@pytest.mark.parametrize("code", [70001, 70052])
def test_an_expired_usersig_is_regenerated_and_the_call_repeated(tencent, make_client, code):
    # Given Tencent says the UserSig expired, then accepts
    tencent.answers = [fail(code, "usersig expired"), ok()]
    client = make_client()
    # When the client calls
    client.call(DestroyRoom(room_id="r"))
    # Then it signed twice, and the second request carried the new sig
    assert client.usersig.generated == 2
    assert len(tencent.requests) == 2


@pytest.mark.parametrize("code", [70009, 70013, 70014, 70020, 60004, 60005, 60006, 60010, 70403])
def test_an_auth_refusal_is_re_signed_once_then_fails(tencent, make_client, code):
    tencent.answers = [fail(code)]
    client = make_client()
    with pytest.raises(TencentApiError) as raised:
        client.call(DestroyRoom(room_id="r"))
    assert raised.value.category is ErrorCategory.AUTH
    assert raised.value.code == code
    assert len(tencent.requests) == 2


@pytest.mark.parametrize(
    ("request_model", "category"),
    [
        (DestroyRoom(room_id="r"), ErrorCategory.GONE),
        (SetRoomMetadata.of("r", {"k": "v"}), ErrorCategory.GONE),
        (GetRoomInfo(room_id="r"), ErrorCategory.PERMANENT),
        (GetBannedMemberList(room_id="r"), ErrorCategory.PERMANENT),
    ],
)
def test_a_missing_room_is_gone_only_where_that_is_the_desired_state(
    tencent, make_client, request_model, category
):
    tencent.answers = [fail(100004, "room does not exist")]
    with pytest.raises(TencentApiError) as raised:
        make_client().call(request_model)
    assert raised.value.category is category
    assert raised.value.gone is (category is ErrorCategory.GONE)


def test_the_usersig_is_cached_across_calls(tencent, make_client):
    client = make_client()
    for _ in range(3):
        client.call(DestroyRoom(room_id="r"))
    sigs = {dict(r.url.params)["usersig"] for r in tencent.requests}
    assert len(sigs) == 1
    assert client.usersig.generated == 1


def test_the_usersig_is_regenerated_before_it_expires(admin_usersig, usersig_clock):
    # Given a sig made now, valid for 7 days, refreshed an hour before its end
    first = admin_usersig.current()
    # When almost 7 days pass
    usersig_clock.now += 7 * 86400 - 3600 - 1
    assert admin_usersig.current() == first
    usersig_clock.now += 1
    # Then a new one is made in time, and it verifies
    second = admin_usersig.current()
    assert second != first
    verify_usersig(
        second, sdkappid=SDK_APP_ID, secret_key=SECRET_KEY, identifier=ADMIN, now=int(usersig_clock.now)
    )


def test_an_off_model_reply_is_reported_as_such(tencent, make_client):
    tencent.answers = [ok({"Statistic": {"TotalViewers": "many"}})]
    with pytest.raises(TencentApiError) as raised:
        make_client().call(DestroyRoom(room_id="r"))
    assert "Statistic.TotalViewers" in raised.value.info
    assert raised.value.category is ErrorCategory.PERMANENT


def test_a_reply_that_is_not_json_is_a_retryable_failure(tencent, make_client):
    tencent.answers = [lambda request: httpx.Response(200, text="garbage"), ok()]
    make_client().call(DestroyRoom(room_id="r"))
    assert len(tencent.requests) == 2


def test_nothing_shows_the_secret_key_or_the_usersig(tencent, make_client, caplog):
    # Given every logger at DEBUG and a call that fails after a retry and a re-sign
    caplog.set_level(logging.DEBUG)
    tencent.answers = [fail(70001), fail(100001), fail(100002, "invalid")]
    client = make_client()
    with pytest.raises(TencentApiError) as raised:
        client.call(DestroyRoom(room_id="r"))
    sigs = {dict(r.url.params)["usersig"] for r in tencent.requests}
    # Then neither the key nor any sig is in the logs, the error or the client's repr
    shown = caplog.text + str(raised.value) + repr(raised.value) + repr(client) + repr(client.usersig)
    for secret in [SECRET_KEY, *sigs]:
        assert secret not in shown


def test_httpx_request_logs_have_the_usersig_redacted(caplog):
    # Given httpx logging its request lines at INFO, over a real transport
    caplog.set_level(logging.INFO, logger="httpx")
    tencent = FakeTencent()
    with httpx.Client(transport=httpx.MockTransport(tencent.handle)) as http:
        client = LiveClient(
            sdk_app_id=SDK_APP_ID,
            secret_key=SECRET_KEY,
            admin_identifier=ADMIN,
            base_url="https://x",
            http=http,
        )
        client.call(DestroyRoom(room_id="r"))
    sig = dict(tencent.requests[0].url.params)["usersig"]
    assert "usersig=<redacted>" in caplog.text
    assert sig not in caplog.text


def test_clients_share_one_connection_pool_per_process():
    secret = TencentSecret.model_validate(
        {"SdkAppId": SDK_APP_ID, "SecretKey": SECRET_KEY, "AdminIdentifier": ADMIN, "Region": "USA"}
    )
    first, second = LiveClient.from_secret(secret), LiveClient.from_secret(secret)
    assert first._http is second._http is shared_http_client()
    assert first.base_url == "https://adminapiusa.im.qcloud.com"


def test_rate_limit_waits_instead_of_sending_over_the_limit(tencent, make_client, clock):
    # Given get_room_list is limited to 10 calls/s
    client = make_client()
    # When 25 calls are made in a burst
    for _ in range(25):
        client.call(GetRoomList())
    # Then all were sent, and the client waited rather than exceeding 10 in any window
    assert len(tencent.requests) == 25
    assert sum(clock.slept) >= 2 * client.limiter.window - 1e-9


def test_a_rate_limit_wait_past_the_deadline_fails_locally(tencent, make_client, clock):
    client = make_client()
    for _ in range(10):
        client.call(GetRoomList())
    with pytest.raises(TencentApiError) as raised:
        client.call(GetRoomList(), deadline=clock.now + 0.5)
    assert raised.value.local
    assert raised.value.retryable
    assert len(tencent.requests) == 10
