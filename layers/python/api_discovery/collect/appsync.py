"""AppSync: every GraphQL API (ListGraphqlApis), Event API (ListApis) and custom domain (ListDomainNames) of the
region, in pages of 25, the most AppSync returns. The lists hold everything the inventory needs (auth modes,
visibility, WAF, hosts): no call per API. SecurityAudit grants appsync:List* only, so which API a custom domain
serves (GetApiAssociation) is not read; the domain names its AppSync host instead.
"""

from __future__ import annotations

from typing import Any

from api_discovery.collect.context import ScanContext
from api_discovery.inventory.model import EntryPoint

APPSYNC_PAGE_SIZE = 25


def _pages(ctx: ScanContext, operation: str, key: str, **params: Any) -> list[dict[str, Any]] | None:
    items: list[dict[str, Any]] | None = None
    with ctx.part(f"appsync:{_op(operation)}", key):
        paginator = ctx.client("appsync").get_paginator(operation)
        pages = paginator.paginate(**params, PaginationConfig={"PageSize": APPSYNC_PAGE_SIZE})
        items = [item for page in pages for item in page.get(key, [])]
    return items


def _op(operation: str) -> str:
    return "".join(part.title() for part in operation.split("_"))  # list_graphql_apis: ListGraphqlApis


def graphql_apis(ctx: ScanContext) -> list[EntryPoint]:
    return [graphql_entry(raw) for raw in _pages(ctx, "list_graphql_apis", "graphqlApis") or []]


def event_apis(ctx: ScanContext) -> list[EntryPoint]:
    return [event_entry(raw) for raw in _pages(ctx, "list_apis", "apis") or []]


def domains(ctx: ScanContext) -> list[EntryPoint]:
    return [domain_entry(raw) for raw in _pages(ctx, "list_domain_names", "domainNameConfigs") or []]


def graphql_entry(raw: dict[str, Any]) -> EntryPoint:
    modes = [str(raw.get("authenticationType") or "")] + [
        str(p.get("authenticationType") or "") for p in raw.get("additionalAuthenticationProviders") or []
    ]
    return EntryPoint(
        kind="APPSYNC_GRAPHQL",
        id=str(raw["apiId"]),
        name=str(raw.get("name") or raw["apiId"]),
        arn=raw.get("arn"),
        hosts=_hosts(raw.get("dns"), raw.get("uris")),
        scheme=str(raw.get("visibility") or "GLOBAL"),
        authentication=sorted({m for m in modes if m}),
        web_acl=raw.get("wafWebAclArn") or None,
        subtype=raw.get("apiType") or "GRAPHQL",
    )


def event_entry(raw: dict[str, Any]) -> EntryPoint:
    config = raw.get("eventConfig") or {}
    modes = {
        str(mode.get("authType") or "")
        for part in ("connectionAuthModes", "defaultPublishAuthModes", "defaultSubscribeAuthModes")
        for mode in config.get(part) or []
    }
    return EntryPoint(
        kind="APPSYNC_EVENTS",
        id=str(raw["apiId"]),
        name=str(raw.get("name") or raw["apiId"]),
        arn=raw.get("apiArn"),
        hosts=_hosts(raw.get("dns"), None),
        scheme="GLOBAL",  # Event APIs have no private visibility
        authentication=sorted(m for m in modes if m),
        web_acl=raw.get("wafWebAclArn") or None,
    )


def domain_entry(raw: dict[str, Any]) -> EntryPoint:
    name = str(raw["domainName"]).lower()
    target = str(raw.get("appsyncDomainName") or "").lower()
    return EntryPoint(
        kind="APPSYNC_DOMAIN",
        id=name,
        name=name,
        arn=raw.get("domainNameArn"),
        hosts=[name],
        behind=[target] if target else [],
    )


def _hosts(dns: Any, uris: Any) -> list[str]:
    """The hosts an API answers on: its DNS map's (GraphQL, real-time, HTTP), or its URIs' where no map is given."""
    hosts = {str(h).lower() for h in (dns or {}).values() if h}
    for uri in (uris or {}).values():
        host = str(uri).split("://", 1)[-1].split("/", 1)[0].lower()
        if host:
            hosts.add(host)
    return sorted(hosts)
