"""Change events collapse per resource: a burst runs one rescan after its quiet period, a resource that is never
quiet is rescanned at the bound, and what a check decides holds when checks come twice or events race a claim."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from api_discovery.errors import InvalidScanRequestError
from api_discovery.steps.changes import Outcome, is_check, on_check, on_event
from api_discovery.steps.plan import parse_request
from api_discovery.store.debounce import Debounce
from api_discovery.store.state import create_table

ACCOUNT, REGION = "540000000001", "eu-west-1"
T0 = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)


def cloudtrail(
    name: str, request: dict[str, Any] | None = None, response: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An EventBridge event of a CloudTrail-recorded API Gateway call, as a customer account forwards it."""
    return {
        "version": "0",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.apigateway",
        "account": ACCOUNT,
        "region": REGION,
        "time": T0.isoformat(),
        "detail": {
            "eventSource": "apigateway.amazonaws.com",
            "eventName": name,
            "requestParameters": request,
            "responseElements": response,
            "userIdentity": {"arn": "arn:aws:sts::540000000001:assumed-role/deployer/ci"},
        },
    }


class Clock:
    """The queue's delays and the debounce's clock, simulated: checks come back when their delay is up."""

    def __init__(self, debounce: Debounce) -> None:
        self.debounce = debounce
        self.now = T0
        self.pending: list[tuple[datetime, int, dict[str, Any]]] = []
        self.started: list[tuple[datetime, str, dict[str, Any]]] = []
        self._n = 0

    def send_check(self, body: dict[str, Any], delay: int) -> None:
        self._n += 1
        heapq.heappush(self.pending, (self.now + timedelta(seconds=delay), self._n, body))

    def start_run(self, name: str, request: dict[str, Any]) -> None:
        self.started.append((self.now, name, request))

    def event(self, at: float, body: dict[str, Any]) -> Outcome:
        self.run_until(T0 + timedelta(seconds=at))
        return on_event(body, debounce=self.debounce, send_check=self.send_check, now=self.now)

    def run_until(self, moment: datetime) -> None:
        while self.pending and self.pending[0][0] <= moment:
            due, _, body = heapq.heappop(self.pending)
            self.now = due
            assert is_check(body)
            on_check(body, debounce=self.debounce, start_run=self.start_run, now=self.now)
        self.now = max(self.now, moment)

    def drain(self) -> None:
        self.run_until(T0 + timedelta(days=1))

    def at(self) -> list[float]:
        return [(when - T0).total_seconds() for when, _, _ in self.started]


@pytest.fixture
def debounce() -> Iterator[Debounce]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "vendor")
        yield Debounce(client, "vendor", quiet_seconds=25, bound_seconds=90)


def test_a_pipeline_burst_for_one_api_runs_one_rescan_after_the_quiet_period(debounce: Debounce) -> None:
    clock = Clock(debounce)
    names = ["CreateResource", "PutMethod", "PutIntegration", "PutMethodResponse", "CreateDeployment"]
    for i in range(30):
        clock.event(i * 0.5, cloudtrail(names[i % len(names)], {"restApiId": "a1b2c3d4e5"}))
    clock.drain()
    assert clock.at() == [14.5 + 25]  # the last event (at 14.5 s) plus the quiet period
    ((_, name, request),) = clock.started
    assert request == {
        "source": "change",
        "accounts": [ACCOUNT],
        "regions": [REGION],
        "requested_at": T0.isoformat(),
        "resources": [{"kind": "rest_api", "id": "a1b2c3d4e5"}],
    }
    assert parse_request(request).resources is not None  # what the plan step accepts
    assert name.startswith(f"change-{ACCOUNT}-") and len(name) <= 80


def test_an_api_that_is_never_quiet_is_rescanned_at_the_bound(debounce: Debounce) -> None:
    clock = Clock(debounce)
    for i in range(60):  # an event every 5 s for five minutes
        clock.event(i * 5.0, cloudtrail("UpdateStage", {"restApiId": "a1b2c3d4e5", "stageName": "prod"}))
    clock.drain()
    starts = clock.at()
    # Never more than the bound (plus one quiet period to notice it) between rescans, and one after the last.
    assert starts[0] <= 90 + 25
    assert all(later - earlier <= 90 + 25 for earlier, later in itertools.pairwise(starts))
    assert 295 <= starts[-1] <= 295 + 25  # the last rescan starts after the last event
    assert len(starts) < 10


def test_each_resource_has_its_own_burst(debounce: Debounce) -> None:
    clock = Clock(debounce)
    clock.event(0, cloudtrail("CreateRoute", {"apiId": "h1h1h1h1"}))
    clock.event(1, cloudtrail("CreateRoute", {"apiId": "h2h2h2h2"}))
    clock.event(2, cloudtrail("CreateBasePathMapping", {"domainName": "api.example.com", "restApiId": "r1r1r1r1r1"}))
    clock.drain()
    resources = sorted(str(r["resources"]) for _, _, r in clock.started)
    assert len(resources) == 3 and clock.at() == [25, 26, 27]


