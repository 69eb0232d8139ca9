"""Publishing rules to a running stack, end to end: `liveguard rules publish | rollback` against the
local stack (its rules bucket in moto), and the running functions taking each version within their
refresh interval (2 s here), in the same processes, with no cold start:

    liveguard rules publish -> rules bucket (S3) <- conditional GET every 2 s <- ingress, moderator
    app user -> emulator -> webhook -> ingress (masks with the version it has) -> ... -> audit

Every effect is awaited by polling; a comment is an invocation, and the ingress's check runs on a
thread that one invocation starts and a later one takes the result of."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from liveguard.rules.bundle import BUNDLE_KEY
from liveguard.rules.loader import DEFAULT_RULES
from liveguard_local.driver import Driver, wait_until
from liveguard_local.stack import LocalStack
from liveguard_ops.cli import main

from .conftest import TIMEOUT, e2e_stack

HOST, VIEWER = "host", "viewer"
NEW_TERM = "zorblax"  # in no default list


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole app, nothing published (the layer's defaults), functions checking every 2 s."""
    with e2e_stack(tmp_path_factory, "e2e-publish", rules_refresh_seconds=2) as stack:
        yield stack


@pytest.fixture(scope="module")
def stack(local: LocalStack) -> Iterator[Driver]:
    with httpx.Client(timeout=10) as http:
        yield Driver.of(local, http)


def rules_with(directory: Path, *extra_terms: str) -> Path:
    """The layer's default rules, copied with their term lists, ``extra_terms`` added to banned.txt."""
    shutil.copytree(DEFAULT_RULES.parent / "terms", directory / "terms", dirs_exist_ok=True)
    shutil.copy(DEFAULT_RULES, directory / "rules.yaml")
    with (directory / "terms" / "banned.txt").open("a", encoding="utf-8") as terms:
        terms.writelines(f"{term}\n" for term in extra_terms)
    return directory / "rules.yaml"


