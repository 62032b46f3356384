"""The snapshot bucket and the state table.

S3 prefixes (one bucket, one writer per prefix):
  manifests/  what a map reads: a run's accounts (run=<id>.json), the accounts continued in a later round
              (run=<id>/round=<n>.json), a run's publish batches (run=<id>/publish.json); written by `plan`
              and `finalize`, read by the Distributed Maps, `finalize` and `publish`
  snapshots/  one gzip JSON per target whose content changed, written by `scan` (Hive-style keys for Athena)
  changes/    change sets of the targets that changed, written by `scan`, read by `publish`
  progress/   where a scan that ran out of time continues, written and read by `scan`
  exports/    OpenAPI exports, when enabled, written by `scan`
  results/    Distributed Map result files (JSON lines), written by Step Functions, read by `finalize`
  runs/       each round's target results and the run report, written by `finalize`, read by `publish`
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

MANIFESTS_PREFIX = "manifests/"
SNAPSHOTS_PREFIX = "snapshots/"
RESULTS_PREFIX = "results/"
RUNS_PREFIX = "runs/"
PROGRESS_PREFIX = "progress/"
CHANGES_PREFIX = "changes/"
EXPORTS_PREFIX = "exports/"
TTL_ATTRIBUTE = "expires_at"


class Storage(Construct):
    """S3 for everything large or historical, DynamoDB for the registry and the current state."""

    def __init__(
        self, scope: Construct, construct_id: str, *, snapshot_retention_days: int, scratch_retention_days: int
    ) -> None:
        super().__init__(scope, construct_id)

        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # Server access log delivery supports only SSE-S3 on the target bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="ExpireAccessLogs", expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(self.access_logs).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This bucket is the server access log destination; logging it into itself would loop.",
            )
        )

        # What each prefix keeps, and for how long: history for the retention period, scratch for a short while.
        expiring = {
            "ExpireOldSnapshots": (SNAPSHOTS_PREFIX, snapshot_retention_days),
            "ExpireOldChangeSets": (CHANGES_PREFIX, snapshot_retention_days),
            "ExpireOldRunReports": (RUNS_PREFIX, snapshot_retention_days),
            "ExpireManifests": (MANIFESTS_PREFIX, scratch_retention_days),
            "ExpireMapResults": (RESULTS_PREFIX, scratch_retention_days),
            "ExpireScanProgress": (PROGRESS_PREFIX, scratch_retention_days),
            "ExpireOldExports": (EXPORTS_PREFIX, snapshot_retention_days),
        }
        self.bucket = s3.Bucket(
            self,
            "Data",
            # SSE-S3: snapshots hold API configuration, never customer payloads; a KMS key would add a
            # per-request cost on every snapshot and result file and key grants to Step Functions.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="data/",
            lifecycle_rules=[
                *(
                    s3.LifecycleRule(id=rule_id, prefix=prefix, expiration=Duration.days(days))
                    for rule_id, (prefix, days) in expiring.items()
                ),
                s3.LifecycleRule(
                    id="CleanUpVersionsAndUploads",
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.table = dynamodb.Table(
            self,
            "State",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # The AWS managed key makes encryption explicit and its use visible in CloudTrail.
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=TTL_ATTRIBUTE,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
