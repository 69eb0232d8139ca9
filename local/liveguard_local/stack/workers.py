"""One process per function instance, as Lambda runs them: own imports, own module-level state.

Each instance is a ``multiprocessing`` process started with the spawn method. It clears the
environment down to the function's (the template's variables, Lambda's reserved ones, fake AWS
credentials and the moto endpoint), puts the function's code folder and its layers first on
``sys.path``, imports the handler (the init phase) and then serves invocations from a pipe: the event
goes in as JSON and the handler's result comes back as JSON, so nothing is shared by reference.
Its stdout and stderr (Powertools' JSON logs and metrics) go to the function's log file.

The parent enforces the template's Timeout: an instance that has not answered by then is killed and
a fresh one started on the next invocation (a cold start), as Lambda does after a timeout or crash.
This module is imported by the spawned processes before the function's environment is set, so it
imports nothing of the application at module level.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Literal

INIT_TIMEOUT = 60.0  # seconds for the imports and module-level work of a cold start (Lambda: 10 s)
TIMEOUT_GRACE = 0.5


@dataclass(frozen=True)
class WorkerSpec:
    """Everything an instance needs, picklable for the spawn start method."""

    function: str  # the logical id, for messages
    name: str
    arn: str
    handler: str
    code_dir: str
    layer_dirs: tuple[str, ...]
    environment: dict[str, str]
    memory: int
    timeout: float
    log_path: str
    log_group: str
    # Test-only fault injection, off by default (see CrashOnGroup).
    crash: CrashOnGroup | None = None


@dataclass(frozen=True)
class CrashOnGroup:
    """Test-only fault injection at the Lambda-runtime level, never in the product's code: the first
    ``times`` invocations of ``function`` (a logical id) whose batch holds an SQS record of message
    group ``group`` raise ``InjectedCrashError`` before the handler runs, so nothing of the batch is
    deleted and every record comes back, as after a crashed invocation. Counted per instance."""

    function: str
    group: str
    times: int = 1


class InjectedCrashError(RuntimeError):
    """The invocation failure CrashOnGroup injects."""


def _holds_group(event: Any, group: str) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return any(
        isinstance(record, dict) and (record.get("attributes") or {}).get("MessageGroupId") == group
        for record in records or []
    )


class LocalContext:
    """What Lambda passes as ``context``: identity of the function and the time left."""

    def __init__(self, spec: WorkerSpec, request_id: str, deadline: float) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory
        self.aws_request_id = request_id
        self.log_group_name = spec.log_group
        self.log_stream_name = f"local/[$LATEST]{os.getpid()}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


def worker_main(spec: WorkerSpec, conn: Connection) -> None:
    """The instance's process: init, then one invocation at a time until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group; the parent stops us
    log = os.open(spec.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for descriptor in (1, 2):
        os.dup2(log, descriptor)
    os.close(log)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    os.environ.clear()
    os.environ.update(spec.environment)
    if hasattr(time, "tzset"):
        time.tzset()
    sys.path[:0] = [spec.code_dir, *spec.layer_dirs]
    os.chdir(spec.code_dir)
    module_name, _, attribute = spec.handler.rpartition(".")
    started = time.perf_counter()
    try:
        import importlib

        handler = getattr(importlib.import_module(module_name), attribute)
    except BaseException as exc:  # any init failure is reported, as Lambda does
        traceback.print_exc()
        conn.send(("init_error", _error(exc, "Runtime.ImportModuleError")))
        conn.close()
        return
    conn.send(("ready", (time.perf_counter() - started) * 1000))
    crashes_left = spec.crash.times if spec.crash is not None else 0
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        _, request_id, event_json, timeout = message
        context = LocalContext(spec, request_id, time.monotonic() + timeout)
        reply: tuple[str, Any]
        try:
            event = json.loads(event_json)
            if crashes_left > 0 and spec.crash is not None and _holds_group(event, spec.crash.group):
                crashes_left -= 1
                raise InjectedCrashError(f"injected crash on a batch holding group {spec.crash.group}")
            result = handler(event, context)
            reply = ("ok", json.dumps(result))
        except SystemExit as exc:
            conn.send(("error", _error(exc, "Runtime.ExitError")))
            return
        except Exception as exc:
            traceback.print_exc()
            reply = ("error", _error(exc))
        conn.send(reply)


Status = Literal["ok", "error", "timeout", "crashed"]


@dataclass
class Result:
    """One invocation, seen from outside: the handler's JSON result, or why there is none."""

    status: Status
    payload: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    cold: bool = False
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class _Instance:
    def __init__(self, spec: WorkerSpec, context: Any) -> None:
        self.spec = spec
        self._context = context
        self.process: Any = None
        self.conn: Connection | None = None

    def spawn(self) -> None:
        parent, child = self._context.Pipe()
        self.process = self._context.Process(
            target=worker_main, args=(self.spec, child), name=f"lambda-{self.spec.function}", daemon=True
        )
        self.process.start()
        child.close()
        self.conn = parent

    def wait_ready(self, timeout: float = INIT_TIMEOUT) -> dict[str, Any] | None:
        """None when initialised; else the init error (the process is gone)."""
        assert self.conn is not None
        try:
            if not self.conn.poll(timeout):
                self.kill()
                return {"errorType": "Runtime.InitTimeout", "errorMessage": f"init took over {timeout:.0f} s"}
            kind, detail = self.conn.recv()
        except (EOFError, OSError):
            self.kill()
            return {
                "errorType": "Runtime.ExitError",
                "errorMessage": "the process exited during init (its stderr says why; a script that starts "
                "the stack needs the `if __name__ == '__main__':` guard the spawn start method requires)",
            }
        if kind != "ready":
            self.kill()
            return dict(detail)
        return None

    @property
    def alive(self) -> bool:
        return self.conn is not None and self.process is not None and self.process.is_alive()

    def kill(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()
        process, self.process = self.process, None
        if process is not None and process.pid is not None:  # started
            if process.is_alive():
                process.kill()
            process.join(5)

    def stop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        if self.process is not None and self.process.pid is not None:
            self.process.join(5)
        self.kill()


class FunctionPool:
    """The instances of one function; an invocation takes an idle one (waiting for one if none is)."""

    def __init__(self, spec: WorkerSpec, size: int = 1) -> None:
        import multiprocessing

        self.spec = spec
        self.size = size
        self._context = multiprocessing.get_context("spawn")
        self._instances = [_Instance(spec, self._context) for _ in range(size)]
        self._idle: queue.Queue[_Instance] = queue.Queue()
        self._lock = threading.Lock()

    def spawn(self) -> None:
        for instance in self._instances:
            instance.spawn()

    def wait_ready(self) -> dict[str, Any] | None:
        """Wait for every instance's init; the first init error, if any."""
        failure: dict[str, Any] | None = None
        for instance in self._instances:
            error = instance.wait_ready()
            failure = failure or error
            self._idle.put(instance)
        return failure

    def grow(self, size: int) -> dict[str, Any] | None:
        """Up to ``size`` instances, as Lambda adds concurrency under load: the new ones are spawned,
        initialized and then take invocations; the first init error, if any."""
        added = [_Instance(self.spec, self._context) for _ in range(size - len(self._instances))]
        for instance in added:
            instance.spawn()
        failure: dict[str, Any] | None = None
        for instance in added:
            failure = failure or instance.wait_ready()
            with self._lock:
                self._instances.append(instance)
                self.size = len(self._instances)
            self._idle.put(instance)
        return failure

    def invoke(self, event: Any) -> Result:
        instance = self._idle.get()
        try:
            return self._invoke(instance, event)
        finally:
            self._idle.put(instance)

    def _invoke(self, instance: _Instance, event: Any) -> Result:
        started = time.perf_counter()
        cold = False
        if not instance.alive:
            cold = True
            instance.kill()
            instance.spawn()
            init_error = instance.wait_ready()
            if init_error is not None:
                return Result("error", error=init_error, duration_ms=_ms(started), cold=True)
        conn = instance.conn
        assert conn is not None
        result = Result("ok", cold=cold)
        timeout = self.spec.timeout
        try:
            conn.send(("invoke", result.request_id, json.dumps(event), timeout))
            if not conn.poll(timeout + TIMEOUT_GRACE):
                instance.kill()
                result.status = "timeout"
                result.error = {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {timeout:.2f} seconds",
                }
            else:
                kind, detail = conn.recv()
                if kind == "ok":
                    result.payload = json.loads(detail)
                else:
                    result.status = "error"
                    result.error = dict(detail)
                    if detail.get("errorType") == "Runtime.ExitError":
                        instance.kill()
        except (EOFError, OSError):
            code = instance.process.exitcode if instance.process is not None else None
            instance.kill()
            result.status = "crashed"
            result.error = {"errorType": "Runtime.ExitError", "errorMessage": f"the process exited ({code})"}
        result.duration_ms = _ms(started)
        return result

    def stop(self) -> None:
        for instance in self._instances:
            instance.stop()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
