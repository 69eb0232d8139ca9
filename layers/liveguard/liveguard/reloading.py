"""Rules that follow the rules bucket: loaded at cold start, checked for a new version at most every
RULES_REFRESH_SECONDS, swapped in between invocations, never lost to a version that cannot load.

The live bundle is read with a conditional GET (If-None-Match on the ETag last read), so a check that
finds nothing new costs one 304. A new version is compiled with the same loader as a file
(``liveguard.rules.loader.load_bundle``); one that does not compile, whose bytes do not match the
sha256 in its metadata, or that cannot be read, leaves the last good rules in place, is logged (the
loader's lines, never the bundle's text) and counted (``RulesReloadFailed``, which an alarm
watches); a 304 on that same bad ETag counts it again, so the alarm stays up while the bad version is
live, without logging it again.

Two ways to check, one swap point. ``refresh()`` is called at the start of each invocation, and only
there are new rules swapped in: everything one invocation decides is decided by one version, and the
version stamped on it is the one that decided. With ``background=True`` (the ingress, whose answer
must not wait for S3 or for compiling 10,000 terms) a due check runs on a daemon thread and its
result is taken by a later invocation's ``refresh()``. The thread runs at the OS's lowest priority,
with a short thread-switch interval and the cyclic garbage collector off, so the answering thread
comes first (bench/reload.py measures what is left).
Lambda freezes the environment between invocations, thread included, so the check progresses only
while invocations run: with traffic, new rules are in use a few invocations after the check is due
(RULES_REFRESH_SECONDS plus a fetch and a compile after publishing); an idle environment decides its
first event with the rules it had, while it checks; and a check still running a whole interval after
it started, over fewer than CATCH_UP_BELOW_INVOCATIONS invocations (an instance with too little
traffic to give it CPU), is given up to CATCH_UP_SECONDS of the next invocation to finish, so new
rules are in use within about two intervals. A read interrupted by a freeze gets one retry on a
fresh connection (not at the cold start: there the answer waits, so a failed read falls back at
once). With ``background=False`` (the moderator, between batches) the check runs in ``refresh()``
itself. The schedule is on the wall clock: an ingress restored from a SnapStart snapshot, whose rules
are the snapshot's, finds a check due at its first invocation.

At cold start (the first ``current()``), the live bundle is read and compiled before anything is
decided. When there is none yet, or it cannot be read or compiled, the fallback (RULES_FILE, or the
layer's defaults) is used, logged and counted (``RulesFallback``; plus ``RulesReloadFailed`` when a
published version could not be used), and the next check tries the bucket again.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from liveguard.rules.bundle import BundleUnreadable, NothingPublished, PublishedBundle, sha256_hex

if TYPE_CHECKING:
    from liveguard.ports import Metrics, RulesSource
    from liveguard.rules.compiled import RuleSet
    from liveguard.rules.verdict import CompiledRules, Verdict

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_REFRESH_SECONDS = 30.0
CATCH_UP_SECONDS = 0.5
"""How long an invocation waits for a background check that has run for a whole interval: a frozen
environment runs the thread only during invocations, so an instance with little traffic would
otherwise take many of them to finish a compile (Tencent waits 2 s for the answer)."""
CATCH_UP_BELOW_INVOCATIONS = 10
"""Fewer invocations than this during a whole interval is an instance with too little traffic to
give a check CPU; with more, a check still running is not waited for (the answers come first)."""
RELOAD_SWITCH_INTERVAL = 0.0001
"""Seconds between the interpreter's thread switches while a background check runs (Python's
default is 0.005): bench/reload.py measures the answers' latency meanwhile (0.5 ms gave a worse
p99 there, and without the lowest OS priority it was about 6x the baseline's)."""
MAX_LOGGED_LINES = 5
"""Of a version's mistakes, how many lines a log line carries (the loader's lines name rule and
field; the alarm's runbook is to run ``liveguard rules status`` and ``rules check``)."""


@dataclass(frozen=True)
class _Checked[T]:
    """What one check found: nothing new (``rules`` and ``failure`` None), new rules, or a failure."""

    etag: str | None = None
    rules: RuleSet | None = None
    prepared: T | None = None
    failure: str | None = None
    repeated: bool = False  # the same bad version as last time (counted, not logged again)
    bad_version: bool = False  # the failure is the version's own (not S3's): remembered with its ETag


