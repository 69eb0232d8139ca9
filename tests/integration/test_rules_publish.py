"""`liveguard rules publish | status | rollback` against moto's S3 (a versioned bucket, as the
template makes it), and the ingress and the moderator reading what they publish: their boto3-free
conditional GET, a new version used without a cold start, a broken one refused."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from liveguard.rules.bundle import BUNDLE_KEY, RulesBundle, sha256_hex
from liveguard.rules.loader import DEFAULT_RULES
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event
from liveguard_ops.cli import main
from tests.aws import FAKE_CREDENTIALS, moto_server
from tests.functions import lambda_context, load_function

RULES = """\
terms:
  banned:
    file: terms/banned.txt
rules:
  - name: mask-banned
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [banned]}
    verdict: {action: mask}
"""


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def endpoint(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server; boto3 gets fake credentials and no endpoint (the commands are told it)."""
    with moto_server() as url:
        for key, value in FAKE_CREDENTIALS.items():
            monkeypatch_module.setenv(key, value)
        monkeypatch_module.delenv("AWS_ENDPOINT_URL", raising=False)
        yield url


@pytest.fixture
def bucket(endpoint: str) -> str:
    """A versioned rules bucket of its own for each test."""
    name = f"liveguard-rules-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def local_file(tmp_path: Path, endpoint: str, bucket: str) -> Path:
    """What `liveguard local up` writes (the parts the commands read): outputs and moto's endpoint."""
    path = tmp_path / "local.json"
    path.write_text(
        json.dumps(
            {"outputs": {"RulesBucketName": bucket}, "aws_credentials": {"AWS_ENDPOINT_URL": endpoint}}
        ),
        encoding="utf-8",
    )
    return path


def rules_file(directory: Path, *terms: str, rules: str = RULES) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "terms").mkdir(exist_ok=True)
    (directory / "terms" / "banned.txt").write_text("".join(f"{term}\n" for term in terms), encoding="utf-8")
    path = directory / "rules.yaml"
    path.write_text(rules, encoding="utf-8")
    return path


