"""LiveRules: the rules a function decides with, following the rules bucket (an in-memory source
here; the S3 reader against moto is in tests/integration/test_rules_publish.py)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import pytest

from liveguard.reloading import LiveRules
from liveguard.rules.bundle import (
    BundleUnreadable,
    NothingPublished,
    PublishedBundle,
    RulesBundle,
    sha256_hex,
)
from liveguard.rules.compiled import RuleSet
from liveguard.rules.loader import parse_rules

RULES = """\
terms:
  banned: {terms: [%s]}
rules:
  - name: mask-banned
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [banned]}
    verdict: {action: mask}
"""
FALLBACK = parse_rules(RULES % "fallbackterm", source="fallback")


def bundle(term: str) -> bytes:
    return RulesBundle(rules=RULES % term).to_bytes()


@dataclass
class FakeBucket:
    """The rules bucket's one object, in memory: versions put, conditional reads counted."""

    versions: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    reads: list[str | None] = field(default_factory=list)
    failures: list[BundleUnreadable] = field(default_factory=list)
    location: str = "s3://rules/rules/active.json"

    def put(self, body: bytes, *, sha: str | None = None) -> str:
        version = f"v{len(self.versions) + 1}"
        self.versions.append((version, body, {"sha256": sha or sha256_hex(body)}))
        return version

    def read(self, if_none_match: str | None = None) -> PublishedBundle | None:
        self.reads.append(if_none_match)
        if self.failures:
            raise self.failures.pop(0)
        if not self.versions:
            raise NothingPublished("nothing here", retryable=False)
        version, body, metadata = self.versions[-1]
        etag = f'"{version}"'
        if if_none_match == etag:
            return None
        return PublishedBundle(body=body, etag=etag, version_id=version, metadata=metadata)


@dataclass
class RecordedMetrics:
    counted: list[str] = field(default_factory=list)

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.counted.append(name)

    def add_dimension(self, name: str, value: str) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def bucket() -> FakeBucket:
    return FakeBucket()


@pytest.fixture
def metrics() -> RecordedMetrics:
    return RecordedMetrics()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def live(
    bucket: FakeBucket, metrics: RecordedMetrics, clock: Clock, *, background: bool = True
) -> LiveRules[RuleSet]:
    return LiveRules(
        source=bucket,
        fallback=lambda: FALLBACK,
        prepare=lambda rules: rules,
        metrics=metrics,
        refresh_seconds=30,
        background=background,
        clock=clock,
    )


def terms_of(rules: RuleSet) -> frozenset[str]:
    return rules.terms["banned"].terms


def test_a_cold_start_uses_the_live_version(bucket, metrics, clock):
    # Given a published version
    version = bucket.put(bundle("firstterm"))
    # When a function starts
    rules = live(bucket, metrics, clock).current()
    # Then it decides with that version, named by its version id and sha
    assert terms_of(rules) == {"firstterm"}
    assert rules.version == f"{version}:{sha256_hex(bundle('firstterm'))[:12]}"
    assert metrics.counted == []


def test_with_nothing_published_a_cold_start_runs_the_fallback_and_counts_it(bucket, metrics, clock):
    # Given an empty bucket
    # When a function starts
    rules = live(bucket, metrics, clock).current()
    # Then it runs the fallback rules, counted as such, and no failure is raised
    assert terms_of(rules) == {"fallbackterm"}
    assert metrics.counted == ["RulesFallback"]


def test_an_unreachable_bucket_at_the_ingresss_cold_start_falls_back_at_once_and_counts_a_failure(
    bucket, metrics, clock
):
    # Given a published version and S3 timing out
    bucket.put(bundle("firstterm"))
    bucket.failures = [BundleUnreadable("timed out", retryable=True)] * 2
    # When the ingress starts (its first callback waits for this read)
    rules = live(bucket, metrics, clock).current()
    # Then it tried once, runs the fallback, and says a published version could not be used
    assert bucket.reads == [None]
    assert terms_of(rules) == {"fallbackterm"}
    assert metrics.counted == ["RulesReloadFailed", "RulesFallback"]


