"""The demo: a seeded estate in the embedded emulator, discovered through the same steps the Lambdas run."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from rich.console import Console

from api_discovery.blobs import BlobStore, LocalBlobStore, S3BlobStore
from api_discovery.local.demo_estate import DemoEstate, deny_demo_account, seed_demo_estate
from api_discovery.local.emulator import Emulator
from api_discovery.local.runner import LocalRun
from api_discovery.steps.plan import PlanSettings, ScanRequest
from api_discovery.store.registry import RegisteredAccount, Registry
from api_discovery.store.state import StateStore, create_table

DEMO_BUCKET = "api-discovery-demo"
DEMO_TABLE = "api-discovery-demo"
DEMO_BUS = "api-discovery"
DEMO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class DemoOutcome:
    estate: DemoEstate
    run: LocalRun
    blobs: BlobStore  # the exported copy, readable once the emulator is gone
    bucket_uri: str
    expected_failures: set[str]
    unexpected: list[str]


@contextmanager
def emulator_environment(url: str) -> Iterator[None]:
    """Point every boto3 client of this process at the emulator, and restore the environment after."""
    values = {**DEMO_CREDENTIALS, "AWS_ENDPOINT_URL": url}
    saved = {k: os.environ.get(k) for k in [*values, "AWS_PROFILE"]}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def register(estate: DemoEstate, registry: Registry) -> list[RegisteredAccount]:
    accounts = [
        RegisteredAccount(
            account_id=account,
            name=f"demo customer {i + 1}",
            regions=list(estate.regions),
            role_name=estate.role_name,
            external_id=estate.external_ids[account],
        )
        for i, account in enumerate(estate.accounts)
    ]
    for account in accounts:
        registry.register(account)
    return registry.accounts()


def unexpected_outcomes(run: LocalRun, estate: DemoEstate) -> list[str]:
    """The denied account must fail; every other target must be read completely, finding what was seeded."""
    problems = []
    for result in run.results:
        label = f"{result.account_id}/{result.region}"
        if result.account_id == estate.denied_account:
            if result.status != "failed":
                problems.append(f"{label} should have been refused, got {result.status}")
            continue
        if result.status != "complete":
            problems.append(f"{label} {result.status}: {result.reason}")
        seeded = estate.expected[result.account_id, result.region]
        found = (result.api_count, result.route_count)
        if found != (seeded.apis, seeded.rest_methods + seeded.v2_routes):
            problems.append(
                f"{label} found {found[0]} APIs and {found[1]} routes, seeded {seeded.apis} and "
                f"{seeded.rest_methods + seeded.v2_routes}"
            )
        if result.function_url_count != seeded.function_urls:
            problems.append(f"{label} found {result.function_url_count} function URLs, seeded {seeded.function_urls}")
        if result.entry_point_count != seeded.entry_points:
            problems.append(
                f"{label} found {result.entry_point_count} other entry points, seeded {seeded.entry_points}"
            )
    if len(run.results) != len(estate.accounts) * len(estate.regions):
        problems.append(f"{len(run.results)} targets scanned, expected {len(estate.accounts) * len(estate.regions)}")
    return problems


def run_demo(*, out: Path, workers: int, run: Callable[..., LocalRun], console: Console) -> DemoOutcome:
    with Emulator() as emulator, emulator_environment(emulator.url):
        console.print(f"Emulator listening on {emulator.url}; seeding the demo estate …")
        estate = seed_demo_estate(emulator.url)
        deny_demo_account(emulator, estate)
        session = boto3.Session()
        s3 = session.client("s3")
        s3.create_bucket(Bucket=DEMO_BUCKET)
        dynamodb = session.client("dynamodb")
        create_table(dynamodb, DEMO_TABLE)
        events = session.client("events")
        events.create_event_bus(Name=DEMO_BUS)
        registered = register(estate, Registry(dynamodb, DEMO_TABLE))
        blobs = S3BlobStore(s3, DEMO_BUCKET)
        local_run = run(
            request=ScanRequest(source="schedule"),
            registered=registered,
            settings=PlanSettings(default_regions=list(estate.regions)),
            blobs=blobs,
            state=StateStore(dynamodb, DEMO_TABLE),
            session_factory=boto3.Session,
            max_workers=workers,
            events=events,
            bus_name=DEMO_BUS,
        )
        export(blobs, LocalBlobStore(out))
        return DemoOutcome(
            estate=estate,
            run=local_run,
            blobs=LocalBlobStore(out),
            bucket_uri=f"s3://{DEMO_BUCKET}",
            expected_failures={estate.denied_account},
            unexpected=unexpected_outcomes(local_run, estate),
        )


def export(source: S3BlobStore, target: LocalBlobStore) -> None:
    """Copy what the run stored, so it outlives the emulator."""
    for key in source.keys(""):
        target.put(key, source.get(key))
