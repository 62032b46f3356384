"""One map of a customer's entry points: every host a caller can reach, whatever service answers on it.

Each entry is a host with the ways it is served (an API Gateway API's default endpoint or custom domain, a
function URL, an AppSync API or domain, a load balancer, a CloudFront distribution), each with its resource,
its authentication and its own verdict. A host that several services serve (a custom domain that is a
CloudFront alias and an API Gateway domain) is one entry. CloudFront origins link a distribution to the
entries it fronts: an entry that is not public on its own but reached through a public distribution says so,
and an origin that still answers publicly on its own address is a `cloudfront-origin-bypass` finding.

The map is built across accounts and regions (CloudFront is in the account's global region, its origins
anywhere), so it is judged here, from the snapshots of a run, and not by one snapshot's checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from api_discovery.analysis.exposure import PUBLIC, VERDICTS
from api_discovery.analysis.findings import CATALOGUE
from api_discovery.inventory.model import Api, EntryPoint, Finding, Snapshot, Verdict

# Origins a caller could reach directly, past the distribution, when their own verdict lets anyone in.
_OPEN_DIRECTLY: frozenset[Verdict] = frozenset({"public-unauthenticated", "public-api-key-only"})
_BYPASSABLE_KINDS = frozenset({"API_GATEWAY_REST", "API_GATEWAY_HTTP", "API_GATEWAY_WEBSOCKET", "FUNCTION_URL"})
_BYPASSABLE_KINDS |= {"APPSYNC_GRAPHQL", "APPSYNC_EVENTS"}


@dataclass(frozen=True)
class Way:
    """One service that answers on a host."""

    kind: str
    account_id: str
    region: str
    resource: str
    name: str
    authentication: str
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    web_acl: str | None = None


@dataclass
class MapEntry:
    """One entry point: the hosts one resource answers on, merged with every other resource answering on any of
    them (a custom domain served by several services is one entry)."""

    hosts: list[str]
    ways: list[Way] = field(default_factory=list)
    fronted_by: list[str] = field(default_factory=list)  # distribution ids whose origins are among the hosts
    fronts: list[str] = field(default_factory=list)  # a distribution's origin hosts
    note: str | None = None

    @property
    def host(self) -> str:
        """The name to show: a custom name before AWS's generated ones."""
        return min(self.hosts, key=lambda h: (h.endswith(_AWS_SUFFIXES), h))

    @property
    def verdict(self) -> Verdict:
        return min((w.verdict for w in self.ways), key=VERDICTS.index, default="unknown")

    def row(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "hosts": sorted(self.hosts),
            "accounts": sorted({w.account_id for w in self.ways}),
            "kinds": sorted({w.kind for w in self.ways}),
            "exposure": self.verdict,
            "ways": [
                {
                    "kind": w.kind,
                    "account_id": w.account_id,
                    "region": w.region,
                    "resource": w.resource,
                    "name": w.name,
                    "authentication": w.authentication,
                    "exposure": w.verdict,
                    "reasons": list(w.reasons),
                }
                for w in self.ways
            ],
            "fronted_by": self.fronted_by,
            "fronts": self.fronts,
            "note": self.note,
        }


_AWS_SUFFIXES = (".amazonaws.com", ".on.aws", ".cloudfront.net")


def _ways(snapshot: Snapshot) -> Iterator[tuple[list[str], Way]]:
    """Every resource that answers on hosts, with those hosts."""
    account, region = snapshot.account_id, snapshot.region
    for api in snapshot.apis:
        yield [f"{api.id}.execute-api.{region}.amazonaws.com"], _api_way(api, account, region)
    for domain in snapshot.domains:
        apis = {m.api_id for m in domain.mappings} | {r.api_id for r in domain.routing_rules if r.api_id}
        verdicts = [
            r.exposure.verdict for a in snapshot.apis if a.id in apis for r in a.routes if r.exposure is not None
        ]
        verdict: Verdict = min(verdicts, key=VERDICTS.index) if verdicts else "unreachable"
        reason = f"maps {', '.join(sorted(apis)) or 'no API'}"
        way = Way(
            "API_GATEWAY_DOMAIN",
            account,
            region,
            domain.arn or domain.name,
            domain.name,
            "per route",
            verdict,
            (reason,),
        )
        yield [h.lower() for h in (domain.name, domain.target_domain_name) if h], way
    for url in snapshot.function_urls:
        host = url.url.split("://", 1)[-1].split("/", 1)[0].lower()
        verdict = url.exposure.verdict if url.exposure else "unknown"
        reasons = tuple(url.exposure.reasons) if url.exposure else ()
        yield [host], Way("FUNCTION_URL", account, region, url.function_arn, url.key, url.auth_type, verdict, reasons)
    for entry in snapshot.entry_points:
        if entry.hosts:
            yield list(entry.hosts), _entry_way(entry, account, region)