def liveguard(local: LocalStack, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main([*args, "--local-file", str(local.settings_path)])
    out, err = capsys.readouterr()
    return status, out, err


def s3(local: LocalStack) -> Any:
    return boto3.client(
        "s3", endpoint_url=local.aws_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def live_version(local: LocalStack) -> str | None:
    """The live version's id; None when nothing is published."""
    listed = s3(local).list_object_versions(Bucket=local.created.buckets["RulesBucket"], Prefix=BUNDLE_KEY)
    return next((str(v["VersionId"]) for v in listed.get("Versions", []) if v["IsLatest"]), None)


def start_live(stack: Driver, room_id: str) -> None:
    assert stack.act("create_room", HOST, RoomId=room_id)["ErrorCode"] == 0
    assert stack.act("enter_room", VIEWER, RoomId=room_id)["ErrorCode"] == 0


def said(stack: Driver, room_id: str, text: str) -> str:
    """A viewer's comment; the text the room got."""
    reply = stack.act("send_text_msg", VIEWER, RoomId=room_id, Text=text)
    assert reply["ErrorCode"] == 0, reply
    return str(reply["Response"]["text"])


def until_said(stack: Driver, room_id: str, text: str, expected: str, what: str) -> float:
    """Comment every half second until the room gets ``expected``; the seconds it took."""
    started = time.monotonic()
    if wait_until(lambda: said(stack, room_id, text) == expected, TIMEOUT, interval=0.5) is None:
        pytest.fail(f"timed out after {TIMEOUT} s waiting for {what}")
    return time.monotonic() - started


def until_in_use(local: LocalStack, stack: Driver, room_id: str, version_id: str) -> None:
    """Say hello (no term: no strike) every half second until the ingress logs that it uses the
    version (each comment is an invocation: one starts the check, a later one takes its result)."""
    log = local.logs_dir / "IngressFunction.log"

    def in_use() -> bool:
        said(stack, room_id, "hello")
        return f'"rules_version":"{version_id}:' in log.read_text(encoding="utf-8")

    if wait_until(in_use, TIMEOUT, interval=0.5) is None:
        pytest.fail(f"timed out after {TIMEOUT} s waiting for the ingress to use version {version_id}")


def ingress_cold_starts(local: LocalStack, since: float) -> int:
    return sum(
        1
        for call in local.invocations
        if call.function == "IngressFunction" and call.cold and call.at >= since
    )


def test_a_published_term_is_masked_within_the_interval_without_a_restart(
    local, stack, room_id, capsys, tmp_path
):
    # Given a running stack on the layer's defaults, where the new term is delivered as written
    start_live(stack, room_id)
    assert said(stack, room_id, f"{NEW_TERM} deals") == f"{NEW_TERM} deals"
    # When rules with the term added are published
    published_at = time.time()
    status, _, err = liveguard(local, capsys, "rules", "publish", str(rules_with(tmp_path, NEW_TERM)))
    assert (status, err) == (0, ""), err
    # Then the ingress masks it within the interval (2 s, plus a check's round trip), with no cold start
    took = until_said(stack, room_id, f"{NEW_TERM} deals", "******* deals", "the new term to be masked")
    assert took < 10
    assert ingress_cold_starts(local, published_at) == 0


def test_a_file_failing_validation_is_refused_and_the_live_version_stays(local, capsys, tmp_path):
    # Given the live version, and a rules file with a misspelt verdict
    before = live_version(local)
    path = rules_with(tmp_path)
    path.write_text(
        path.read_text(encoding="utf-8").replace("action: mask", "action: maskk"), encoding="utf-8"
    )
    # When it is published
    status, _, err = liveguard(local, capsys, "rules", "publish", str(path))
    # Then it is refused with the loader's line, exit 2, and nothing new is live
    assert status == 2
    assert 'rule "comment-terms": verdict.action' in err
    assert live_version(local) == before


def test_a_broken_object_in_the_bucket_is_not_loaded_and_the_last_good_rules_stay(
    local, stack, room_id, capsys, tmp_path
):
    # Given the term published and masked
    start_live(stack, room_id)
    liveguard(local, capsys, "rules", "publish", str(rules_with(tmp_path, NEW_TERM)))
    until_said(stack, room_id, f"{NEW_TERM} again", "******* again", "the term to be masked")
    # When a broken object is put straight into the bucket (not through publish)
    s3(local).put_object(Bucket=local.created.buckets["RulesBucket"], Key=BUNDLE_KEY, Body=b"rules: [")
    log = local.logs_dir / "IngressFunction.log"

    def failed() -> bool:
        said(stack, room_id, "hello")
        text = log.read_text(encoding="utf-8")
        return "new rules not loaded; the last good rules stay" in text and '"RulesReloadFailed"' in text

    # Then the ingress says why and counts it (the metric the alarm watches)
    assert wait_until(failed, TIMEOUT, interval=0.5), "the ingress never reported the broken version"
    # And it still masks with the last good rules
    assert said(stack, room_id, f"{NEW_TERM} still") == "******* still"
    # And the broken content is not in the log
    assert "rules: [" not in log.read_text(encoding="utf-8")
    # (the next tests start from a good version again)
    liveguard(local, capsys, "rules", "publish", str(rules_with(tmp_path / "good")))


def test_rollback_restores_the_previous_behaviour(local, stack, room_id, capsys, tmp_path):
    # Given a version without the term, then one with it, masked
    start_live(stack, room_id)
    liveguard(local, capsys, "rules", "publish", str(rules_with(tmp_path / "without")))
    liveguard(local, capsys, "rules", "publish", str(rules_with(tmp_path / "with", NEW_TERM, "rollbackterm")))
    until_said(stack, room_id, "rollbackterm", "************", "the term to be masked")
    # When the operator rolls back
    status, _, err = liveguard(local, capsys, "rules", "rollback")
    assert (status, err) == (0, ""), err
    rolled_back = live_version(local)
    assert rolled_back is not None
    until_in_use(local, stack, room_id, rolled_back)
    # Then the term is delivered as written again, without a restart
    assert said(stack, room_id, "rollbackterm") == "rollbackterm"


def test_audit_records_name_the_rules_version_that_decided(local, stack, room_id, capsys, tmp_path):
    # Given a published version with the term, in use
    start_live(stack, room_id)
    liveguard(local, capsys, "rules", "publish", str(rules_with(tmp_path, NEW_TERM, "auditterm")))
    version_id = live_version(local)
    assert version_id is not None
    until_said(stack, room_id, "auditterm", "*********", "the term to be masked")

    # When the room's audit is read (the moderator records the masked comment and its strike)
    def audited() -> list[dict[str, Any]]:
        status, out, _ = liveguard(local, capsys, "audit", room_id, "--json")
        assert status == 0
        return [json.loads(line) for line in out.splitlines()]

    records = wait_until(audited, TIMEOUT, interval=0.5)
    assert records, "no audit record for the masked comment"
    # Then the record names the published version (its S3 version id and sha) that decided it
    [record] = [record for record in records if record["rules"] == ["comment-terms"]]
    assert record["rules_version"].startswith(f"{version_id}:")
    # And the text timeline prints it
    _, text, _ = liveguard(local, capsys, "audit", room_id)
    assert f"rules {record['rules_version']}" in text
