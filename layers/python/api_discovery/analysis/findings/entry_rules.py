"""The checks of the entry points beside API Gateway: AppSync APIs and load balancer listeners."""

from __future__ import annotations

import re
from collections.abc import Iterator

from api_discovery.analysis.findings.rules import check, finding
from api_discovery.inventory.model import EntryPoint, Finding, Snapshot

# ELB security policies that still accept TLS 1.0 or 1.1: those named after TLS 1.0 or 1.1 as their oldest
# version (…-TLS-1-0-…, …-TLS13-1-1-…, …-FS-1-1-…), and the older generic ones (ELBSecurityPolicy-2016-08, the
# FS-2018-06 policy, and every dated policy before them).
_WEAK_TLS = re.compile(r"TLS13-1-[01]-|TLS-1-[01]-|FS-1-1-|FS-2018-06|^ELBSecurityPolicy-201[1-6]-")


def weak_tls_policy(name: str | None) -> bool:
    return bool(name) and _WEAK_TLS.search(name or "") is not None


def _public_appsync(snapshot: Snapshot) -> Iterator[EntryPoint]:
    for entry in snapshot.entry_points:
        if entry.kind in ("APPSYNC_GRAPHQL", "APPSYNC_EVENTS") and entry.scheme != "PRIVATE":
            yield entry


@check("appsync-api-key-only")
def _appsync_api_key_only(snapshot: Snapshot) -> Iterator[Finding]:
    for api in _public_appsync(snapshot):
        if api.authentication == ["API_KEY"]:
            yield finding(
                "appsync-api-key-only",
                f"appsync/{api.id}",
                None,
                appsync_api=api.name,
                kind=api.kind,
                auth_modes=api.authentication,
                hosts=api.hosts,
            )


@check("appsync-without-waf")
def _appsync_without_waf(snapshot: Snapshot) -> Iterator[Finding]:
    for api in _public_appsync(snapshot):
        if not api.web_acl:
            yield finding(
                "appsync-without-waf", f"appsync/{api.id}", None, appsync_api=api.name, kind=api.kind, hosts=api.hosts
            )


@check("elb-http-without-redirect")
def _http_without_redirect(snapshot: Snapshot) -> Iterator[Finding]:
    for balancer in snapshot.entry_points:
        if balancer.kind != "LOAD_BALANCER" or balancer.scheme != "internet-facing":
            continue
        for listener in balancer.listeners:
            redirects = listener.default_actions == ["redirect"] and listener.redirect_protocol == "HTTPS"
            if listener.protocol == "HTTP" and not redirects:
                yield finding(
                    "elb-http-without-redirect",
                    f"loadbalancer/{balancer.id}:{listener.port}",
                    None,
                    load_balancer=balancer.name,
                    listener=listener.arn,
                    port=listener.port,
                    default_actions=listener.default_actions,
                )


@check("elb-weak-tls-policy")
def _weak_tls_policy(snapshot: Snapshot) -> Iterator[Finding]:
    for balancer in snapshot.entry_points:
        if balancer.kind != "LOAD_BALANCER":
            continue
        for listener in balancer.listeners:
            if listener.protocol in ("HTTPS", "TLS") and weak_tls_policy(listener.ssl_policy):
                yield finding(
                    "elb-weak-tls-policy",
                    f"loadbalancer/{balancer.id}:{listener.port}",
                    None,
                    load_balancer=balancer.name,
                    listener=listener.arn,
                    port=listener.port,
                    ssl_policy=listener.ssl_policy,
                    scheme=balancer.scheme,
                )