def _api_way(api: Api, account: str, region: str) -> Way:
    auth = ", ".join(sorted({r.authorization_type or "NONE" for r in api.routes})) or "no routes"
    web_acl = next((s.web_acl_arn for s in api.stages if s.web_acl_arn), None)
    if not api.default_endpoint_enabled:
        return Way(
            f"API_GATEWAY_{api.kind}",
            account,
            region,
            api.id,
            api.name,
            auth,
            "unreachable",
            ("the default execute-api endpoint is disabled",),
            web_acl,
        )
    verdicts = [r.exposure.verdict for r in api.routes if r.exposure is not None]
    verdict: Verdict = min(verdicts, key=VERDICTS.index) if verdicts else "unreachable"
    reasons = ("no deployed route",) if not verdicts else ()
    return Way(f"API_GATEWAY_{api.kind}", account, region, api.id, api.name, auth, verdict, reasons, web_acl)


def _entry_way(entry: EntryPoint, account: str, region: str) -> Way:
    verdict = entry.exposure.verdict if entry.exposure else "unknown"
    reasons = tuple(entry.exposure.reasons) if entry.exposure else ()
    auth = ", ".join(entry.authentication) or "none"
    return Way(entry.kind, account, region, entry.arn or entry.id, entry.name, auth, verdict, reasons, entry.web_acl)


def _origin_host(domain_name: str) -> str:
    # A load balancer's origin is often its dual-stack name.
    return domain_name.lower().removeprefix("dualstack.")


@dataclass
class EntryMap:
    entries: list[MapEntry]
    findings: list[tuple[str, str, Finding]]  # (account, region, finding) of the estate-wide rules

    def rows(self) -> list[dict[str, Any]]:
        ordered = sorted(self.entries, key=lambda e: (VERDICTS.index(e.verdict), e.host))
        return [e.row() for e in ordered]

    def entry(self, host: str) -> MapEntry | None:
        return next((e for e in self.entries if host.lower() in e.hosts), None)


class _Hosts:
    """Union-find over hosts: the hosts of one resource, and of resources that share a host, are one entry."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def root(self, host: str) -> str:
        while self.parent.setdefault(host, host) != host:
            self.parent[host] = self.parent[self.parent[host]]
            host = self.parent[host]
        return host

    def join(self, hosts: list[str]) -> None:
        first = self.root(hosts[0])
        for host in hosts[1:]:
            self.parent[self.root(host)] = first


def build(snapshots: Iterable[Snapshot]) -> EntryMap:
    hosts = _Hosts()
    found: list[tuple[list[str], Way]] = []
    distributions: list[tuple[Snapshot, EntryPoint]] = []
    for snapshot in snapshots:
        for names, way in _ways(snapshot):
            found.append((names, way))
            hosts.join(names)
        distributions += [(snapshot, e) for e in snapshot.entry_points if e.kind == "CLOUDFRONT" and e.hosts]
    groups: dict[str, MapEntry] = {}
    for host in list(hosts.parent):
        groups.setdefault(hosts.root(host), MapEntry(hosts=[])).hosts.append(host)
    for names, way in found:
        entry = groups[hosts.root(names[0])]
        if way not in entry.ways:
            entry.ways.append(way)
    by_host = {host: groups[hosts.root(host)] for host in hosts.parent}
    findings = [f for s, d in distributions for f in _link(s, d, by_host)]
    return EntryMap(list(groups.values()), findings)


def _link(snapshot: Snapshot, distribution: EntryPoint, by_host: dict[str, MapEntry]) -> list[tuple[str, str, Finding]]:
    """Link a distribution to the entries its origins are; the findings of origins open around it."""
    own = by_host[distribution.hosts[0]]
    public = distribution.exposure is not None and distribution.exposure.verdict in PUBLIC
    findings: list[tuple[str, str, Finding]] = []
    for origin in distribution.origins:
        target = by_host.get(_origin_host(origin.domain_name))
        if target is None or target is own:
            continue
        if target.host not in own.fronts:
            own.fronts.append(target.host)
        if distribution.id not in target.fronted_by:
            target.fronted_by.append(distribution.id)
        if not public:
            continue
        if target.verdict not in PUBLIC:
            verdict = distribution.exposure.verdict if distribution.exposure else "unknown"
            target.note = f"{target.verdict} directly; reached through CloudFront {distribution.id} ({verdict})"
        findings += [(snapshot.account_id, snapshot.region, f) for f in _bypass(distribution, origin.id, target)]
    return findings


def _bypass(distribution: EntryPoint, origin: str, target: MapEntry) -> Iterator[Finding]:
    rule = CATALOGUE["cloudfront-origin-bypass"]
    for way in target.ways:
        if way.kind in _BYPASSABLE_KINDS and way.verdict in _OPEN_DIRECTLY:
            yield Finding(
                rule_id=rule.id,
                severity=rule.severity,
                title=rule.title,
                resource=f"cloudfront/{distribution.id}/{origin}",
                evidence={
                    "distribution": distribution.id,
                    "origin": target.host,
                    "origin_kind": way.kind,
                    "origin_resource": way.resource,
                    "direct_verdict": way.verdict,
                    "distribution_web_acl": distribution.web_acl,
                },
            )
