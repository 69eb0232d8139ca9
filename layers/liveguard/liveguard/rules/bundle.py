"""A rules bundle: one rules file and every term file it reads, as one JSON document.

What is published to the rules bucket is a bundle, so a function compiles exactly what
``liveguard rules publish`` validated: the rules YAML as written, and each term file under the path
the YAML names it by (``terms/banned.txt``), never a file read from somewhere else. Its bytes are
canonical (sorted keys, no spaces), so its SHA-256 names the rules: the same file and term lists have
the same sha whether they are published or loaded from disk (``RuleSet.version``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BUNDLE_KEY = "rules/active.json"
"""The rules bucket's one object: the live bundle (its versions are the history)."""

MAX_BUNDLE_BYTES = 16 * 1024 * 1024
"""A bundle larger than this is refused before it is read (a 10,000-term list is ~150 KB)."""


class RulesBundle(BaseModel):
    """The rules YAML and the term files it reads, by the relative paths it names them with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    rules: str = Field(description="the rules file's YAML text")
    files: dict[str, str] = Field(
        default_factory=dict, description="each term file the rules read, by the path they give"
    )

    def to_bytes(self) -> bytes:
        """The canonical bytes: what is stored, and what the sha is taken over."""
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data``, in hex."""
    return hashlib.sha256(data).hexdigest()


def short_sha(sha: str) -> str:
    """The first 12 hex digits: what a version is shown and stamped with."""
    return sha[:12]


@dataclass(frozen=True)
class PublishedBundle:
    """The live bundle as read from the store: its bytes, ETag, version id and metadata
    (lower-case keys: ``sha256``, ``published-by``, ``source``, ``rolled-back-from``)."""

    body: bytes
    etag: str
    version_id: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)


class BundleUnreadable(Exception):  # noqa: N818 - a condition of the store, like ValueError
    """The store could not be read. ``retryable``: another try may succeed (the network, 5xx)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


class NothingPublished(BundleUnreadable):
    """There is no live bundle (or the function may not see it: without s3:ListBucket, S3 answers a
    missing key with 403)."""