def liveguard(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def versions(endpoint: str, bucket: str) -> list[dict[str, Any]]:
    s3 = boto3.client("s3", endpoint_url=endpoint)
    listed = s3.list_object_versions(Bucket=bucket, Prefix=BUNDLE_KEY).get("Versions", [])
    return sorted(listed, key=lambda version: version["LastModified"], reverse=True)


def live_object(endpoint: str, bucket: str) -> dict[str, Any]:
    return boto3.client("s3", endpoint_url=endpoint).get_object(Bucket=bucket, Key=BUNDLE_KEY)


# --- publish ---------------------------------------------------------------------------------------


def test_publish_uploads_the_file_and_its_term_files_as_the_live_version(
    capsys, tmp_path, endpoint, bucket, local_file
):
    # Given a valid rules file with a term file beside it
    path = rules_file(tmp_path / "r", "badword")
    # When it is published to the stack
    status, out, err = liveguard(capsys, "rules", "publish", str(path), "--local-file", str(local_file))
    # Then the live object is its bundle, with its sha, its source and who published it
    assert (status, err) == (0, "")
    stored = live_object(endpoint, bucket)
    body = stored["Body"].read()
    assert RulesBundle.model_validate_json(body) == RulesBundle(
        rules=RULES, files={"terms/banned.txt": "badword\n"}
    )
    assert stored["Metadata"]["sha256"] == sha256_hex(body)
    assert stored["Metadata"]["source"] == "rules.yaml"
    assert stored["Metadata"]["published-by"].startswith("arn:aws:")
    # And the command says which version it made, and its sha
    assert f"published version {stored['VersionId']}, sha256 {sha256_hex(body)[:12]}" in out


def test_a_file_that_fails_validation_is_never_published(capsys, tmp_path, endpoint, bucket, local_file):
    # Given a rules file with two mistakes
    broken = RULES.replace("Group.CallbackBeforeSendMsg", "Group.CallbackBeforeSendMsgg").replace(
        "mask}", "maskk}"
    )
    path = rules_file(tmp_path / "r", "badword", rules=broken)
    # When it is published
    status, _, err = liveguard(capsys, "rules", "publish", str(path), "--local-file", str(local_file))
    # Then nothing is uploaded, and each mistake is one line, as `rules check` prints it, exit 2
    assert status == 2
    assert versions(endpoint, bucket) == []
    check_status, _, check_err = liveguard(capsys, "rules", "check", str(path))
    assert check_status == 1
    assert err.startswith(check_err)
    assert err.endswith("nothing published\n")
    assert "Traceback" not in err


def test_publish_prints_the_warnings_rules_check_prints(capsys, tmp_path, local_file):
    # Given a valid file with a rule that can never fire
    never = RULES.replace("when: {terms: [banned]}", "when: {terms: [banned], rooms: []}")
    path = rules_file(tmp_path / "r", "badword", rules=never)
    # When it is published
    status, out, _ = liveguard(capsys, "rules", "publish", str(path), "--local-file", str(local_file))
    # Then it is published, and the warning is printed as `rules check` prints it
    assert status == 0
    assert f'{path}: warning: rule "mask-banned": when.rooms: an empty list names no room' in out


def test_publishing_what_is_live_already_publishes_nothing(capsys, tmp_path, endpoint, bucket, local_file):
    # Given a published file
    path = rules_file(tmp_path / "r", "badword")
    liveguard(capsys, "rules", "publish", str(path), "--local-file", str(local_file))
    # When the same content is published again
    status, out, _ = liveguard(capsys, "rules", "publish", str(path), "--local-file", str(local_file))
    # Then no new version is made
    assert status == 0
    assert "already live" in out
    assert len(versions(endpoint, bucket)) == 1


def test_without_a_stack_publish_says_what_to_give_in_one_line(capsys, tmp_path):
    # Given no local stack's file and no --stack
    path = rules_file(tmp_path / "r", "badword")
    # When a file is published
    status, _, err = liveguard(
        capsys, "rules", "publish", str(path), "--local-file", str(tmp_path / "none.json")
    )
    # Then one line says what to give, exit 2
    assert status == 2
    assert err.count("\n") == 1
    assert "--stack NAME" in err


# --- status ----------------------------------------------------------------------------------------


def test_status_with_nothing_published_says_the_functions_run_their_fallback(capsys, local_file):
    status, out, _ = liveguard(capsys, "rules", "status", "--local-file", str(local_file))
    assert status == 0
    assert "nothing published" in out


def test_status_shows_the_live_version_its_age_sha_publisher_and_the_recent_ones(
    capsys, tmp_path, endpoint, bucket, local_file
):
    # Given two versions published
    liveguard(
        capsys, "rules", "publish", str(rules_file(tmp_path / "a", "first")), "--local-file", str(local_file)
    )
    liveguard(
        capsys, "rules", "publish", str(rules_file(tmp_path / "b", "second")), "--local-file", str(local_file)
    )
    newest, older = versions(endpoint, bucket)
    # When the status is asked
    status, out, _ = liveguard(capsys, "rules", "status", "--local-file", str(local_file))
    # Then the live version comes first with its age, sha and publisher, then both versions
    assert status == 0
    live_line = out.splitlines()[0]
    assert live_line.startswith(f"live      {newest['VersionId']}  ")
    assert "s ago)" in live_line
    assert "by arn:aws:" in live_line
    assert "from rules.yaml" in live_line
    assert f"  * {newest['VersionId']}" in out
    assert f"    {older['VersionId']}" in out
    # And --json has the same, for scripts
    _, as_json, _ = liveguard(capsys, "rules", "status", "--json", "--local-file", str(local_file))
    document = json.loads(as_json)
    assert document["live"]["version_id"] == newest["VersionId"]
    assert [version["version_id"] for version in document["versions"]] == [
        newest["VersionId"],
        older["VersionId"],
    ]


# --- rollback --------------------------------------------------------------------------------------


def test_rollback_makes_the_previous_version_live_again_as_a_new_version(
    capsys, tmp_path, endpoint, bucket, local_file
):
    # Given two versions published
    liveguard(
        capsys, "rules", "publish", str(rules_file(tmp_path / "a", "first")), "--local-file", str(local_file)
    )
    first = live_object(endpoint, bucket)
    first_body = first["Body"].read()
    liveguard(
        capsys, "rules", "publish", str(rules_file(tmp_path / "b", "second")), "--local-file", str(local_file)
    )
    second = live_object(endpoint, bucket)["VersionId"]
    # When the operator rolls back without naming a version
    status, out, err = liveguard(capsys, "rules", "rollback", "--local-file", str(local_file))
    # Then a third version is live, with the first's bytes, naming what it rolled back from and to
    assert (status, err) == (0, "")
    live = live_object(endpoint, bucket)
    assert live["Body"].read() == first_body
    assert live["VersionId"] not in (first["VersionId"], second)
    assert live["Metadata"]["rolled-back-from"] == second
    assert live["Metadata"]["restores"] == first["VersionId"]
    assert f"version {live['VersionId']} is live with the content of {first['VersionId']}" in out
    # And the history keeps all three
    assert len(versions(endpoint, bucket)) == 3


def test_rollback_to_a_named_version(capsys, tmp_path, endpoint, bucket, local_file):
    # Given three versions published
    for name in ("a", "b", "c"):
        liveguard(
            capsys,
            "rules",
            "publish",
            str(rules_file(tmp_path / name, name + "term")),
            "--local-file",
            str(local_file),
        )
    oldest = versions(endpoint, bucket)[-1]["VersionId"]
    # When the operator names the oldest
    status, _, _ = liveguard(capsys, "rules", "rollback", oldest, "--local-file", str(local_file))
    # Then its terms are live again
    assert status == 0
    body = RulesBundle.model_validate_json(live_object(endpoint, bucket)["Body"].read())
    assert body.files == {"terms/banned.txt": "aterm\n"}


def test_rollback_to_an_unknown_version_is_one_line_and_changes_nothing(
    capsys, tmp_path, endpoint, bucket, local_file
):
    liveguard(
        capsys, "rules", "publish", str(rules_file(tmp_path / "a", "first")), "--local-file", str(local_file)
    )
    liveguard(
        capsys, "rules", "publish", str(rules_file(tmp_path / "b", "second")), "--local-file", str(local_file)
    )
    status, _, err = liveguard(
        capsys, "rules", "rollback", "no-such-version", "--local-file", str(local_file)
    )
    assert status == 2
    assert err.count("\n") == 1
    assert "no version no-such-version" in err
    assert len(versions(endpoint, bucket)) == 2


def test_rollback_with_one_version_has_nothing_to_go_back_to(capsys, tmp_path, endpoint, bucket, local_file):
    liveguard(
        capsys, "rules", "publish", str(rules_file(tmp_path / "a", "first")), "--local-file", str(local_file)
    )
    status, _, err = liveguard(capsys, "rules", "rollback", "--local-file", str(local_file))
    assert status == 2
    assert "nothing to go back to" in err
    assert len(versions(endpoint, bucket)) == 1


def test_rollback_refuses_a_version_todays_rules_engine_cannot_compile(
    capsys, tmp_path, endpoint, bucket, local_file
):
    # Given an old version that no longer compiles (put straight into the bucket), then a good one
    s3 = boto3.client("s3", endpoint_url=endpoint)
    stale = RulesBundle(rules=RULES.replace("mask}", "censor}"), files={"terms/banned.txt": "x\n"}).to_bytes()
    s3.put_object(Bucket=bucket, Key=BUNDLE_KEY, Body=stale, Metadata={"sha256": sha256_hex(stale)})
    liveguard(
        capsys, "rules", "publish", str(rules_file(tmp_path / "a", "first")), "--local-file", str(local_file)
    )
    # When the operator rolls back to it
    status, _, err = liveguard(capsys, "rules", "rollback", "--local-file", str(local_file))
    # Then it is refused with the loader's lines, and the good version stays live
    assert status == 2
    assert 'rule "mask-banned": verdict.action' in err
    assert err.endswith("nothing rolled back\n")
    assert len(versions(endpoint, bucket)) == 2


# --- the functions reading it ----------------------------------------------------------------------


def message_event(text: str) -> dict[str, Any]:
    body = copy.deepcopy(CALLBACK_BODIES["Group.CallbackBeforeSendMsg"])
    body["MsgBody"] = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
    return proxy_event("Group.CallbackBeforeSendMsg", json.dumps(body))


@pytest.fixture
def ingress(monkeypatch_module, endpoint: str, bucket: str) -> Iterator[ModuleType]:
    """The ingress, imported as Lambda would, reading the rules bucket every 0.2 s (its SQS client
    pointed at moto's, whose queue it sends to)."""
    from aws_lambda_powertools.utilities.parameters import base

    base.DEFAULT_PROVIDERS.clear()
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    queue = sqs.create_queue(
        QueueName=f"liveguard-events-{uuid.uuid4().hex[:8]}.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
    )["QueueUrl"]
    secret = boto3.client("secretsmanager", endpoint_url=endpoint).create_secret(
        Name=f"liveguard/test-{uuid.uuid4().hex[:6]}/tencent", SecretString=json.dumps(LOCAL_SECRET)
    )["ARN"]
    environment = {
        "AWS_ENDPOINT_URL": endpoint,
        "EVENTS_QUEUE_URL": queue,
        "TENCENT_SECRET_ARN": secret,
        "RULES_BUCKET": bucket,
        "RULES_REFRESH_SECONDS": "0.2",
        "POWERTOOLS_SERVICE_NAME": "liveguard-ingress",
        "POWERTOOLS_METRICS_NAMESPACE": "LiveGuardTest",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in environment.items():
            patch.setenv(key, value)
        module = load_function("ingress", module_name=f"ingress_rules_{uuid.uuid4().hex[:6]}")
        module.queue_url = queue
        yield module


def answer(ingress: ModuleType, text: str) -> dict[str, Any]:
    response = ingress.lambda_handler(message_event(text), lambda_context("IngressFunction"))
    return json.loads(response["body"])


def next_check(ingress: ModuleType) -> None:
    """Let the interval pass, start an invocation's check, and let it finish (a function never waits:
    its next invocation takes what the check found)."""
    time.sleep(0.25)
    ingress.lambda_handler(message_event("hello"), lambda_context("IngressFunction"))
    ingress.rules.live.wait_for_check(10)


def test_the_ingress_uses_a_newly_published_term_without_a_cold_start(capsys, tmp_path, ingress, local_file):
    # Given an ingress that started with a published version without the term
    liveguard(
        capsys,
        "rules",
        "publish",
        str(rules_file(tmp_path / "a", "oldterm")),
        "--local-file",
        str(local_file),
    )
    assert answer(ingress, "a newterm here").get("MsgBody") is None
    # When a version with the term is published and the ingress's next check has run
    liveguard(
        capsys,
        "rules",
        "publish",
        str(rules_file(tmp_path / "b", "oldterm", "newterm")),
        "--local-file",
        str(local_file),
    )
    next_check(ingress)
    # Then the same process masks it
    reply = answer(ingress, "a newterm here")
    assert reply["MsgBody"] == [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "a ******* here"}}]


