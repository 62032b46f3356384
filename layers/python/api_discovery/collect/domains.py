"""Custom domain names, one list for both API kinds, with every base path / API mapping, routing rule and, for
private domains, the VPC endpoints associated with them."""

from __future__ import annotations

from typing import Any

from api_discovery.collect.context import ScanContext

ROUTING_RULES_PAGE = 100  # ListRoutingRules allows 100 at most


def list_rest_domains(ctx: ScanContext) -> list[dict[str, Any]]:
    """Public and private domains: a private one carries its domainNameId."""
    domains: list[dict[str, Any]] = []
    with ctx.part("apigateway:GetDomainNames", "domainnames"):
        domains = ctx.items(ctx.apigateway, "get_domain_names")
    return domains


def list_v2_domains(ctx: ScanContext) -> list[dict[str, Any]]:
    domains: list[dict[str, Any]] = []
    with ctx.part("apigatewayv2:GetDomainNames", "v2/domainnames"):
        domains = ctx.items(ctx.apigatewayv2, "get_domain_names")
    return domains


def shared_domains(ctx: ScanContext) -> list[dict[str, Any]]:
    """Private domains of other accounts that are shared with this one."""
    domains: list[dict[str, Any]] = []
    with ctx.part("apigateway:GetDomainNames", "domainnames/shared-with-this-account"):
        domains = ctx.items(ctx.apigateway, "get_domain_names", resourceOwner="OTHER_ACCOUNTS")
    return domains


def base_path_mappings(ctx: ScanContext, domain: str, domain_name_id: str | None = None) -> list[dict[str, Any]]:
    """A private domain is addressed by its id as well: without it AWS answers NotFound."""
    mappings: list[dict[str, Any]] = []
    extra = {"domainNameId": domain_name_id} if domain_name_id else {}
    with ctx.part("apigateway:GetBasePathMappings", f"domainnames/{domain}"):
        mappings = ctx.items(ctx.apigateway, "get_base_path_mappings", domainName=domain, **extra)
    return mappings


def api_mappings(ctx: ScanContext, domain: str) -> list[dict[str, Any]]:
    mappings: list[dict[str, Any]] = []
    with ctx.part("apigatewayv2:GetApiMappings", f"v2/domainnames/{domain}"):
        mappings = ctx.v2_unpaginated_items(ctx.apigatewayv2.get_api_mappings, DomainName=domain)
    return mappings


def routing_rules(ctx: ScanContext, domain: str, domain_name_id: str | None = None) -> list[dict[str, Any]]:
    """Only for a domain whose routing mode uses rules: the others have none to list."""
    rules: list[dict[str, Any]] = []
    extra = {"DomainNameId": domain_name_id} if domain_name_id else {}
    with ctx.part("apigatewayv2:ListRoutingRules", f"v2/domainnames/{domain}"):
        paginator = ctx.apigatewayv2.get_paginator("list_routing_rules")
        # Unlike the other v2 lists, this one spells MaxResults as an integer, capped at 100.
        size = min(ctx.page_size, ROUTING_RULES_PAGE)
        pages = paginator.paginate(DomainName=domain, **extra, PaginationConfig={"PageSize": size})
        rules = [rule for page in pages for rule in page.get("RoutingRules", [])]
    return rules


def access_associations(ctx: ScanContext, owner: str) -> list[dict[str, Any]] | None:
    """SELF: this account's VPC endpoints associated with a private domain; OTHER_ACCOUNTS: other accounts'
    endpoints associated with this account's domains. None when the list could not be read."""
    found: list[dict[str, Any]] | None = None
    with ctx.part("apigateway:GetDomainNameAccessAssociations", f"domainnames/access-associations/{owner}"):
        found = ctx.v1_unpaginated_items(ctx.apigateway.get_domain_name_access_associations, resourceOwner=owner)
    return found