def test_a_new_version_is_swapped_in_at_an_invocations_start_after_its_check(bucket, metrics, clock):
    # Given a function running the first version, and a second published
    bucket.put(bundle("firstterm"))
    rules = live(bucket, metrics, clock)
    rules.current()
    bucket.put(bundle("secondterm"))
    # When the interval has passed and an invocation starts (the check runs on its thread)
    clock.now += 30
    rules.refresh()
    rules.wait_for_check(5)
    # Then this invocation keeps deciding with the first version
    assert terms_of(rules.current()) == {"firstterm"}
    # And the next invocation's start swaps the second in, counted once
    rules.refresh()
    assert terms_of(rules.current()) == {"secondterm"}
    assert metrics.counted == ["RulesReloaded"]


def test_no_check_is_made_before_the_interval_has_passed(bucket, metrics, clock):
    # Given a function that loaded the live version
    bucket.put(bundle("firstterm"))
    rules = live(bucket, metrics, clock)
    rules.current()
    # When invocations start within the interval
    clock.now += 29
    for _ in range(5):
        rules.refresh()
    rules.wait_for_check(5)
    # Then the bucket was read once, at the cold start
    assert bucket.reads == [None]


def test_a_check_asks_for_the_version_only_if_it_changed(bucket, metrics, clock):
    # Given a function that loaded the live version
    bucket.put(bundle("firstterm"))
    rules = live(bucket, metrics, clock, background=False)
    rules.current()
    # When a check is due and nothing was published
    clock.now += 30
    rules.refresh()
    # Then the check is conditional on the ETag it holds, and nothing changes
    assert bucket.reads == [None, '"v1"']
    assert terms_of(rules.current()) == {"firstterm"}
    assert metrics.counted == []


def test_a_version_that_does_not_load_keeps_the_last_good_rules_logged_and_counted(
    bucket, metrics, clock, caplog
):
    # Given a function running a good version, then a version with a broken rule published
    bucket.put(bundle("firstterm"))
    rules = live(bucket, metrics, clock, background=False)
    rules.current()
    broken = RulesBundle(
        rules=(RULES % "secretterm").replace("verdict: {action: mask}", "verdict: {action: maskk}")
    )
    bucket.put(broken.to_bytes())
    # When the function checks
    clock.now += 30
    with caplog.at_level(logging.ERROR, logger="liveguard.reloading"):
        rules.refresh()
    # Then it keeps the good version, counts the failure and logs why (the loader's line, naming the
    # version and the rule), never the bundle's terms
    assert terms_of(rules.current()) == {"firstterm"}
    assert metrics.counted == ["RulesReloadFailed"]
    [record] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert "version v2 does not load" in record.reason
    assert 'rule "mask-banned"' in record.reason
    assert "secretterm" not in caplog.text


def test_a_bad_version_still_live_is_counted_at_each_check_and_logged_once(bucket, metrics, clock, caplog):
    # Given a function that found the live version broken
    bucket.put(bundle("firstterm"))
    rules = live(bucket, metrics, clock, background=False)
    rules.current()
    bucket.put(b"{not a bundle")
    clock.now += 30
    rules.refresh()
    caplog.clear()
    # When it checks again and the broken version is still live
    with caplog.at_level(logging.ERROR, logger="liveguard.reloading"):
        clock.now += 30
        rules.refresh()
    # Then the check was a 304 on the broken version's ETag, counted again (the alarm stays) and not logged
    assert bucket.reads[-1] == '"v2"'
    assert metrics.counted == ["RulesReloadFailed", "RulesReloadFailed"]
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_a_fixed_version_published_after_a_broken_one_is_used(bucket, metrics, clock):
    # Given a function that found the live version broken
    bucket.put(bundle("firstterm"))
    rules = live(bucket, metrics, clock, background=False)
    rules.current()
    bucket.put(b"{not a bundle")
    clock.now += 30
    rules.refresh()
    # When a good version is published and the function checks
    bucket.put(bundle("thirdterm"))
    clock.now += 30
    rules.refresh()
    # Then it uses it
    assert terms_of(rules.current()) == {"thirdterm"}
    assert rules.version.startswith("v3:")


