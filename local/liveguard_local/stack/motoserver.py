"""moto's server in its own process, for the local stack, with one fix to its SQS FIFO receive.

Run as ``python -m liveguard_local.stack.motoserver --host H --port P`` (``--port 0``: a free port).
The first line on stdout is JSON, ``{"port": N}`` once listening or ``{"error": "..."}``; the process
then serves until its stdin closes (the parent stopped or died) or SIGTERM. SIGINT is ignored: Ctrl-C
reaches the whole process group, and the parent stops everything in order.

Five fixes to moto 5.2.5's SQS, which the app's FIFO semantics, its hostile-input handling and the
benchmarks' backlogs depend on:

- Order after a timeout. When several in-flight messages of one FIFO group time out together, moto's
  ``receive_message`` checks each against the groups still held by the others (released only as the
  loop reaches them), so it skips the first and hands out the last alone: the group comes back out
  of order, and reaches the DLQ out of order. The replacement releases every timed-out message
  before looking at groups, then hands out a group's visible messages oldest first, redriving to
  the DLQ after ``maxReceiveCount`` receives as moto does. While long polling it also wakes when an
  in-flight message times out (not up to a second later), and sleeps rather than spins while the
  only visible messages belong to groups still in flight.
- Deduplication. moto compares a FIFO message's deduplication id only with the messages still in
  the queue, queue-wide: a duplicate sent after the first was deleted is delivered again, and with
  ``DeduplicationScope: messageGroup`` the same id in two groups is dropped. SQS remembers an id for
  5 minutes from the first send, deleted or not, per group when the scope is ``messageGroup``.
- Message body characters. SQS refuses a body holding a character outside #x9 | #xA | #xD |
  #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF (``InvalidMessageContents``); moto takes anything,
  so a viewer's U+FFFF that would cost an event in AWS would pass here unseen. The replacement refuses
  as SQS does (a SendMessageBatch is refused whole here, where SQS fails only the entry).
- Thread safety. moto's threaded server runs a DeleteMessage (which rebuilds the message list) and a
  SendMessage (which appends to it) at once, and the append can be lost. Sends, deletes and receives
  take one lock here.
- Cost with a backlog. moto rebuilds a queue's attributes (three passes over every message, reading
  the clock once per message per pass) several times per SendMessage, and once for each message a
  receive hands out (its retention check): with thousands of messages queued, every send and
  receive took tens to hundreds of milliseconds of moto's CPU, where SQS's cost does not grow with
  the backlog; a DeleteMessage built every queued message's list of receipt handles. Here the counts
  and the visible messages take one pass with one clock reading, the receive checks retention
  against the queue's own setting, a delete looks among the messages in flight first, and the
  attribute names moto converts each time are remembered, as is the list of moto's own modules,
  which its server read from disk for every request. What each answers is unchanged.

And one fault switch, off by default, for the spool's fault test: ``POST /_liveguard/sqs-faults``
with ``{"refuse_send": ["<queue name>", ...]}`` (``"*"`` for every queue; ``[]`` turns it off) makes
SendMessage and SendMessageBatch to those queues answer HTTP 503 ``ServiceUnavailable``, as SQS does
when it is unavailable, until switched off. ``GET`` on the same path shows the switch. Only SQS's
JSON protocol (what boto3 and LiveGuard's own client speak) is refused.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from copy import deepcopy
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

# One lock over every change to a queue's messages (an RLock: a redrive adds to the DLQ mid-receive).
_STATE_LOCK = threading.RLock()
DEDUPLICATION_INTERVAL = 300.0  # seconds SQS remembers a FIFO message's deduplication id


def _receive_once(
    backend: Any, queue: Any, queue_name: str, count: int, visibility_timeout: int, names: list[str]
) -> tuple[list[Any], list[Any]]:
    """One pass over the queue: (the messages handed out, the visible messages seen)."""
    from moto.core.utils import unix_time
    from moto.sqs.models import _filter_message_attributes

    result: list[Any] = []
    visible = queue.messages
    retention, now = int(queue.message_retention_period), unix_time()
    for message in visible:  # timed out: no longer in flight
        queue.pending_messages.discard(message)
    held = queue.pending_message_groups if queue.fifo_queue else set()
    to_dead_letter = []
    for message in visible:
        if message.group_id is not None and message.group_id in held:
            continue  # an earlier message of this group is still being processed
        if (
            queue.dead_letter_queue is not None
            and queue.redrive_policy
            and message.approximate_receive_count >= queue.redrive_policy["maxReceiveCount"]
        ):
            to_dead_letter.append(message)
            continue
        if retention + message.sent_timestamp / 1000 <= now:  # moto's retention check
            continue
        queue.pending_messages.add(message)
        message.mark_received(visibility_timeout=visibility_timeout)
        copy = deepcopy(message)  # the caller's copy; attribute filtering must not touch ours
        _filter_message_attributes(copy, names)
        result.append(copy)
        if len(result) >= count:
            break
    for message in to_dead_letter:
        queue._messages.remove(message)
        _append(queue.dead_letter_queue, message)  # moved as it is: no deduplication on redrive
    return result, visible


def _visible(self: Any) -> list[Any]:
    """Queue.messages: visible and not delayed (Message.visible and .delayed), one clock reading."""
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _not_visible(self: Any) -> int:
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    return sum(1 for m in self._messages if not now > m.visible_at)


def _delayed(self: Any) -> int:
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    return sum(1 for m in self._messages if now < m.delayed_until)


def _append(queue: Any, message: Any) -> None:
    with queue._messages_lock:
        queue._messages.append(message)
        queue._messages_lock.notify_all()


def _add_message(self: Any, message: Any) -> None:
    """Queue.add_message, with SQS's deduplication (5 minutes from the first send, per group when
    the scope is messageGroup). moto's Lambda event source mappings are not run: the stack polls."""
    with _STATE_LOCK:
        if self.fifo_queue and message.deduplication_id:
            seen: dict[tuple[str | None, str], float] = self.__dict__.setdefault("_liveguard_seen", {})
            now = time.time()
            if len(seen) > 10_000:
                for key in [key for key, at in seen.items() if now - at >= DEDUPLICATION_INTERVAL]:
                    del seen[key]
            group = message.group_id if self.deduplication_scope == "messageGroup" else None
            first = seen.get((group, message.deduplication_id))
            if first is not None and now - first < DEDUPLICATION_INTERVAL:
                return  # accepted, not delivered
            seen[(group, message.deduplication_id)] = now
        _append(self, message)


