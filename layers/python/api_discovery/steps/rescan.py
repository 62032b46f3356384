"""A targeted rescan: read again only what a change event named, and merge it into the region's last complete
snapshot, which stays whole.

One REST API costs GetRestApis (one page of 500), GetResources(embed), GetStages and GetAuthorizers (4
calls); an HTTP or WebSocket API GetApis, GetRoutes, GetIntegrations, GetAuthorizers and GetStages (5); a
domain both domain lists and its mappings on both APIs (4); usage plans or VPC links their lists (1 or 2).
A deletion is believed only once a complete read lacks the resource: a delete event for an API that still
exists rescans it. Any gap in the read makes the rescan unsure, and the caller scans the whole region.

The merged snapshot is complete and says so (`rescan`: its base and what was read). Every API's URLs and
exposure and the region's findings are computed again: a domain's mapping or an API's policy can change
another route's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from api_discovery.analysis import completeness
from api_discovery.collect import rest, v2
from api_discovery.collect.context import ScanContext
from api_discovery.collect.session import AccountCredentials, CallCounter
from api_discovery.errors import TargetUnavailableError
from api_discovery.inventory import normalise
from api_discovery.inventory.model import Api, Domain, Rescan, ScanError, Snapshot, UsagePlan, VpcLink, essential
from api_discovery.steps.progress import Progress, RegionWide
from api_discovery.steps.target_scan import (
    ScanOptions,
    SessionFactory,
    collect_apis,
    finish_api,
    plain_entry,
    region_domains,
    scan_context,
    scan_lanes,
    utc_now,
)
from api_discovery.targets import Resource, Target


@dataclass
class Fresh:
    """What a targeted rescan read. An API or domain mapped to None was confirmed gone."""

    scanned_at: str
    read: list[str] = field(default_factory=list)
    apis: dict[str, Api | None] = field(default_factory=dict)  # by Resource.key
    # By domain name, lowercase: a public domain and a private one of the same name are read together; an empty
    # list is a name confirmed gone.
    domains: dict[str, list[Domain]] = field(default_factory=dict)
    usage_plans: list[UsagePlan] | None = None
    vpc_links: list[VpcLink] | None = None
    calls: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)  # why the read cannot stand for what it names
    optional_errors: list[ScanError] = field(default_factory=list)  # refused reads that leave the view whole

    @property
    def removed(self) -> list[str]:
        gone = [key for key, api in self.apis.items() if api is None]
        return gone + [f"domain#{name}" for name, found in self.domains.items() if not found]


def read_resources(
    target: Target,
    resources: list[Resource],
    *,
    session_factory: SessionFactory = boto3.Session,
    options: ScanOptions | None = None,
    credentials: AccountCredentials | None = None,
    scanned_at: str | None = None,
) -> Fresh:
    """Read what the resources name, with the full scan's collectors, budget, guard and counter."""
    opts = options or ScanOptions()
    counter = CallCounter()
    fresh = Fresh(scanned_at=scanned_at or utc_now(), read=sorted({r.key for r in resources}))
    try:
        with scan_context(target, credentials or session_factory, counter, opts) as ctx, scan_lanes(opts) as lanes:
            entries = _api_entries(ctx, resources)
            names = {r.id for r in resources if r.kind == "domain"}
            if names:
                found = region_domains(ctx, lanes.main, only=lambda name: name.lower() in names)
                fresh.domains = {n: [d for d in found if d.name.lower() == n] for n in sorted(names)}
            kinds = {r.kind for r in resources}
            fresh.usage_plans = rest.usage_plans(ctx) if "usage_plans" in kinds else None
            fresh.vpc_links = rest.vpc_links(ctx) if "vpc_links" in kinds else None
            progress = Progress(
                run_id=target.run_id,
                account_id=target.account_id,
                region=target.region,
                scanned_at=fresh.scanned_at,
                listed=True,
                lists_complete=True,
                rest_pending=[plain_entry(e) for k, e in entries.items() if e and k.startswith("rest_api#")],
                v2_pending=[plain_entry(e) for k, e in entries.items() if e and k.startswith("v2_api#")],
                region_wide=RegionWide(),
            )
            collected = collect_apis(ctx, lanes, progress, None, opts.reserve_seconds)
            got = {_api_key(a): a for a in collected.apis}
            fresh.apis = {key: (got.get(key) if entry else None) for key, entry in entries.items()}
            fresh.gaps += [f"{e.operation} {e.resource}: {e.code}" for e in essential(ctx.errors)]
            fresh.optional_errors = [e for e in ctx.errors if e not in essential(ctx.errors)]
            fresh.gaps += [f"{key}: read but not collected" for key, e in entries.items() if e and key not in got]
    except TargetUnavailableError as exc:
        fresh.gaps.append(str(exc))
    fresh.calls, fresh.retries = counter.snapshot(), counter.retries_snapshot()
    return fresh


