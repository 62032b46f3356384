"""A vendor's realistic estate: most regions of most accounts hold no API at all.

Of all (account, region) pairs, `empty` hold nothing, `small` hold 1-10 APIs and `large` 10-100 (uniformly
drawn counts), each API small (REST: two resources with one method; HTTP: two routes; one stage and one
authorizer each), so that a fleet seeds in seconds while its calls are those of a real sweep: an empty region
still costs its seven region-wide lists. The shares are exact (not drawn per region), and everything follows
from the seed, so the measured fleet and the 10,000-account fleet of the model are the same distribution.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from api_discovery.local.quota_emulator import QuotaRates
from bench.bound import QuotaBound, quota_bound
from bench.estate import EstateSpec, seed_estate
from bench.minimum import minimum_calls

ChangeKind = Literal["api_added", "api_removed", "route_added"]
CHANGE_KINDS: tuple[ChangeKind, ...] = ("api_added", "api_removed", "route_added")
# Every API of the fleet has this shape; only how many there are, and of which kind, varies.
API_SHAPE = EstateSpec(resources_per_api=2, methods_per_resource=1, stages_per_api=1, routes_per_http_api=2)


@dataclass(frozen=True)
class EstateMix:
    empty: float = 0.90
    small: float = 0.09
    large: float = 0.01
    small_apis: tuple[int, int] = (1, 10)
    large_apis: tuple[int, int] = (10, 100)
    rest_share: float = 0.6  # the rest are HTTP APIs
    seed: int = 20_241_201

    def __post_init__(self) -> None:
        if abs(self.empty + self.small + self.large - 1) > 1e-9 or min(self.empty, self.small, self.large) < 0:
            raise ValueError(f"the shares of empty, small and large regions must add up to 1: {self}")


Tier = Literal["empty", "small", "large"]


@dataclass(frozen=True)
class RegionEstate:
    account: str
    region: str
    rest: int = 0
    http: int = 0
    tier: Tier = "empty"  # as built: a change may leave an "empty" region with an API

    @property
    def apis(self) -> int:
        return self.rest + self.http

    @property
    def spec(self) -> EstateSpec:
        return replace(API_SHAPE, rest_apis=self.rest, http_apis=self.http)

    def minimum(self) -> dict[str, int]:
        return minimum_calls(self.spec)


@dataclass(frozen=True)
class Fleet:
    regions: tuple[RegionEstate, ...]

    @property
    def accounts(self) -> list[str]:
        return list(dict.fromkeys(r.account for r in self.regions))

    def of(self, account: str) -> list[RegionEstate]:
        return [r for r in self.regions if r.account == account]

    def by_account(self) -> dict[str, list[RegionEstate]]:
        grouped: dict[str, list[RegionEstate]] = {}
        for region in self.regions:
            grouped.setdefault(region.account, []).append(region)
        return grouped

    def classes(self) -> dict[str, int]:
        """Regions by the tier of the mix they were built in."""
        counts = Counter(r.tier for r in self.regions)
        return {tier: counts[tier] for tier in ("empty", "small", "large")}

    def apis(self) -> int:
        return sum(r.apis for r in self.regions)


def account_ids(count: int, first: int = 300_000_000_000) -> list[str]:
    return [f"{first + i:012d}" for i in range(count)]


def build_fleet(accounts: Sequence[str], regions: Sequence[str], mix: EstateMix | None = None) -> Fleet:
    """The fleet's API counts per (account, region): exact shares, positions and counts from the seed."""
    mix = mix or EstateMix()
    rng = random.Random(mix.seed)
    slots = [(a, r) for a in accounts for r in regions]
    large = round(len(slots) * mix.large)
    small = round(len(slots) * mix.small)
    chosen = rng.sample(range(len(slots)), large + small)
    counts: dict[int, tuple[int, Tier]] = {}
    for n, slot in enumerate(chosen):
        low, high = mix.large_apis if n < large else mix.small_apis
        counts[slot] = (rng.randint(low, high), "large" if n < large else "small")
    built = []
    for index, (account, region) in enumerate(slots):
        apis, tier = counts.get(index, (0, "empty"))
        rest = sum(rng.random() < mix.rest_share for _ in range(apis))
        built.append(RegionEstate(account=account, region=region, rest=rest, http=apis - rest, tier=tier))
    return Fleet(tuple(built))


def account_minimum(regions: Iterable[RegionEstate]) -> dict[str, int]:
    """The fewest API Gateway calls that scan an account's regions (all draw on the account's one quota)."""
    total: Counter[str] = Counter()
    for region in regions:
        total.update(region.minimum())
    return dict(sorted(total.items()))