def test_the_ingress_keeps_its_rules_when_a_broken_object_is_put_in_the_bucket(
    capsys, tmp_path, endpoint, bucket, ingress, local_file
):
    # Given an ingress running a published version
    liveguard(
        capsys,
        "rules",
        "publish",
        str(rules_file(tmp_path / "a", "oldterm")),
        "--local-file",
        str(local_file),
    )
    version = ingress.rules.version
    # When a broken object is put straight into the bucket and the ingress checks
    boto3.client("s3", endpoint_url=endpoint).put_object(Bucket=bucket, Key=BUNDLE_KEY, Body=b"rules: [")
    next_check(ingress)
    ingress.lambda_handler(message_event("hello"), lambda_context("IngressFunction"))
    # Then it still decides with the version it had
    assert ingress.rules.version == version
    assert answer(ingress, "an oldterm here")["MsgBody"][0]["MsgContent"]["Text"] == "an ******* here"


def test_the_envelope_names_the_rules_version_that_decided_inline(
    capsys, tmp_path, endpoint, ingress, local_file
):
    # Given a published version
    liveguard(
        capsys,
        "rules",
        "publish",
        str(rules_file(tmp_path / "a", "oldterm")),
        "--local-file",
        str(local_file),
    )
    # When a message is answered and queued
    answer(ingress, "an oldterm here")
    # Then the queued envelope names the version that decided it
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    [message] = sqs.receive_message(QueueUrl=ingress.queue_url, MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["rules_version"] == ingress.rules.version
    assert envelope["rules_version"].startswith(
        live_object(endpoint, ingress.environment.rules_bucket)["VersionId"] + ":"
    )


def test_the_moderator_starts_on_the_layers_defaults_when_nothing_is_published(endpoint, bucket, monkeypatch):
    # Given an empty rules bucket
    table = f"liveguard-state-{uuid.uuid4().hex[:8]}"
    secret = boto3.client("secretsmanager", endpoint_url=endpoint).create_secret(
        Name=f"liveguard/test-{uuid.uuid4().hex[:6]}/tencent", SecretString=json.dumps(LOCAL_SECRET)
    )["ARN"]
    for key, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "ACTIONS_QUEUE_URL": f"{endpoint}/123456789012/actions.fifo",
        "DELAYED_ACTIONS_QUEUE_URL": f"{endpoint}/123456789012/delayed",
        "STATE_TABLE_NAME": table,
        "TENCENT_SECRET_ARN": secret,
        "RULES_BUCKET": bucket,
        "POWERTOOLS_SERVICE_NAME": "liveguard-moderator",
    }.items():
        monkeypatch.setenv(key, value)
    # When the moderator starts
    moderator = load_function("moderator", module_name=f"moderator_rules_{uuid.uuid4().hex[:6]}")
    # Then it runs the layer's defaults, named as such
    assert moderator.moderator.rules.version.startswith("defaults:")
    assert moderator.moderator.rules.source == str(DEFAULT_RULES)