def test_a_version_whose_bytes_do_not_match_its_sha256_is_not_used(bucket, metrics, clock):
    # Given a function running a good version, then a version whose metadata names other bytes
    bucket.put(bundle("firstterm"))
    rules = live(bucket, metrics, clock, background=False)
    rules.current()
    bucket.put(bundle("secondterm"), sha=sha256_hex(b"something else"))
    # When it checks
    clock.now += 30
    rules.refresh()
    # Then the good version stays
    assert terms_of(rules.current()) == {"firstterm"}
    assert metrics.counted == ["RulesReloadFailed"]


def test_a_read_cut_by_a_freeze_is_tried_once_more(bucket, metrics, clock):
    # Given a function running the first version, a second published, and the first read failing
    # as a socket frozen with the environment does
    bucket.put(bundle("firstterm"))
    rules = live(bucket, metrics, clock, background=False)
    rules.current()
    bucket.put(bundle("secondterm"))
    bucket.failures = [BundleUnreadable("connection reset", retryable=True)]
    # When it checks
    clock.now += 30
    rules.refresh()
    # Then the retry found the new version, and nothing failed
    assert terms_of(rules.current()) == {"secondterm"}
    assert metrics.counted == ["RulesReloaded"]


def test_the_fetch_and_compile_run_off_the_invocations_thread(bucket, metrics, clock):
    # Given a function running the first version, and a second published
    bucket.put(bundle("firstterm"))
    compiled_on: list[threading.Thread] = []

    def prepare(rules: RuleSet) -> RuleSet:
        compiled_on.append(threading.current_thread())
        return rules

    rules = LiveRules(
        source=bucket, fallback=lambda: FALLBACK, prepare=prepare, metrics=metrics, refresh_seconds=30,
        clock=clock,
    )  # fmt: skip
    rules.current()
    bucket.put(bundle("secondterm"))
    # When a check is due
    clock.now += 30
    rules.refresh()
    rules.wait_for_check(5)
    # Then the new version was compiled on another thread than the one answering
    assert compiled_on[0] is threading.current_thread()  # the cold start's, before the first answer
    assert compiled_on[1] is not threading.current_thread()


def test_without_a_bucket_the_fallback_is_used_and_never_checked(metrics, clock):
    # Given a function with no rules bucket configured
    rules = LiveRules(
        source=None, fallback=lambda: FALLBACK, prepare=lambda r: r, metrics=metrics, clock=clock
    )
    # When it starts and invocations come long after
    rules.current()
    clock.now += 3600
    rules.refresh()
    # Then it runs the fallback, and nothing is counted (nothing was expected)
    assert terms_of(rules.current()) == {"fallbackterm"}
    assert metrics.counted == []


def test_a_check_a_frozen_environment_left_unfinished_is_given_time_by_a_later_invocation(
    bucket, metrics, clock
):
    # Given a function running the first version, and a second whose compile takes a while (as it
    # does when the environment is frozen between rare invocations)
    bucket.put(bundle("firstterm"))
    slow = threading.Event()

    def prepare(rules: RuleSet) -> RuleSet:
        if "secondterm" in rules.terms["banned"].terms:
            slow.wait(0.2)
        return rules

    rules = LiveRules(
        source=bucket,
        fallback=lambda: FALLBACK,
        prepare=prepare,
        metrics=metrics,
        refresh_seconds=30,
        clock=clock,
    )
    rules.current()
    bucket.put(bundle("secondterm"))
    clock.now += 30
    rules.refresh()  # the check starts on its thread
    # When an invocation starts before an interval has passed since, it does not wait
    rules.refresh()
    assert terms_of(rules.current()) == {"firstterm"}
    # And when one starts a whole interval after the check began, it waits for it (briefly) and uses it
    clock.now += 30
    rules.refresh()
    assert terms_of(rules.current()) == {"secondterm"}