def test_a_change_no_resource_holds_rescans_the_region(debounce: Debounce) -> None:
    clock = Clock(debounce)
    clock.event(0, cloudtrail("UpdateAccount", {"patchOperations": []}))
    clock.event(1, cloudtrail("CreateDeployment", {}))  # no id: unsure
    clock.drain()
    assert [("resources" in r) for _, _, r in clock.started] == [False]  # one region-wide burst


def lambda_call(name: str, request: dict[str, Any]) -> dict[str, Any]:
    event = cloudtrail(name, request)
    event["source"], event["detail"]["eventSource"] = "aws.lambda", "lambda.amazonaws.com"
    return event


def test_a_function_url_change_rescans_the_region_and_other_lambda_calls_nothing(debounce: Debounce) -> None:
    clock = Clock(debounce)
    url = clock.event(0, lambda_call("CreateFunctionUrlConfig20211031", {"functionName": "hooks", "authType": "NONE"}))
    assert url.what == "recorded"
    assert clock.event(1, lambda_call("AddPermission20150331v2", {"functionName": "hooks"})).what == "recorded"
    deploy = clock.event(2, lambda_call("UpdateFunctionCode20150331v2", {"functionName": "hooks"}))
    assert deploy.what == "ignored"
    clock.drain()
    assert [("resources" in r) for _, _, r in clock.started] == [False]  # one region-wide rescan for the burst


def service_call(source: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
    event = cloudtrail(name, request)
    event["source"], event["detail"]["eventSource"] = f"aws.{source.split('.', maxsplit=1)[0]}", source
    return event


def test_a_load_balancer_appsync_or_distribution_change_rescans_the_region(debounce: Debounce) -> None:
    clock = Clock(debounce)
    listener = service_call("elasticloadbalancing.amazonaws.com", "ModifyListener", {"listenerArn": "arn:l"})
    assert clock.event(0, listener).what == "recorded"
    edge = service_call("cloudfront.amazonaws.com", "UpdateDistribution2020_05_31", {"id": "E1"})
    assert clock.event(1, edge).what == "recorded"
    graph = service_call("appsync.amazonaws.com", "UpdateGraphqlApi", {"apiId": "a1"})
    assert clock.event(2, graph).what == "recorded"
    invalidation = service_call("cloudfront.amazonaws.com", "CreateInvalidation2020_05_31", {"id": "E1"})
    assert clock.event(3, invalidation).what == "ignored"
    clock.drain()
    assert [("resources" in r) for _, _, r in clock.started] == [False]  # one region-wide rescan for the burst


def test_calls_that_change_nothing_reported_start_nothing(debounce: Debounce) -> None:
    clock = Clock(debounce)
    assert clock.event(0, cloudtrail("CreateApiKey", {"name": "k"})).what == "ignored"
    failed = cloudtrail("DeleteRestApi", {"restApiId": "a1b2c3d4e5"})
    failed["detail"]["errorCode"] = "NotFoundException"
    assert clock.event(1, failed).what == "ignored"
    clock.drain()
    assert clock.started == []


def test_a_check_delivered_twice_starts_the_same_run(debounce: Debounce) -> None:
    clock = Clock(debounce)
    clock.event(0, cloudtrail("UpdateRestApi", {"restApiId": "a1b2c3d4e5"}))
    (due, _, check) = clock.pending[0]
    clock.drain()
    on_check(check, debounce=debounce, start_run=clock.start_run, now=due)
    assert len({name for _, name, _ in clock.started}) == 1


def test_an_event_during_the_claim_gets_its_own_rescan(debounce: Debounce) -> None:
    """The rescan that started may have read before the late event's change: that event's check rescans."""
    clock = Clock(debounce)
    clock.event(0, cloudtrail("UpdateRestApi", {"restApiId": "a1b2c3d4e5"}))

    def start_and_race(name: str, request: dict[str, Any]) -> None:
        clock.start_run(name, request)
        on_event(
            cloudtrail("PutMethod", {"restApiId": "a1b2c3d4e5"}),
            debounce=debounce,
            send_check=clock.send_check,
            now=clock.now,
        )

    due, _, check = heapq.heappop(clock.pending)
    clock.now = due
    on_check(check, debounce=debounce, start_run=start_and_race, now=due)
    clock.drain()
    assert clock.at() == [25, 50]
    assert len({name for _, name, _ in clock.started}) == 2


def test_a_malformed_message_is_refused_by_name(debounce: Debounce) -> None:
    with pytest.raises(InvalidScanRequestError, match="change check"):
        on_check({"version": 1, "account_id": "nope"}, debounce=debounce, start_run=lambda *_: None)
    with pytest.raises(InvalidScanRequestError, match="change event"):
        on_event({"detail": {}}, debounce=debounce, send_check=lambda *_: None)