# --- the audit naming the version ------------------------------------------------------------------


def test_the_audit_names_the_rules_version_of_each_record_and_reads_records_without_one(
    capsys, tmp_path, endpoint
):
    from liveguard.aws.state_table import StateTable
    from liveguard.messages import ActionMessage
    from liveguard.state import AuditRecord
    from tests.aws import create_state_table

    # Given a decision and its action stamped with a rules version, and an older record without one
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    name = f"liveguard-state-{uuid.uuid4().hex[:8]}"
    create_state_table(client, name)
    state = StateTable(name, client)
    room, at_ms = "room-versions", 1_800_000_000_000
    params = {"RoomId": room, "MemberList_Account": ["v-7"], "MuteTime": 60}
    mute = ActionMessage(
        id="a" * 64, command="forbid_send_msg", params=params, room=room, rule="mask-banned", cause="e" * 64,
        rules_version="v-2:0123456789ab",
    )  # fmt: skip
    decided = AuditRecord(
        id="e" * 64, at_ms=at_ms, kind="event", command="Group.CallbackBeforeSendMsg", rules=["mask-banned"],
        actions=[mute], outcome="decided", rules_version="v-2:0123456789ab",
    )  # fmt: skip
    older = AuditRecord(
        id="f" * 64, at_ms=at_ms - 1000, kind="event", command="Group.CallbackBeforeSendMsg",
        rules=["mask-banned"], outcome="decided",
    )  # fmt: skip
    state.record_decision(room, older, now=at_ms / 1000)
    state.record_decision(room, decided, now=at_ms / 1000)
    state.audit(room, AuditRecord.of_action(mute, at_ms=at_ms + 1000, outcome="done"))
    path = tmp_path / "local.json"
    path.write_text(
        json.dumps({"aws_credentials": {"AWS_ENDPOINT_URL": endpoint}, "tables": {"StateTable": name}})
    )
    # When the room's audit is printed, as text and as JSON
    status, out, _ = liveguard(capsys, "audit", room, "--local-file", str(path))
    _, as_json, _ = liveguard(capsys, "audit", room, "--json", "--local-file", str(path))
    # Then the decision and its action name the version; the older record is shown without one
    assert status == 0
    headers = [line for line in out.splitlines() if not line.startswith(" ")]
    assert [line.endswith("rules v-2:0123456789ab") for line in headers] == [False, True, True]
    assert [json.loads(line).get("rules_version") for line in as_json.splitlines()] == [
        None, "v-2:0123456789ab", "v-2:0123456789ab",
    ]  # fmt: skip