def account_bound(regions: Iterable[RegionEstate], rates: QuotaRates) -> QuotaBound:
    return quota_bound(account_minimum(regions), rates)


@dataclass
class SeedReport:
    regions: int
    apis: int
    seconds: float
    classes: dict[str, int] = field(default_factory=dict)


def seed_fleet(fleet: Fleet) -> SeedReport:
    """Create every API of the fleet in moto's backends of this process (empty regions need nothing)."""
    started = time.perf_counter()
    for region in fleet.regions:
        if region.apis:
            seed_estate(region.spec, region.account, region.region)
    return SeedReport(
        regions=len(fleet.regions), apis=fleet.apis(), seconds=time.perf_counter() - started, classes=fleet.classes()
    )


# --------------------------------------------------------------------------------------------------
# The steady state: about 1% of regions change between two sweeps
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionChange:
    account: str
    region: str
    kind: ChangeKind


def plan_changes(fleet: Fleet, share: float = 0.01, seed: int = 7) -> list[RegionChange]:
    """Which regions change, and how: the kinds in turn (an API added anywhere; an API removed, or given a
    route, where there is one), each in a region drawn from those it can happen in, none twice."""
    rng = random.Random(seed)
    wanted = max(1, round(len(fleet.regions) * share))
    anywhere = list(range(len(fleet.regions)))
    with_apis = [i for i in anywhere if fleet.regions[i].apis]
    rng.shuffle(anywhere)
    rng.shuffle(with_apis)
    taken: set[int] = set()
    changes = []
    for n in range(wanted):
        kind = CHANGE_KINDS[n % len(CHANGE_KINDS)]
        pools = (anywhere,) if kind == "api_added" else (with_apis, anywhere)
        index = next((i for pool in pools for i in pool if i not in taken), None)
        if index is None:
            break
        taken.add(index)
        region = fleet.regions[index]
        changes.append(
            RegionChange(account=region.account, region=region.region, kind=kind if region.apis else "api_added")
        )
    return sorted(changes, key=lambda c: (c.account, c.region))


def apply_changes(fleet: Fleet, changes: Sequence[RegionChange]) -> Fleet:
    """Make the changes in moto's backends; the fleet as it is afterwards (route changes keep the counts)."""
    by_slot = {(c.account, c.region): c for c in changes}
    after = []
    for region in fleet.regions:
        change = by_slot.get((region.account, region.region))
        after.append(_apply(region, change.kind) if change else region)
    return Fleet(tuple(after))


def _apply(region: RegionEstate, kind: ChangeKind) -> RegionEstate:
    backends = _Backends(region.account, region.region)
    if kind == "api_added":
        seed_estate(replace(API_SHAPE, http_apis=1, seed=len(backends.v2.apis) + 1), region.account, region.region)
        return replace(region, http=region.http + 1)
    if kind == "api_removed":
        if region.http:
            backends.v2.delete_api(next(iter(backends.v2.apis)))
            return replace(region, http=region.http - 1)
        backends.v1.delete_rest_api(next(iter(backends.v1.apis)))
        return replace(region, rest=region.rest - 1)
    backends.add_route()
    return region


class _Backends:
    def __init__(self, account: str, region: str) -> None:
        from moto.apigateway.models import apigateway_backends  # noqa: PLC0415 - moto is heavy; load on use
        from moto.apigatewayv2.models import apigatewayv2_backends  # noqa: PLC0415

        self.v1: Any = apigateway_backends[account][region]
        self.v2: Any = apigatewayv2_backends[account][region]
        self.account, self.region = account, region

    def add_route(self) -> None:
        """A route on an HTTP API, or a method on a new resource of a REST API: one more route either way."""
        from bench.estate import BackendSeeder  # noqa: PLC0415

        seeder = BackendSeeder(self.account, self.region)
        if self.v2.apis:
            api_id = next(iter(self.v2.apis))
            target = seeder.v2_integration(
                api_id,
                {
                    "integrationType": "HTTP_PROXY",
                    "integrationUri": "https://changed.example.com/",
                    "integrationMethod": "ANY",
                },
            )
            seeder.v2_route(api_id, {"routeKey": "POST /changed", "target": f"integrations/{target}"})
            return
        api = next(iter(self.v1.apis.values()))
        resource = seeder.resource(api.id, api.root_resource_id, "changed")
        seeder.method(api.id, resource, "GET", {"authorizationType": "NONE"})
        seeder.integration(api.id, resource, "GET", {"type": "MOCK"})


def change_summary(changes: Sequence[RegionChange]) -> dict[str, int]:
    return dict(sorted(Counter(c.kind for c in changes).items()))