class LiveRules[T]:
    """The rules a function decides with, following the rules bucket (``source``; None: only the
    fallback, never checked). ``prepare`` turns a RuleSet into what the function uses (the ingress's
    InlineRules, or the RuleSet itself); it runs where the compile runs, off the answer's path."""

    def __init__(
        self,
        *,
        source: RulesSource | None,
        fallback: Callable[[], RuleSet],
        prepare: Callable[[RuleSet], T],
        metrics: Metrics,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        background: bool = True,
        check_params: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self._fallback = fallback
        self._prepare = prepare
        self._metrics = metrics
        self.refresh_seconds = refresh_seconds
        self.background = background
        self._check_params = check_params
        self._clock = clock
        self._rules: RuleSet | None = None
        self._current: T | None = None
        self._etag: str | None = None  # the ETag last read, good or bad: what the next check sends
        self._failing: str | None = None  # why the version with that ETag could not be used
        self._pending: _Checked[T] | None = None
        self._thread: threading.Thread | None = None
        self._next_check = 0.0
        self._check_started = 0.0
        self._invocations_during_check = 0

    # --- what the function reads ---

    def current(self) -> T:
        """The rules to decide with (the first call is the cold start's load)."""
        if self._current is None:
            self._cold_start()
        assert self._current is not None
        return self._current

    @property
    def rules(self) -> RuleSet:
        self.current()
        assert self._rules is not None
        return self._rules

    @property
    def version(self) -> str:
        """The version in use (``RuleSet.version``)."""
        return self.rules.version

    # --- the swap point ---

    def refresh(self) -> None:
        """At the start of an invocation: take a finished check's rules, and start a check when one
        is due (on a thread, or here with ``background=False``). Never raises."""
        if self._current is None:
            return  # the cold start's load comes with the first use
        if self._pending is not None:
            self._take(self._pending)
        if self.source is None or self._clock() < self._next_check:
            return
        if self._thread is not None and self._thread.is_alive():
            self._invocations_during_check += 1
            if (
                self._clock() - self._check_started >= self.refresh_seconds
                and self._invocations_during_check < CATCH_UP_BELOW_INVOCATIONS
            ):
                # Started an interval ago and not done, over few invocations: the environment has
                # been frozen most of the time (little traffic). This one gives it CATCH_UP_SECONDS.
                self._thread.join(CATCH_UP_SECONDS)
                if self._pending is not None:
                    self._take(self._pending)
            return
        self._next_check = self._clock() + self.refresh_seconds
        if self.background:
            self._check_started = self._clock()
            self._invocations_during_check = 0
            self._thread = threading.Thread(target=self._check_into_pending, name="rules-reload", daemon=True)
            self._thread.start()
        else:
            self._take(self._check())

    @property
    def checking(self) -> bool:
        """Whether a background check (fetch and compile) is running now."""
        return self._thread is not None and self._thread.is_alive()

    def wait_for_check(self, timeout: float | None = None) -> None:
        """Wait for a background check to finish (tests and benchmarks; a function never waits)."""
        if self._thread is not None:
            self._thread.join(timeout)

    # --- internals ---

    def _cold_start(self) -> None:
        self._next_check = self._clock() + self.refresh_seconds
        if self.source is not None:
            # No second try here when the answer waits for this read (the ingress's first callback):
            # a failed read falls back now, and the next check tries again.
            checked = self._check(retry=not self.background)
            if checked.rules is not None:
                self._take(checked)
                logger.info(
                    "rules loaded from the rules bucket",
                    extra={"rules_version": checked.rules.version, "source": self.source.location},
                )
                return
            if checked.failure is not None:
                self._remember(checked)
                self._metrics.add_metric("RulesReloadFailed", "Count", 1)
                logger.error(
                    "the live rules could not be used; running the fallback rules",
                    extra={"reason": checked.failure, "source": self.source.location},
                )
            else:
                logger.warning(
                    "nothing published in the rules bucket; running the fallback rules",
                    extra={"source": self.source.location},
                )
        rules = self._fallback()
        self._rules, self._current = rules, self._prepare(rules)
        if self.source is not None:
            self._metrics.add_metric("RulesFallback", "Count", 1)
            logger.warning("fallback rules in use", extra={"rules_version": rules.version})

    def _check_into_pending(self) -> None:  # the background thread
        # The compile is pure Python: it takes CPU and holds the GIL in turns with the answering
        # thread. The OS gives this thread the lowest priority (Linux schedules threads as tasks),
        # so the answering thread runs first when both want the CPU; while it runs the interpreter
        # switches threads every RELOAD_SWITCH_INTERVAL instead of every 5 ms, so an answer waits
        # less each time it needs the GIL back (after its SQS send); and the cyclic garbage
        # collector is off, so no full collection over the compile's new objects (several ms,
        # holding the GIL) lands in an answer. Reference counting frees as usual meanwhile.
        _lower_priority()
        previous = sys.getswitchinterval()
        sys.setswitchinterval(min(previous, RELOAD_SWITCH_INTERVAL))
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._pending = self._check()
        finally:
            if collecting:
                gc.enable()
            sys.setswitchinterval(previous)

    def _read(self, retry: bool) -> PublishedBundle | None:
        assert self.source is not None
        try:
            return self.source.read(self._etag)
        except NothingPublished:
            raise
        except BundleUnreadable as error:
            if not (retry and error.retryable):
                raise
            # A read cut by a freeze (the socket timed out while the environment slept): once more.
            return self.source.read(self._etag)

    def _check(self, retry: bool = True) -> _Checked[T]:
        """Read the live bundle if it changed and compile it. Never raises: the outcome says."""
        assert self.source is not None
        try:
            found = self._read(retry)
        except NothingPublished as missing:
            if self._etag is None and self._failing is None:
                return _Checked()  # nothing was ever published: the fallback stays, quietly
            return _Checked(etag=self._etag, failure=f"the live bundle cannot be read: {missing}")
        except BundleUnreadable as error:
            return _Checked(etag=self._etag, failure=f"the rules bucket cannot be read: {error}")
        if found is None:  # 304: the same version as last read
            if self._failing is not None:
                return _Checked(etag=self._etag, failure=self._failing, repeated=True, bad_version=True)
            return _Checked(etag=self._etag)
        version = found.version_id or found.etag.strip('"')
        expected = found.metadata.get("sha256")
        if expected and expected != sha256_hex(found.body):
            return _Checked(
                etag=found.etag,
                failure=f"version {version}: its bytes do not match its sha256 metadata",
                bad_version=True,
            )
        # Imported here: the ingress's module import does not pay for the loader (YAML, the models).
        from liveguard.rules.loader import RulesInvalid, load_bundle

        try:
            rules = load_bundle(
                found.body,
                version_id=found.version_id,
                source=f"{self.source.location}?versionId={version}",
                check_params=self._check_params,
            )
            prepared = self._prepare(rules)
        except RulesInvalid as invalid:
            lines = invalid.errors[:MAX_LOGGED_LINES]
            more = len(invalid.errors) - len(lines)
            reason = "; ".join(line[:300] for line in lines) + (f"; and {more} more" if more > 0 else "")
            return _Checked(
                etag=found.etag, failure=f"version {version} does not load: {reason}", bad_version=True
            )
        return _Checked(etag=found.etag, rules=rules, prepared=prepared)

    def _take(self, checked: _Checked[T]) -> None:
        """Apply a check's outcome (on the function's own thread, where metrics are flushed)."""
        self._pending = None
        if checked.rules is not None and checked.prepared is not None:
            previous = self._rules.version if self._rules is not None else None
            self._rules, self._current = checked.rules, checked.prepared
            self._etag, self._failing = checked.etag, None
            if previous is not None:
                self._metrics.add_metric("RulesReloaded", "Count", 1)
                logger.info(
                    "new rules in use", extra={"rules_version": checked.rules.version, "previous": previous}
                )
            return
        if checked.failure is not None:
            self._remember(checked)
            self._metrics.add_metric("RulesReloadFailed", "Count", 1)
            if not checked.repeated:
                logger.error(
                    "new rules not loaded; the last good rules stay",
                    extra={"reason": checked.failure, "rules_version": self.version},
                )

    def _remember(self, checked: _Checked[T]) -> None:
        """A bad version's ETag and reason, so that a 304 on it says it is still live; a failure to
        read S3 changes neither (the next check asks for the same thing again)."""
        if checked.bad_version:
            self._etag, self._failing = checked.etag, checked.failure


def _lower_priority() -> None:
    """Make the calling thread the last the OS runs (niceness 19); where threads cannot be told apart
    (not Linux), nothing."""
    if sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except OSError:  # refused: the reload still runs, at the process's priority
        logger.debug("could not lower the reload thread's priority")


class LiveInlineRules:
    """The ingress's CompiledRules over LiveRules: verdicts and what to queue from the rules in use,
    and their version for the envelope. Swapped only by ``refresh()`` (at an invocation's start)."""

    def __init__(self, live: LiveRules[CompiledRules]) -> None:
        self.live = live

    def load(self) -> CompiledRules:
        """Load the rules now (a SnapStart init pays for it there, not the first callback)."""
        return self.live.current()

    def refresh(self) -> None:
        self.live.refresh()

    def verdict(self, event: Any, counts: Mapping[str, int] | None = None) -> Verdict | None:
        rules = self.live.current()
        return rules.verdict(event, counts) if counts is not None else rules.verdict(event)

    def acts_on(self, command: str, *, echo: bool) -> bool:
        return self.live.current().acts_on(command, echo=echo)

    def counter_plan(self, command: str) -> Any:
        return self.live.current().counter_plan(command)

    @property
    def version(self) -> str | None:
        return self.live.version
