"""Custom domain names, one list for both API kinds, with every base path / API mapping."""

from __future__ import annotations

from typing import Any

from api_discovery.collect.context import ScanContext


def list_rest_domains(ctx: ScanContext) -> list[dict[str, Any]]:
    domains: list[dict[str, Any]] = []
    with ctx.part("apigateway:GetDomainNames", "domainnames"):
        domains = ctx.items(ctx.apigateway, "get_domain_names")
    return domains


def list_v2_domains(ctx: ScanContext) -> list[dict[str, Any]]:
    domains: list[dict[str, Any]] = []
    with ctx.part("apigatewayv2:GetDomainNames", "v2/domainnames"):
        domains = ctx.items(ctx.apigatewayv2, "get_domain_names")
    return domains


def base_path_mappings(ctx: ScanContext, domain: str) -> list[dict[str, Any]]:
    mappings: list[dict[str, Any]] = []
    with ctx.part("apigateway:GetBasePathMappings", f"domainnames/{domain}"):
        mappings = ctx.items(ctx.apigateway, "get_base_path_mappings", domainName=domain)
    return mappings


def api_mappings(ctx: ScanContext, domain: str) -> list[dict[str, Any]]:
    mappings: list[dict[str, Any]] = []
    with ctx.part("apigatewayv2:GetApiMappings", f"v2/domainnames/{domain}"):
        mappings = ctx.v2_unpaginated_items(ctx.apigatewayv2.get_api_mappings, DomainName=domain)
    return mappings