def _delete_message(self: Any, receipt_handle: str) -> None:
    """Queue.delete_message, looking first among the messages in flight (a handful) rather than
    building every queued message's list of handles; moto's own pass when the handle is not there."""
    with _STATE_LOCK:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: accepted again, as moto and SQS do
        found = [m for m in self.pending_messages if m.had_receipt_handle(receipt_handle)]
        if not found:
            _ORIGINAL["delete_message"](self, receipt_handle)
            return
        for message in found:
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
        gone = {id(message) for message in found}
        self._messages = [m for m in self._messages if id(m) not in gone]


_ORIGINAL: dict[str, Any] = {}
# The characters SQS takes in a message body (SendMessage's documentation), and what it refuses.
_REFUSED_BY_SQS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _send_message(self: Any, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
    """SQSBackend.send_message (SendMessageBatch calls it too), refusing what SQS refuses."""
    from moto.sqs.exceptions import SQSException

    found = _REFUSED_BY_SQS.search(message_body)
    if found is not None:
        raise SQSException(
            "InvalidMessageContents",
            f"Invalid binary character '#x{ord(found.group()):X}' was found in the message body, the set"
            " of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to"
            " #x10FFFF",
        )
    return _ORIGINAL["send_message"](self, queue_name, message_body, *args, **kwargs)


def _receive_message(
    self: Any,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Any]:
    from moto.core.utils import unix_time

    names = message_attribute_names or []
    queue = self.get_queue(queue_name)
    polling_end = unix_time() + wait_seconds_timeout
    while True:
        with _STATE_LOCK:  # moto's server is threaded; concurrent pollers must not share a message
            result, visible = _receive_once(self, queue, queue_name, count, visibility_timeout, names)
        now = unix_time()
        if result or not wait_seconds_timeout or now > polling_end:
            return result
        if visible:
            time.sleep(0.05)  # visible, but held by their groups: wait_for_messages would return at once
        else:
            # Until a message arrives (notified) or an in-flight one times out, whichever is first.
            in_flight = [message.visible_at / 1000 for message in queue._messages if not message.visible]
            wake = min([polling_end, now + 1, *in_flight])
            queue.wait_for_messages(max(0.01, wake - now))  # a float works, as Condition.wait_for's


def apply_fixes() -> None:
    from moto import backends
    from moto.sqs import models
    from moto.sqs.models import Queue, SQSBackend

    _ORIGINAL["delete_message"] = Queue.delete_message
    _ORIGINAL["send_message"] = SQSBackend.send_message
    SQSBackend.send_message = _send_message  # type: ignore[method-assign]
    SQSBackend.receive_message = _receive_message  # type: ignore[method-assign]
    Queue.add_message = _add_message  # type: ignore[method-assign]
    Queue.delete_message = _delete_message  # type: ignore[method-assign]
    # Every request (under the server's one lock) lists moto's package folder to find its backend.
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    # A pure function of the name, run for each of a queue's 20-odd attributes every time moto rebuilds
    # them (three times a SendMessage): remembered.
    models.camelcase_to_underscores = functools.cache(models.camelcase_to_underscores)  # type: ignore[attr-defined]
    Queue.messages = property(_visible)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages = property(lambda self: len(_visible(self)))  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_not_visible = property(_not_visible)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_delayed = property(_delayed)  # type: ignore[method-assign,assignment]


SQS_FAULTS_PATH = "/_liveguard/sqs-faults"
_SENDS = frozenset({"AmazonSQS.SendMessage", "AmazonSQS.SendMessageBatch"})


class SqsFaults:
    """WSGI middleware in front of moto: the fault switch, and SQS's refusal while it is on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.refused: frozenset[str] = frozenset()
        self.refusals = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == SQS_FAULTS_PATH:
            return self._switch(environ, start_response)
        if self.refused and environ.get("HTTP_X_AMZ_TARGET") in _SENDS:
            body = _read_body(environ)
            environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
            try:
                url = str(json.loads(body).get("QueueUrl", ""))
            except (ValueError, AttributeError):
                url = ""
            name = urlsplit(url).path.rsplit("/", 1)[-1]
            if "*" in self.refused or name in self.refused:
                self.refusals += 1
                return _json_answer(
                    start_response,
                    "503 Service Unavailable",
                    {
                        "__type": "com.amazonaws.sqs#ServiceUnavailable",
                        "message": "injected: SQS unavailable",
                    },
                )
        return self.app(environ, start_response)

    def _switch(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") == "POST":
            try:
                names = json.loads(_read_body(environ) or b"{}").get("refuse_send", [])
            except (ValueError, AttributeError):
                names = None
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                return _json_answer(
                    start_response, "400 Bad Request", {"error": 'expected {"refuse_send": [queue names]}'}
                )
            self.refused = frozenset(names)
        state = {"refuse_send": sorted(self.refused), "refusals": self.refusals}
        return _json_answer(start_response, "200 OK", state)


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    data: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    return data


def _json_answer(start_response: Any, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _exit_with_parent() -> None:
    sys.stdin.buffer.read()  # returns at EOF: the parent closed the pipe or is gone
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="liveguard_local.stack.motoserver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    apply_fixes()
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    # Its answers' headers and body are separate writes: with Nagle's algorithm on, a keep-alive
    # client's delayed ACK holds the body up to 40 ms.
    MotoRequestHandler.disable_nagle_algorithm = True
    try:
        server = make_server(
            args.host,
            args.port,
            SqsFaults(DomainDispatcherApplication(create_backend_app)),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
    except OSError as error:
        print(
            json.dumps({"error": f"cannot listen on {args.host}:{args.port}: {error.strerror}"}), flush=True
        )
        return 1
    os.environ["MOTO_PORT"] = str(server.server_port)
    print(json.dumps({"port": server.server_port}), flush=True)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    server.serve_forever()
    return 0


class MotoProcess:
    """The parent's handle on the moto server process."""

    def __init__(self, host: str, port: int, log_path: Path) -> None:
        self.host = host
        self.port = port
        self.log_path = log_path
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 30.0) -> str:
        self.launch()
        return self.wait(timeout)

    def launch(self) -> None:
        """Start the process; ``wait`` for it to listen (the caller can do other work meanwhile)."""
        environment = dict(os.environ)
        here = str(Path(__file__).resolve().parents[2])  # the folder holding liveguard_local
        environment["PYTHONPATH"] = os.pathsep.join([here, *filter(None, [environment.get("PYTHONPATH")])])
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "liveguard_local.stack.motoserver",
                "--host",
                self.host,
                "--port",
                str(self.port),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=environment,
        )

    def wait(self, timeout: float = 30.0) -> str:
        """The server's URL once it listens; OSError when it could not start."""
        assert self._process is not None
        lines: list[bytes] = []
        stdout = self._process.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        first = lines[0].decode(errors="replace").strip() if lines else ""
        try:
            answer: dict[str, Any] = json.loads(first) if first else {}
        except ValueError:
            answer = {}
        if "port" not in answer:
            self.stop()
            reason = answer.get("error") or f"moto did not start (see {self.log_path})"
            raise OSError(reason)
        self.port = int(answer["port"])
        self.url = f"http://{self.host}:{self.port}"
        return self.url

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()  # the server exits on EOF
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            if process.stdout is not None:
                process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None


if __name__ == "__main__":
    sys.exit(main())
