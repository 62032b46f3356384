"""HTTP and WebSocket APIs (apigatewayv2): GetApis, then per API GetRoutes, GetIntegrations, GetAuthorizers,
GetStages."""

from __future__ import annotations

from typing import Any

from api_discovery.collect.context import ScanContext
from api_discovery.inventory import normalise
from api_discovery.inventory.model import Authorizer, Stage


def list_v2_apis(ctx: ScanContext) -> list[dict[str, Any]] | None:
    apis: list[dict[str, Any]] | None = None
    with ctx.part("apigatewayv2:GetApis", "v2/apis"):
        apis = ctx.items(ctx.apigatewayv2, "get_apis")
    return apis


def v2_list(ctx: ScanContext, operation: str, api_id: str) -> list[dict[str, Any]]:
    """GetRoutes or GetIntegrations, raw: routes are joined to their integrations once both are in."""
    items: list[dict[str, Any]] = []
    name = "".join(word.title() for word in operation.split("_"))
    with ctx.part(f"apigatewayv2:{name}", f"v2/apis/{api_id}"):
        items = ctx.items(ctx.apigatewayv2, operation, ApiId=api_id)
    return items


def v2_authorizers(ctx: ScanContext, api_id: str) -> list[Authorizer]:
    authorizers: list[Authorizer] = []
    with ctx.part("apigatewayv2:GetAuthorizers", f"v2/apis/{api_id}"):
        raw = ctx.items(ctx.apigatewayv2, "get_authorizers", ApiId=api_id)
        authorizers = sorted((normalise.v2_authorizer(a) for a in raw), key=lambda a: a.id)
    return authorizers


def v2_stages(ctx: ScanContext, api_id: str, api_endpoint: str | None) -> list[Stage]:
    stages: list[Stage] = []
    with ctx.part("apigatewayv2:GetStages", f"v2/apis/{api_id}"):
        raw = ctx.items(ctx.apigatewayv2, "get_stages", ApiId=api_id)
        stages = sorted((normalise.v2_stage(s, api_endpoint=api_endpoint) for s in raw), key=lambda s: s.name)
    return stages
