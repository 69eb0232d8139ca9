"""End-to-end fixtures: the local stack from template.yaml, started in-process on free ports once per
module, and driven over HTTP only: app users through the emulator's client API, the emulator's state
and records, REST as the app admin, and cloud-moderation results posted to the callback URL.

Queues get a 2 s visibility timeout (the template says 180 s), so a failed record is retried within
a test's time; everything else is the template's."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveguard_local.driver import Driver, wait_until
from liveguard_local.stack import LocalStack, LocalStackOptions

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 20.0  # seconds for any one asynchronous effect


def e2e_stack(
    tmp_path_factory: pytest.TempPathFactory, name: str, *, rules: str | None = None, **options: Any
) -> LocalStack:
    """A local stack from template.yaml on free ports (not started: use it as a context manager), with
    a 2 s visibility timeout unless ``options`` say otherwise (None: the template's 180 s) and no
    line per function invocation; with ``rules``, that text as its rules file (``rules.yaml`` in its
    state folder, published as the first version). ``options``: any other LocalStackOptions."""
    state_dir = tmp_path_factory.mktemp(name)
    settings: dict[str, Any] = {"visibility_timeout": 2, **options}
    if rules is not None:
        path = state_dir / "rules.yaml"
        path.write_text(rules, encoding="utf-8")
        settings["rules"] = path
    return LocalStack(
        LocalStackOptions(
            port=0,
            emulator_port=0,
            aws_port=0,
            template=ROOT / "template.yaml",
            state_dir=state_dir,
            console=lambda line: None,  # one line per function invocation: not needed here
            **settings,
        )
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    """The whole app on loopback, with the default rules, and a ``Driver`` for it."""
    with e2e_stack(tmp_path_factory, "e2e-stack") as local, httpx.Client(timeout=10) as http:
        yield Driver.of(local, http)


@pytest.fixture
def room_id(request: pytest.FixtureRequest) -> str:
    """A room id no other test uses: the test's name, shortened, and a random suffix."""
    name = request.node.originalname.removeprefix("test_")[:30].replace("_", "-")
    return f"{name}-{secrets.token_hex(3)}"


def eventually[T](check: Callable[[], T], what: str, timeout: float = TIMEOUT) -> T:
    """Poll until ``check`` returns something truthy; fail the test after ``timeout`` seconds."""
    value = wait_until(check, timeout)
    if value is None:
        pytest.fail(f"timed out after {timeout} s waiting for {what}")
    return value
