"""Custom domain names, one list for both API kinds, with every base path / API mapping."""

from __future__ import annotations

from api_discovery import normalise
from api_discovery.collect.context import ScanContext
from api_discovery.model import Domain


def collect_domains(ctx: ScanContext) -> list[Domain]:
    found: list[Domain] = []
    with ctx.part("apigateway:GetDomainNames", "domainnames"):
        for raw in ctx.items(ctx.apigateway, "get_domain_names"):
            name = raw["domainName"]
            mappings = []
            with ctx.part("apigateway:GetBasePathMappings", f"domainnames/{name}"):
                mappings = ctx.items(ctx.apigateway, "get_base_path_mappings", domainName=name)
            found.append(normalise.rest_domain(raw, mappings))
    with ctx.part("apigatewayv2:GetDomainNames", "v2/domainnames"):
        for raw in ctx.items(ctx.apigatewayv2, "get_domain_names"):
            name = raw["DomainName"]
            mappings = []
            with ctx.part("apigatewayv2:GetApiMappings", f"v2/domainnames/{name}"):
                mappings = ctx.v2_unpaginated_items(ctx.apigatewayv2.get_api_mappings, DomainName=name)
            found.append(normalise.v2_domain(raw, mappings))
    return normalise.merge_domains(found)
