"""A customer's ExternalId is read by the scan that needs it and goes nowhere else: not into a log line, a
result (which the Map writes to the execution history), a stored object, or an event, even when STS refuses
it and quotes it back, as AWS's validation errors quote the value they refuse."""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from api_discovery.blobs import S3BlobStore
from api_discovery.local.emulator import Emulator
from api_discovery.local.runner import run_local
from api_discovery.observability import logger
from api_discovery.steps.plan import PlanSettings, ScanRequest
from api_discovery.steps.settings import AwsClients, LambdaSettings
from api_discovery.store.registry import REGISTRY_PK, RegisteredAccount, Registry
from api_discovery.store.state import StateStore, create_table
from tests.integration.builders import Builder, options

ACCOUNT, REGION = "540000000001", "eu-west-1"
ROLE_NAME = "ApiDiscoveryReadOnly"
EXTERNAL_ID = "c0ffee-5ecret-external-id-540"
BUCKET = TABLE = BUS = "vendor"
HANDLER = Path(__file__).resolve().parents[3] / "functions" / "scan" / "handler.py"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every log line the library writes, formatted as Lambda writes it (extra fields included)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield out
    logger.removeHandler(handler)  # type: ignore[attr-defined]  # Powertools passes it on to its logging.Logger


@pytest.fixture
def vendor(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> AwsClients:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    api = b.rest_api("orders")
    b.resource(api, "/orders")
    b.method(api, "/orders", "GET", integration={"type": "MOCK"})
    b.v1.create_deployment(restApiId=api.id, stageName="prod")
    session = boto3.Session(region_name="us-east-1")
    clients = AwsClients(s3=session.client("s3"), dynamodb=session.client("dynamodb"), events=session.client("events"))
    clients.s3.create_bucket(Bucket=BUCKET)
    create_table(clients.dynamodb, TABLE)
    clients.events.create_event_bus(Name=BUS)
    Registry(clients.dynamodb, TABLE).put(_registered())
    return clients


def _registered() -> RegisteredAccount:
    return RegisteredAccount(account_id=ACCOUNT, regions=[REGION], role_name=ROLE_NAME, external_id=EXTERNAL_ID)


def _scan_handler(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    spec = importlib.util.spec_from_file_location("external_id_secrecy_scan_handler", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sts_quoting_the_external_id() -> boto3.Session:
    """A vendor session whose STS refuses AssumeRole with a validation error that quotes the ExternalId."""
    session = boto3.Session()

    def refuse(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        quoted = params["body"]["ExternalId"]  # the request as serialized: STS's form fields
        assert quoted == EXTERNAL_ID
        message = f"1 validation error detected: Value '{quoted}' at 'externalId' failed to satisfy constraint"
        error = {"Error": {"Code": "ValidationError", "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://sts.amazonaws.com/", 400, HTTPHeaders(), None), error

    session.events.register("before-call.sts.AssumeRole", refuse)  # type: ignore[arg-type]
    return session


def _stored(clients: AwsClients) -> str:
    """Every object in the bucket and every table item but the registry's own, as text."""
    texts = []
    for page in clients.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for entry in page.get("Contents", []):
            body = clients.s3.get_object(Bucket=BUCKET, Key=entry["Key"])["Body"].read()
            texts.append((gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body).decode())
    items = clients.dynamodb.scan(TableName=TABLE)["Items"]
    texts += [json.dumps(item) for item in items if item["pk"]["S"] != REGISTRY_PK]
    assert texts, "nothing was stored: the check would prove nothing"
    return "\n".join(texts)


@pytest.mark.parametrize("refused", [False, True], ids=["role assumed", "STS quotes the ExternalId back"])
def test_the_scan_handler_writes_the_external_id_nowhere(
    vendor: AwsClients, logs: io.StringIO, monkeypatch: pytest.MonkeyPatch, refused: bool
) -> None:
    handler = _scan_handler(monkeypatch)
    event = {"run_id": "20260101T000000Z-aaaa", "account_id": ACCOUNT, "regions": [REGION]}
    event["role_arn"] = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
    result = handler.run(
        event,
        LambdaSettings(table_name=TABLE, bucket_name=BUCKET),
        vendor,
        session_factory=_sts_quoting_the_external_id if refused else boto3.Session,
    )
    (target,) = result["targets"]
    if refused:
        assert target["status"] == "failed" and "ValidationError" in target["reason"]  # the reason is still told
    else:
        assert target["status"] == "complete"
    assert EXTERNAL_ID not in json.dumps(result)  # what the Map writes into the execution history
    assert logs.getvalue() and EXTERNAL_ID not in logs.getvalue()
    assert EXTERNAL_ID not in _stored(vendor)


def test_a_refused_external_id_reaches_no_event(vendor: AwsClients, logs: io.StringIO) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    vendor.events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["api-discovery"]}))
    vendor.events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": arn}])

    run = run_local(
        ScanRequest(source="cli"),
        registered=[_registered()],
        settings=PlanSettings(default_regions=[REGION]),
        blobs=S3BlobStore(vendor.s3, BUCKET),
        state=StateStore(vendor.dynamodb, TABLE),
        session_factory=_sts_quoting_the_external_id,
        options=options(),
        events=vendor.events,
        bus_name=BUS,
    )
    assert run.summary.by_status == {"failed": 1}
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])]
    failed = [json.loads(b)["detail"] for b in bodies if json.loads(b)["detail-type"] == "Target Scan Failed"]
    assert failed and "ValidationError" in failed[0]["reason"]
    assert not [body for body in bodies if EXTERNAL_ID in body]
    assert EXTERNAL_ID not in logs.getvalue()
    assert EXTERNAL_ID not in _stored(vendor)
