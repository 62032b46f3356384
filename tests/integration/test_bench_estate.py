"""The benchmark's estates: seeded straight into moto or through boto3, a scan finds the same thing, in the
minimum number of calls."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from api_discovery.inventory.model import Route, Snapshot
from api_discovery.local.emulator import Emulator
from api_discovery.steps.target_scan import scan_target
from api_discovery.targets import Target
from bench.estate import FUNCTION_SECRET, EstateSpec, SeededEstate, seed_estate
from bench.minimum import api_gateway_calls, lambda_calls, lambda_minimum, minimum_calls
from tests.integration.builders import options

REGION = "ap-southeast-2"
SPEC = EstateSpec(
    rest_apis=3,
    resources_per_api=6,
    methods_per_resource=2,
    stages_per_api=2,
    authorizers_per_api=2,
    http_apis=2,
    routes_per_http_api=4,
    websocket_apis=1,
    routes_per_websocket_api=4,
    domains=2,
    mappings_per_domain=3,
    functions=53,
    function_urls=5,
)


def _scan(emulator: Emulator, monkeypatch: pytest.MonkeyPatch, account: str) -> Snapshot:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    target = Target(
        run_id="bench-estate",
        account_id=account,
        region=REGION,
        role_arn=f"arn:aws:iam::{account}:role/ApiDiscoveryReadOnly",
        external_id="bench",
    )
    return scan_target(target, session_factory=boto3.Session, options=options())


def _shape(snapshot: Snapshot) -> list[Any]:
    """What was found, without the ids moto draws at random (and the URLs and dates made from them), and
    without the account, which is the one thing the seeded estates differ in."""

    def target(route: Route) -> str | None:
        found = route.integration.target if route.integration else None
        return found.replace(snapshot.account_id, "ACCOUNT") if found else None

    apis = []
    for api in snapshot.apis:
        routes = sorted(
            (
                r.method,
                r.path,
                r.authorization_type,
                r.authorizer_id is not None,
                r.api_key_required,
                r.integration.type if r.integration else None,
                target(r),
            )
            for r in api.routes
        )
        stages = sorted((s.name, s.tracing_enabled, tuple(s.variable_names)) for s in api.stages)
        authorizers = sorted((a.name, a.type) for a in api.authorizers)
        apis.append((api.kind, api.name, api.endpoint_type, sorted(api.tags.items()), routes, stages, authorizers))
    domains = sorted(
        (d.name.split(".")[0], sorted((m.base_path, m.stage) for m in d.mappings)) for d in snapshot.domains
    )
    return [sorted(apis, key=repr), domains]


def _found(snapshot: Snapshot) -> tuple[int, int, int, int, int]:
    return (
        len(snapshot.apis),
        sum(len(a.routes) for a in snapshot.apis),
        sum(len(a.stages) for a in snapshot.apis),
        len(snapshot.domains),
        sum(len(d.mappings) for d in snapshot.domains),
    )


def _expected(seeded: SeededEstate) -> tuple[int, int, int, int, int]:
    return (seeded.apis, seeded.routes, seeded.stages, seeded.domains, seeded.mappings)


def test_both_seeders_build_the_same_estate_and_a_scan_needs_only_the_minimum(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = seed_estate(SPEC, "515151515151", REGION, method="backend")
    through_http = seed_estate(SPEC, "525252525252", REGION, method="boto3", endpoint_url=fresh_emulator.url)
    assert _expected(direct) == _expected(through_http) == (6, 48, 12, 2, 6)

    first = _scan(fresh_emulator, monkeypatch, "515151515151")
    second = _scan(fresh_emulator, monkeypatch, "525252525252")
    for snapshot in (first, second):
        assert snapshot.status == "complete", snapshot.errors
        assert _found(snapshot) == _expected(direct)
        assert api_gateway_calls(snapshot.api_calls) == minimum_calls(SPEC)
        assert lambda_calls(snapshot.api_calls) == lambda_minimum(SPEC)
        urls = sorted((u.auth_type, u.exposure.verdict if u.exposure else None) for u in snapshot.function_urls)
        assert urls == [("AWS_IAM", "public-authenticated")] * 2 + [("NONE", "public-unauthenticated")] * 3
        assert FUNCTION_SECRET not in snapshot.model_dump_json()
    assert _shape(first) == _shape(second)


def test_the_seed_decides_the_details(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    small = EstateSpec(rest_apis=2, resources_per_api=4, methods_per_resource=2, http_apis=2, routes_per_http_api=3)
    seed_estate(small, "535353535353", REGION)
    seed_estate(small, "545454545454", REGION)
    seed_estate(EstateSpec(**{**small.__dict__, "seed": 7}), "555555555555", REGION)
    shapes = [_shape(_scan(fresh_emulator, monkeypatch, a)) for a in ("535353535353", "545454545454", "555555555555")]
    assert shapes[0] == shapes[1]
    assert shapes[0] != shapes[2]
