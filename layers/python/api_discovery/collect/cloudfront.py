"""CloudFront distributions, account-wide: read once per account, by the scan of its global region. One
ListDistributions page holds 100 distributions, the most CloudFront returns, each with its origins, cache
behaviours, aliases and web ACL: no call per distribution.

Custom origin headers often carry the shared secret an origin checks to admit only CloudFront: the client
drops their values as ListDistributions answers (`drop_header_values`), before anything here sees them.
"""

from __future__ import annotations

from typing import Any

from api_discovery.collect.context import ScanContext
from api_discovery.inventory.model import EntryPoint, Origin

CLOUDFRONT_PAGE_SIZE = "100"  # CloudFront spells MaxItems as a string


def drop_header_values(parsed: dict[str, Any] | None = None, **_: Any) -> None:
    """botocore `after-call.cloudfront.ListDistributions` hook: every custom origin header loses its value."""
    for summary in ((parsed or {}).get("DistributionList") or {}).get("Items") or []:
        for origin in (summary.get("Origins") or {}).get("Items") or []:
            for header in (origin.get("CustomHeaders") or {}).get("Items") or []:
                header.pop("HeaderValue", None)


def distributions(ctx: ScanContext) -> list[EntryPoint]:
    found: list[EntryPoint] = []
    with ctx.part("cloudfront:ListDistributions", "distributions"):
        paginator = ctx.client("cloudfront").get_paginator("list_distributions")
        pages = paginator.paginate(PaginationConfig={"PageSize": CLOUDFRONT_PAGE_SIZE})
        found = [
            distribution_entry(raw) for page in pages for raw in (page.get("DistributionList") or {}).get("Items") or []
        ]
    return found


def distribution_entry(raw: dict[str, Any]) -> EntryPoint:
    behaviours = [raw.get("DefaultCacheBehavior") or {}, *((raw.get("CacheBehaviors") or {}).get("Items") or [])]
    # Signed URLs authenticate a distribution only where every behaviour asks for them.
    signed = all(
        (b.get("TrustedKeyGroups") or {}).get("Enabled") or (b.get("TrustedSigners") or {}).get("Enabled")
        for b in behaviours
    )
    aliases = [str(a).lower() for a in (raw.get("Aliases") or {}).get("Items") or []]
    return EntryPoint(
        kind="CLOUDFRONT",
        id=str(raw["Id"]),
        name=str(raw.get("Comment") or raw["Id"]),
        arn=raw.get("ARN"),
        hosts=sorted({str(raw.get("DomainName") or "").lower(), *aliases} - {""}),
        scheme="internet-facing",
        authentication=["signed-urls"] if signed else [],
        web_acl=raw.get("WebACLId") or None,
        enabled=bool(raw.get("Enabled")),
        origins=[origin_of(o) for o in (raw.get("Origins") or {}).get("Items") or []],
        viewer_protocols=sorted(
            {str(b.get("ViewerProtocolPolicy")) for b in behaviours if b.get("ViewerProtocolPolicy")}
        ),
    )


def origin_of(raw: dict[str, Any]) -> Origin:
    custom = raw.get("CustomOriginConfig") or {}
    return Origin(
        id=str(raw["Id"]),
        domain_name=str(raw.get("DomainName") or "").lower(),
        origin_path=raw.get("OriginPath") or None,
        origin_access_control=raw.get("OriginAccessControlId") or None,
        origin_protocol=custom.get("OriginProtocolPolicy"),
        custom_header_names=sorted(
            str(h.get("HeaderName")) for h in (raw.get("CustomHeaders") or {}).get("Items") or []
        ),
    )
