"""The bucket and the table: private, encrypted, recoverable, and cleaned up on a schedule."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Capture, Match, Template

from tests.infra.synth import TEST_CONTEXT, Synthesized, logical_id, resources_of_type


def test_data_bucket_is_private_encrypted_versioned_and_logged(discovery: Template, synth: Synthesized) -> None:
    storage = synth.built.discovery.storage
    discovery.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "LoggingConfiguration": {
                        "DestinationBucketName": {"Ref": logical_id(storage.access_logs)},
                        "LogFilePrefix": "data/",
                    },
                }
            ),
            "DeletionPolicy": "Retain",
        },
    )


def test_both_buckets_refuse_plain_http(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    storage = synth.built.discovery.storage
    denied = set()
    for policy in resources_of_type(discovery_json, "AWS::S3::BucketPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                assert statement["Effect"] == "Deny"
                assert statement["Action"] == "s3:*"
                denied.add(policy["Properties"]["Bucket"]["Ref"])
    assert denied == {logical_id(storage.bucket), logical_id(storage.access_logs)}


def test_snapshots_expire_after_the_configured_retention(discovery: Template, synth: Synthesized) -> None:
    rules = Capture()
    discovery.has_resource_properties(
        "AWS::S3::Bucket",
        {"VersioningConfiguration": {"Status": "Enabled"}, "LifecycleConfiguration": {"Rules": rules}},
    )
    by_id = {rule["Id"]: rule for rule in rules.as_array()}
    retention = TEST_CONTEXT["snapshot_retention_days"]
    scratch = TEST_CONTEXT["scratch_retention_days"]
    assert by_id["ExpireOldSnapshots"]["Prefix"] == "snapshots/"
    assert by_id["ExpireOldSnapshots"]["ExpirationInDays"] == retention
    assert by_id["ExpireOldRunReports"]["Prefix"] == "runs/"
    assert (by_id["ExpireManifests"]["Prefix"], by_id["ExpireManifests"]["ExpirationInDays"]) == ("manifests/", scratch)
    assert (by_id["ExpireMapResults"]["Prefix"], by_id["ExpireMapResults"]["ExpirationInDays"]) == ("results/", scratch)
    expiring = {rule["Prefix"]: rule["ExpirationInDays"] for rule in by_id.values() if "Prefix" in rule}
    assert expiring == {
        "snapshots/": retention,
        "changes/": retention,
        "runs/": retention,
        "exports/": retention,
        "manifests/": scratch,
        "results/": scratch,
        "progress/": scratch,
    }
    cleanup = by_id["CleanUpVersionsAndUploads"]
    assert cleanup["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert cleanup["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert all(rule["Status"] == "Enabled" for rule in by_id.values())


def test_table_keys_billing_recovery_encryption_and_ttl(discovery: Template) -> None:
    discovery.resource_count_is("AWS::DynamoDB::Table", 1)
    discovery.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
                "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
                "DeletionProtectionEnabled": True,
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
