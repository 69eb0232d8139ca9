"""moto's HTTP server for tests that need a real AWS endpoint (the ingress signs its own SQS calls,
which in-process mock_aws cannot intercept)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port; yields its URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextmanager
def commands_moto_server(patch: Any) -> Iterator[str]:
    """moto's server for the operator commands: boto3 gets fake credentials and a region through
    ``patch`` (a pytest MonkeyPatch), and no endpoint: the commands must be told it (--endpoint, or the
    local stack's file)."""
    with moto_server() as url:
        for key, value in FAKE_CREDENTIALS.items():
            patch.setenv(key, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        yield url


def create_state_table(client: Any, name: str) -> None:
    """The state table as template.yaml itself declares it (keys, billing, TTL), under ``name``: a
    change to the template's table is what every test then runs against."""
    from liveguard_local.stack.template import load_template

    properties = load_template(TEMPLATE)["Resources"]["StateTable"]["Properties"]
    client.create_table(
        TableName=name,
        **{key: properties[key] for key in ("BillingMode", "AttributeDefinitions", "KeySchema")},
    )
    ttl = properties["TimeToLiveSpecification"]
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={
            "AttributeName": ttl["AttributeName"],
            "Enabled": ttl["Enabled"] in (True, "true"),
        },
    )
