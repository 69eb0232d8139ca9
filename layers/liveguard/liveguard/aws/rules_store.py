"""The rules bucket as the operator commands use it (boto3): publish a bundle as the new live version,
read the live version and the recent ones with their metadata, read an old version's bytes.

The bucket is versioned and holds one object (``rules/active.json``): its versions are the history,
so publishing and rolling back are both a PutObject of a bundle (a rollback puts an old version's
bytes again, as a new version naming what it rolled back from), and nothing is ever deleted by us
(the bucket's lifecycle keeps a bounded number of noncurrent versions). The functions read it with
``liveguard.aws.rules_bucket`` (no boto3). Metadata (S3 user metadata, ASCII): ``sha256`` of the
bytes, ``published-by`` (the caller's STS identity ARN), ``source`` (the rules file's name,
percent-encoded), ``rolled-back-from`` and ``restores`` (version ids) on a rollback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from liveguard.rules.bundle import BUNDLE_KEY


@dataclass(frozen=True)
class StoredVersion:
    """One version of the live bundle's object."""

    version_id: str
    last_modified: datetime
    size: int
    is_latest: bool
    sha256: str | None = None
    published_by: str | None = None
    source: str | None = None
    rolled_back_from: str | None = None
    restores: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "published_at": self.last_modified.isoformat(),
            "size": self.size,
            "live": self.is_latest,
            "sha256": self.sha256,
            "published_by": self.published_by,
            "source": self.source,
            "rolled_back_from": self.rolled_back_from,
            "restores": self.restores,
        }


class RulesStore:
    """One rules bucket, through a boto3 S3 client (errors are botocore's)."""

    def __init__(self, s3: Any, bucket: str, key: str = BUNDLE_KEY) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.key = key

    def publish(
        self,
        body: bytes,
        *,
        sha256: str,
        published_by: str,
        source: str,
        rolled_back_from: str | None = None,
        restores: str | None = None,
    ) -> str:
        """Put ``body`` as the new live version; its version id."""
        metadata = {"sha256": sha256, "published-by": published_by, "source": quote(source, safe="")}
        if rolled_back_from:
            metadata["rolled-back-from"] = rolled_back_from
        if restores:
            metadata["restores"] = restores
        answer = self.s3.put_object(
            Bucket=self.bucket,
            Key=self.key,
            Body=body,
            ContentType="application/json",
            Metadata=metadata,
        )
        version: str | None = answer.get("VersionId")
        if not version or version == "null":
            raise ValueError(f"bucket {self.bucket} is not versioned: a rollback would have no history")
        return version

    def live(self) -> StoredVersion | None:
        """The live version, or None when nothing is published."""
        from botocore.exceptions import ClientError

        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return self._version(head, head.get("VersionId", "null"), is_latest=True)

    def versions(self, limit: int = 10) -> list[StoredVersion]:
        """The newest versions, newest first (the live one first), with their metadata."""
        listing = self.s3.list_object_versions(Bucket=self.bucket, Prefix=self.key, MaxKeys=max(limit, 1))
        found = [entry for entry in listing.get("Versions", []) if entry.get("Key") == self.key]
        found.sort(key=lambda entry: entry["LastModified"], reverse=True)
        versions = []
        for entry in found[:limit]:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key, VersionId=entry["VersionId"])
            versions.append(self._version(head, entry["VersionId"], is_latest=bool(entry.get("IsLatest"))))
        return versions

    def read(self, version_id: str) -> tuple[bytes, StoredVersion]:
        """One version's bytes and what is known of it."""
        answer = self.s3.get_object(Bucket=self.bucket, Key=self.key, VersionId=version_id)
        body: bytes = answer["Body"].read()
        return body, self._version(answer, version_id, is_latest=False)

    @staticmethod
    def _version(head: dict[str, Any], version_id: str, *, is_latest: bool) -> StoredVersion:
        metadata = {key.lower(): value for key, value in (head.get("Metadata") or {}).items()}
        source = metadata.get("source")
        return StoredVersion(
            version_id=version_id,
            last_modified=head["LastModified"],
            size=int(head.get("ContentLength", 0)),
            is_latest=is_latest,
            sha256=metadata.get("sha256"),
            published_by=metadata.get("published-by"),
            source=unquote(source) if source else None,
            rolled_back_from=metadata.get("rolled-back-from"),
            restores=metadata.get("restores"),
        )
