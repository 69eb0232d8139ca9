"""The rules bucket as the functions read it: a conditional GET of the live bundle, in the standard
library (``http.client``, signed by ``liveguard.aws.sigv4``).

Boto3-free for the ingress's sake: it reads the bucket on its cold start and then from a background
thread, and importing botocore there (about 0.3 s of CPU under the GIL) would slow the answers it is
giving meanwhile. One short-lived connection per read: reads are rare (one every
RULES_REFRESH_SECONDS, most answered 304), and a kept-alive socket would not survive the freezes
Lambda puts an idle environment in. Endpoint and credentials as for liveguard.aws.protocol:
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` (moto: path-style URLs), else the bucket's
virtual-hosted regional endpoint.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from liveguard.aws.protocol import AwsCredentials, region_from_environment
from liveguard.aws.sigv4 import sign_headers
from liveguard.rules.bundle import MAX_BUNDLE_BYTES, BundleUnreadable, NothingPublished, PublishedBundle

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


class RulesBucketReader:
    """Reads one object (the live bundle) of the rules bucket; ``read`` is a conditional GET."""

    def __init__(
        self,
        bucket: str,
        key: str,
        *,
        region: str,
        credentials: AwsCredentials,
        endpoint: str | None = None,
        timeout: float = 2.0,
    ) -> None:
        self.bucket = bucket
        self.key = key
        self.region = region
        self.timeout = timeout
        self._credentials = credentials
        if endpoint:
            url = urlsplit(endpoint)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ValueError(f"S3 endpoint must be an http(s) URL, got {endpoint!r}")
            self._secure = url.scheme == "https"
            self._host = url.netloc
            self._path = f"{url.path.rstrip('/')}/{quote(bucket)}/{quote(key, safe='/~')}"
        else:
            self._secure = True
            self._host = f"{bucket}.s3.{region}.amazonaws.com"
            self._path = f"/{quote(key, safe='/~')}"

    @classmethod
    def from_environment(
        cls, bucket: str, key: str, environ: Mapping[str, str] = os.environ, **options: float
    ) -> RulesBucketReader:
        endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL") or None
        return cls(
            bucket,
            key,
            region=region_from_environment(environ),
            credentials=AwsCredentials.from_environment(environ),
            endpoint=endpoint,
            **options,
        )

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def read(self, if_none_match: str | None = None) -> PublishedBundle | None:
        """The live bundle; None when its ETag is still ``if_none_match`` (304). Raises
        NothingPublished (404/403) or BundleUnreadable (the network, 5xx, too large)."""
        headers = sign_headers(
            method="GET",
            host=self._host,
            path=self._path,
            headers={"x-amz-content-sha256": EMPTY_SHA256},
            body=b"",
            region=self.region,
            service="s3",
            access_key=self._credentials.access_key_id,
            secret_key=self._credentials.secret_access_key,
            session_token=self._credentials.session_token,
        )
        if if_none_match:
            headers["If-None-Match"] = if_none_match  # not signed: S3 does not require it
        kind = http.client.HTTPSConnection if self._secure else http.client.HTTPConnection
        connection = kind(self._host, timeout=self.timeout)
        try:
            connection.request("GET", self._path, headers=headers)
            response = connection.getresponse()
            length = int(response.getheader("Content-Length") or 0)
            if length > MAX_BUNDLE_BYTES:
                raise BundleUnreadable(f"{self.location}: {length} bytes, too large", retryable=False)
            body = response.read(MAX_BUNDLE_BYTES + 1)
            status = response.status
            answer = {name.lower(): value for name, value in response.getheaders()}
        except (OSError, http.client.HTTPException) as error:
            raise BundleUnreadable(
                f"{self.location}: {type(error).__name__}: {error}", retryable=True
            ) from None
        finally:
            connection.close()
        if status == 304:
            return None
        if status in (403, 404):
            raise NothingPublished(
                f"{self.location}: HTTP {status} (nothing published yet, or no s3:GetObject on it)",
                retryable=False,
            )
        if status != 200:
            raise BundleUnreadable(f"{self.location}: HTTP {status}", retryable=status >= 500)
        return PublishedBundle(
            body=body,
            etag=answer.get("etag", ""),
            version_id=answer.get("x-amz-version-id"),
            metadata={
                name.removeprefix("x-amz-meta-"): value
                for name, value in answer.items()
                if name.startswith("x-amz-meta-")
            },
        )
