"""The template's queues, tables and secrets, created in moto from their own definitions.

Each resource's CloudFormation properties are resolved (``Stage=local``) and mapped onto the API
call CloudFormation would make: queue attributes (FIFO settings, visibility timeout, retention,
redrive to the DLQ), the table's keys, billing, SSE, TTL and point-in-time recovery, the secret's name
and description. The secret's value is the one thing not taken from the template: it holds the
generated local settings (the template's is a placeholder for the operator to replace).
A property the local stack does not map is reported, never silently dropped.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .template import Physical, Template, TemplateError, Unresolved

QUEUE_ATTRIBUTES = frozenset(
    {
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "DelaySeconds",
        "FifoQueue",
        "FifoThroughputLimit",
        "KmsDataKeyReusePeriodSeconds",
        "KmsMasterKeyId",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "RedriveAllowPolicy",
        "RedrivePolicy",
        "SqsManagedSseEnabled",
        "VisibilityTimeout",
    }
)
TABLE_PASSTHROUGH = frozenset(
    {
        "AttributeDefinitions",
        "KeySchema",
        "BillingMode",
        "ProvisionedThroughput",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
        "TableClass",
        "DeletionProtectionEnabled",
        "Tags",
    }
)
TABLE_MAPPED = frozenset(
    {"TableName", "SSESpecification", "StreamSpecification", "TimeToLiveSpecification"}
    | {"PointInTimeRecoverySpecification"}
)
BUCKET_MAPPED = frozenset(
    {"BucketName", "VersioningConfiguration", "BucketEncryption", "PublicAccessBlockConfiguration"}
)
SECRET_MAPPED = frozenset({"Name", "Description", "KmsKeyId", "Tags", "SecretString", "GenerateSecretString"})


@dataclass
class Created:
    """What the local stack made, by logical id."""

    queues: dict[str, str] = field(default_factory=dict)  # logical id -> URL
    queue_arns: dict[str, str] = field(default_factory=dict)  # ARN -> URL
    tables: dict[str, str] = field(default_factory=dict)  # logical id -> name
    secrets: dict[str, str] = field(default_factory=dict)  # logical id -> ARN
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> name
    warnings: list[str] = field(default_factory=list)


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


class ResourceMaker:
    """Creates the template's resources of the supported types in moto, in dependency order."""

    def __init__(
        self,
        template: Template,
        clients: Callable[[str], Any],
        *,
        secret_value: Mapping[str, Any],
        visibility_timeout: int | None = None,
    ) -> None:
        self.template = template
        self.clients = clients
        self.secret_value = dict(secret_value)
        self.visibility_timeout = visibility_timeout
        self.created = Created()

    def create_all(self) -> Created:
        makers: dict[str, Callable[[str, dict[str, Any]], None]] = {
            "AWS::SQS::Queue": self._queue,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::S3::Bucket": self._bucket,
        }
        pending = [
            logical_id
            for logical_id, resource in self.template.resources.items()
            if resource.get("Type") in makers and self.template.included(logical_id)
        ]
        while pending:
            waiting: list[str] = []
            for logical_id in pending:
                resource = self.template.resources[logical_id]
                try:
                    properties = self.template.resolve(resource.get("Properties") or {})
                except Unresolved:
                    waiting.append(logical_id)
                    continue
                makers[resource["Type"]](logical_id, properties)
            if len(waiting) == len(pending):
                raise TemplateError(f"circular references between {', '.join(waiting)}")
            pending = waiting
        return self.created

    def _warn_unmapped(self, logical_id: str, properties: Mapping[str, Any], known: frozenset[str]) -> None:
        for name in sorted(set(properties) - known):
            self.created.warnings.append(f"{logical_id}: property {name} is not emulated locally")

    def _queue(self, logical_id: str, properties: dict[str, Any]) -> None:
        self._warn_unmapped(logical_id, properties, QUEUE_ATTRIBUTES | {"QueueName", "Tags"})
        fifo = properties.get("FifoQueue") in (True, "true")
        name = properties.get("QueueName") or (
            f"{self.template.stack_name}-{logical_id}" + (".fifo" if fifo else "")
        )
        attributes = {key: _attribute(value) for key, value in properties.items() if key in QUEUE_ATTRIBUTES}
        if self.visibility_timeout is not None:
            attributes["VisibilityTimeout"] = str(self.visibility_timeout)
        request: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
        if properties.get("Tags"):
            request["tags"] = {tag["Key"]: str(tag["Value"]) for tag in properties["Tags"]}
        sqs = self.clients("sqs")
        url: str = sqs.create_queue(**request)["QueueUrl"]
        arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.template.physical[logical_id] = Physical(
            ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url}
        )
        self.created.queues[logical_id] = url
        self.created.queue_arns[arn] = url

    def _table(self, logical_id: str, properties: dict[str, Any]) -> None:
        self._warn_unmapped(logical_id, properties, TABLE_PASSTHROUGH | TABLE_MAPPED)
        name = properties.get("TableName") or f"{self.template.stack_name}-{logical_id}"
        request: dict[str, Any] = {
            key: value for key, value in properties.items() if key in TABLE_PASSTHROUGH
        }
        request["TableName"] = name
        sse = properties.get("SSESpecification")
        if sse:
            request["SSESpecification"] = {
                "Enabled": sse.get("SSEEnabled") in (True, "true"),
                **{key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse},
            }
        stream = properties.get("StreamSpecification")
        if stream:
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        dynamodb = self.clients("dynamodb")
        table = dynamodb.create_table(**request)["TableDescription"]
        ttl = properties.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "AttributeName": ttl["AttributeName"],
                    "Enabled": ttl.get("Enabled") in (True, "true"),
                },
            )
        recovery = properties.get("PointInTimeRecoverySpecification")
        if recovery:
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": recovery.get("PointInTimeRecoveryEnabled") in (True, "true")
                },
            )
        attributes = {"Arn": table["TableArn"]}
        if table.get("LatestStreamArn"):
            attributes["StreamArn"] = table["LatestStreamArn"]
        self.template.physical[logical_id] = Physical(ref=name, attributes=attributes)
        self.created.tables[logical_id] = name

    def _secret(self, logical_id: str, properties: dict[str, Any]) -> None:
        self._warn_unmapped(logical_id, properties, SECRET_MAPPED)
        request: dict[str, Any] = {
            "Name": properties.get("Name") or f"{logical_id}-{secrets.token_hex(6)}",
            "SecretString": json.dumps(self.secret_value),
        }
        for key in ("Description", "KmsKeyId", "Tags"):
            if key in properties:
                request[key] = properties[key]
        arn: str = self.clients("secretsmanager").create_secret(**request)["ARN"]
        self.template.physical[logical_id] = Physical(ref=arn, attributes={"Id": arn})
        self.created.secrets[logical_id] = arn

    def _bucket(self, logical_id: str, properties: dict[str, Any]) -> None:
        """A bucket in moto: versioning, default encryption and the public access block as the
        template says (what the rules commands rely on: versions); the lifecycle is not emulated."""
        self._warn_unmapped(logical_id, properties, BUCKET_MAPPED)
        # Without a BucketName CloudFormation makes one up from the stack's name; moto is this stack's
        # alone, so a fixed one (env.json points `sam local` at it).
        name = properties.get("BucketName") or f"{self.template.stack_name}-{logical_id}".lower()[:63]
        s3 = self.clients("s3")
        s3.create_bucket(Bucket=name)
        versioning = (properties.get("VersioningConfiguration") or {}).get("Status")
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
        encryption = properties.get("BucketEncryption")
        if encryption:
            s3.put_bucket_encryption(
                Bucket=name,
                # CloudFormation's ServerSideEncryptionByDefault is the API's Apply...
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                        for rule in encryption["ServerSideEncryptionConfiguration"]
                    ]
                },
            )
        block = properties.get("PublicAccessBlockConfiguration")
        if block:
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration={key: value in (True, "true") for key, value in block.items()},
            )
        self.template.physical[logical_id] = Physical(
            ref=name, attributes={"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}
        )
        self.created.buckets[logical_id] = name