def full_scan_at(snapshot: Snapshot) -> str:
    return snapshot.rescan.full_scan_at if snapshot.rescan else snapshot.scanned_at


def newer_reads(base: Snapshot, fresh: Fresh) -> set[str]:
    """The parts of this read that another targeted rescan in the base's history read again later."""
    prior = base.rescan.read_at if base.rescan else {}
    return {key for key in fresh.read if prior.get(key, "") > fresh.scanned_at}


def without(fresh: Fresh, keys: set[str]) -> Fresh:
    names = {k.split("#", 1)[1] for k in keys if k.startswith("domain#")}
    return replace(
        fresh,
        read=[k for k in fresh.read if k not in keys],
        apis={k: a for k, a in fresh.apis.items() if k not in keys},
        domains={n: d for n, d in fresh.domains.items() if n not in names},
        usage_plans=None if "usage_plans" in keys else fresh.usage_plans,
        vpc_links=None if "vpc_links" in keys else fresh.vpc_links,
    )


def merge(base: Snapshot, base_key: str, fresh: Fresh, run_id: str) -> Snapshot:
    """The base snapshot with what was read again put in: a complete view of the region, each part as of its
    latest read. Its time follows the base's, even when this read began before another targeted rescan's
    landed: that one read other parts, and both are in this view."""
    prior = base.rescan.read_at if base.rescan else {}
    scanned_at = fresh.scanned_at if fresh.scanned_at > base.scanned_at else _after(base.scanned_at)
    domains = [d for d in base.domains if d.name.lower() not in fresh.domains]
    domains += [d for found in fresh.domains.values() for d in found]
    domains.sort(key=lambda d: d.key)
    apis = [a for a in base.apis if _api_key(a) not in fresh.apis]
    apis += [a for a in fresh.apis.values() if a is not None]
    snapshot = Snapshot(
        run_id=run_id,
        account_id=base.account_id,
        region=base.region,
        scanned_at=scanned_at,
        status="complete",
        errors=fresh.optional_errors,
        api_calls=fresh.calls,
        api_retries=fresh.retries,
        apis=sorted((finish_api(a, domains, base.region) for a in apis), key=lambda a: (a.kind, a.id)),
        domains=domains,
        usage_plans=fresh.usage_plans if fresh.usage_plans is not None else base.usage_plans,
        vpc_links=fresh.vpc_links if fresh.vpc_links is not None else base.vpc_links,
        client_certificates=base.client_certificates,
        account_settings=base.account_settings,
        function_urls=base.function_urls,
        entry_points=base.entry_points,
        rescan=Rescan(
            base=base_key,
            read=fresh.read,
            removed=sorted(fresh.removed),
            full_scan_at=full_scan_at(base),
            read_at=dict(sorted({**prior, **dict.fromkeys(fresh.read, fresh.scanned_at)}.items())),
        ),
    )
    return completeness.assess(snapshot)


def _after(moment: str) -> str:
    """The next microsecond: ISO strings of one width order as the times they name."""
    parsed = datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return normalise.iso(parsed + timedelta(microseconds=1)) or moment


def _api_key(api: Api) -> str:
    return f"{'rest_api' if api.kind == 'REST' else 'v2_api'}#{api.id}"


def _api_entries(ctx: ScanContext, resources: list[Resource]) -> dict[str, dict[str, Any] | None]:
    """Each named API's list entry, None once a complete list lacks it. The lists, not GetRestApi or GetApi:
    one page holds 500 APIs, so it costs the same one call, and IAM could grant the single reads only with a
    wildcard that admits every read below an API (GetSdk, GetModels ...). A list that could not be read
    names nothing, its error in the context."""
    entries: dict[str, dict[str, Any] | None] = {}
    for kind, listed, id_field in (
        ("rest_api", rest.list_rest_apis, "id"),
        ("v2_api", v2.list_v2_apis, "ApiId"),
    ):
        named = [r for r in resources if r.kind == kind]
        if not named:
            continue
        found = listed(ctx)
        if found is None:
            continue
        by_id = {str(a.get(id_field)): a for a in found}
        entries |= {r.key: by_id.get(r.id) for r in named}
    return entries
