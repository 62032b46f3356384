"""Change tracking end to end through the emulator: scans, change sets, and the events that reach a subscriber.

A rule on the discovery bus forwards every `api-discovery` event to an SQS queue, so what is asserted is what
a subscriber receives, each detail validated against its committed schema.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from api_discovery.blobs import S3BlobStore
from api_discovery.events.notify import PublishItem, TableLedger
from api_discovery.events.publisher import Publisher
from api_discovery.local.emulator import Emulator
from api_discovery.local.runner import LocalRun, run_local
from api_discovery.steps.plan import PlanSettings, ScanRequest
from api_discovery.steps.publish import announce_run, publish
from api_discovery.store.registry import RegisteredAccount
from api_discovery.store.state import StateStore, create_table
from tests.integration.builders import Builder, RestApi, options

ACCOUNT, REGION = "210987654322", "eu-west-1"
BUS, BUCKET, TABLE = "api-discovery", "discovery", "discovery"
SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "events"


@dataclass
class Vendor:
    blobs: S3BlobStore
    state: StateStore
    events: Any
    sqs: Any
    queue_url: str

    def run(self) -> LocalRun:
        return run_local(
            ScanRequest(source="cli"),
            registered=[
                RegisteredAccount(
                    account_id=ACCOUNT, regions=[REGION], role_name="ApiDiscoveryReadOnly", external_id="ext-1"
                )
            ],
            settings=PlanSettings(default_regions=[REGION]),
            blobs=self.blobs,
            state=self.state,
            session_factory=boto3.Session,
            options=options(),
            events=self.events,
            bus_name=BUS,
        )

    def received(self) -> list[tuple[str, dict[str, Any]]]:
        """Every event the subscriber's queue holds, drained, each checked against its schema."""
        found: list[tuple[str, dict[str, Any]]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                event = json.loads(message["Body"])
                assert event["source"] == "api-discovery"
                schema = json.loads((SCHEMAS / f"{event['detail-type'].lower().replace(' ', '-')}.v1.json").read_text())
                jsonschema.validate(event["detail"], schema)
                found.append((event["detail-type"], event["detail"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def vendor(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Vendor:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator.url)
    session = boto3.Session(region_name="us-east-1")
    s3, dynamodb, events, sqs = (
        session.client("s3"),
        session.client("dynamodb"),
        session.client("events"),
        session.client("sqs"),
    )
    s3.create_bucket(Bucket=BUCKET)
    create_table(dynamodb, TABLE)
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["api-discovery"]}))
    events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return Vendor(S3BlobStore(s3, BUCKET), StateStore(dynamodb, TABLE), events, sqs, queue_url)


def _orders(b: Builder) -> RestApi:
    api = b.rest_api("orders")
    b.resource(api, "/orders")
    b.method(api, "/orders", "GET", integration=b.lambda_integration("list"))
    b.v1.create_deployment(restApiId=api.id, stageName="prod")
    return api


def _types(received: list[tuple[str, dict[str, Any]]]) -> Counter[str]:
    return Counter(t for t, _ in received)


def _findings(received: list[tuple[str, dict[str, Any]]], detail_type: str) -> set[str]:
    return {f"{d['finding']['rule_id']}@{d['finding']['resource']}" for t, d in received if t == detail_type}


def test_changes_reach_subscribers_once_and_partial_scans_never_remove(
    fresh_emulator: Emulator, vendor: Vendor
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    orders = _orders(b)
    payments = b.http_api("payments")
    b.route(payments, "GET /pay", target_uri="arn:aws:lambda:eu-west-1:210987654322:function:pay")
    b.v2.create_stage(ApiId=payments, StageName="$default")

    # Run 1, a first scan: everything is new.
    first = vendor.run()
    received = vendor.received()
    assert _types(received)["API Discovered"] == 2 and _types(received)["Scan Completed"] == 1
    assert f"public-route-unauthenticated@rest/{orders.id} GET /orders" in _findings(received, "Finding Opened")
    assert first.summary.events == dict(sorted(_types(received).items()))

    # A deployment in the customer's account: GET /orders gets IAM, POST /orders appears without any
    # authorization, X-Ray is switched on, the HTTP API is deleted.
    resource = orders.resources["/orders"]
    b.v1.delete_method(restApiId=orders.id, resourceId=resource, httpMethod="GET")
    b.method(orders, "/orders", "GET", authorizationType="AWS_IAM", integration=b.lambda_integration("list"))
    b.method(orders, "/orders", "POST", integration=b.lambda_integration("create"))
    b.v1.create_deployment(restApiId=orders.id, stageName="prod")
    b.v1.update_stage(
        restApiId=orders.id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/tracingEnabled", "value": "true"}],
    )
    b.v2.delete_api(ApiId=payments)

    second = vendor.run()
    received = vendor.received()
    counts = _types(received)
    assert counts["API Changed"] == 1 and counts["API Removed"] == 1 and counts["API Discovered"] == 0
    (changed,) = [d for t, d in received if t == "API Changed"]
    assert changed["api"]["id"] == orders.id
    assert {(c["type"], c["subject"]) for c in changed["changes"]} >= {
        ("route_authorization_changed", "GET /orders"),
        ("route_exposure_changed", "GET /orders"),
        ("route_added", "POST /orders"),
        ("stage_settings_changed", "prod"),
    }
    resolved = _findings(received, "Finding Resolved")
    assert f"public-route-unauthenticated@rest/{orders.id} GET /orders" in resolved
    assert f"stage-tracing-off@rest/{orders.id}/prod" in resolved
    # A public HTTP route without authorization is one finding, not also http-route-unauthorized.
    assert f"public-route-unauthenticated@http/{payments} GET /pay" in resolved
    assert f"public-route-unauthenticated@rest/{orders.id} POST /orders" in _findings(received, "Finding Opened")

    # Run 2's publishing runs again (a retried Lambda, a redriven Map): nothing new is sent.
    published = second.finalized.publish
    assert published.manifest is not None
    publisher = Publisher(vendor.events, BUS)
    ledger = TableLedger(vendor.state.client, vendor.state.table)
    for raw in json.loads(vendor.blobs.get(published.manifest.key)):
        item = PublishItem.model_validate(raw)
        assert publish(item, blobs=vendor.blobs, publisher=publisher, ledger=ledger) == {}
    again = announce_run(second.finalized.announce, blobs=vendor.blobs, publisher=publisher, ledger=ledger)
    assert again.events == {} and vendor.received() == []

    # Run 3 cannot read the stages (partial): POST /orders is gone, but a partial scan cannot say so.
    b.v1.delete_method(restApiId=orders.id, resourceId=resource, httpMethod="POST")
    fresh_emulator.deny_operation(ACCOUNT, "apigateway:GetStages")
    third = vendor.run()
    assert third.summary.by_status == {"partial": 1}
    counts = _types(vendor.received())
    assert counts == {"Scan Completed": 1}

    # Run 4 reads everything again and settles it, against run 2, the last complete scan.
    fresh_emulator.rules.clear()
    vendor.run()
    received = vendor.received()
    (changed,) = [d for t, d in received if t == "API Changed"]
    assert ("route_removed", "POST /orders") in {(c["type"], c["subject"]) for c in changed["changes"]}
    assert f"public-route-unauthenticated@rest/{orders.id} POST /orders" in _findings(received, "Finding Resolved")


def test_a_run_whose_publishing_crashed_is_published_by_the_next_run_exactly_once(
    fresh_emulator: Emulator, vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    apis = [b.http_api(f"service-{i}") for i in range(12)]
    for api in apis:
        b.route(api, "GET /open")  # no authorization: each API is discovered and opens findings
    calls = {"n": 0}
    original = Publisher.publish

    def dies_on_the_second_call(self: Publisher, events: Any, on_sent: Any = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the publish Lambda timed out")
        return original(self, events, on_sent)

    with monkeypatch.context() as patched:
        patched.setattr(Publisher, "publish", dies_on_the_second_call)
        with pytest.raises(RuntimeError, match="timed out"):
            vendor.run()
    before_crash = vendor.received()
    assert len(before_crash) == 10 and "Scan Completed" not in _types(before_crash)
    (crashed_run,) = {d["run_id"] for _, d in before_crash}

    # The next run: nothing changed in the customer's account, so it finds nothing new of its own.
    second = vendor.run()
    after = vendor.received()
    assert second.summary.changes == 0 and second.summary.unchanged == 1
    own = [(t, d) for t, d in after if d["run_id"] == second.plan.run_id]
    assert _types(own) == {"Scan Completed": 1}
    recovered = [(t, d) for t, d in after if d["run_id"] == crashed_run]
    every = [d["event_id"] for _, d in [*before_crash, *recovered]]
    assert len(every) == len(set(every)), "an event of the crashed run was sent twice"
    assert _types([*before_crash, *recovered])["API Discovered"] == len(apis)
    # Announced: a third run publishes nothing of either.
    vendor.run()
    assert _types(vendor.received()) == {"Scan Completed": 1}


def test_credentials_in_integrations_reach_no_snapshot_change_set_state_or_event(
    fresh_emulator: Emulator, vendor: Vendor
) -> None:
    secrets = ("hunter2", "k3y-1", "hunter3", "k3y-2", "st4tic", "templ4te", "v2-pass", "v2-t0k", "v2-st4tic")
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    orders = b.rest_api("orders")
    b.resource(orders, "/orders")

    def integrate(uri: str) -> None:
        integration = {
            "type": "HTTP",
            "integrationHttpMethod": "GET",
            "uri": uri,
            "requestParameters": {"integration.request.header.x-api-key": "'st4tic'"},
            "requestTemplates": {"application/json": '{"password": "templ4te"}'},
        }
        b.v1.put_integration(
            restApiId=orders.id, resourceId=orders.resources["/orders"], httpMethod="GET", **integration
        )

    b.method(orders, "/orders", "GET")
    integrate("https://svc:hunter2@backend.example.com/orders?api_key=k3y-1")
    b.v1.create_deployment(restApiId=orders.id, stageName="prod")
    shop = b.http_api("shop")
    proxy = b.v2.create_integration(
        ApiId=shop,
        IntegrationType="HTTP_PROXY",
        IntegrationMethod="ANY",
        IntegrationUri="https://svc:v2-pass@shop.example.com/items?token=v2-t0k",
        PayloadFormatVersion="1.0",
        RequestParameters={"append:header.x-api-key": "v2-st4tic"},
    )
    b.v2.create_route(ApiId=shop, RouteKey="GET /items", Target=f"integrations/{proxy['IntegrationId']}")
    vendor.run()
    received = vendor.received()

    # The customer moves the backend and rotates its credentials: the change is announced, redacted.
    integrate("https://svc:hunter3@backend-2.example.com/orders?api_key=k3y-2")
    vendor.run()
    changes = vendor.received()
    (changed,) = [d for t, d in changes if t == "API Changed"]
    (integration,) = [c for c in changed["changes"] if c["type"] == "route_integration_changed"]
    assert integration["before"]["integration"]["target"] == "https://***@backend.example.com/orders?api_key=***"
    assert integration["after"]["integration"]["target"] == "https://***@backend-2.example.com/orders?api_key=***"

    sent = json.dumps([*received, *changes])
    stored = [vendor.blobs.get(key) for key in vendor.blobs.keys("")]
    text = [gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data for data in stored]
    items = vendor.state.client.scan(TableName=TABLE)["Items"]
    everything = "\n".join([sent, *(t.decode() for t in text), json.dumps(items)])
    assert "backend-2.example.com" in everything and "shop.example.com" in everything  # hosts are kept
    assert not [secret for secret in secrets if secret in everything]
