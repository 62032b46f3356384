"""HTTP and WebSocket APIs (apigatewayv2): GetApis, then per API GetRoutes, GetIntegrations, GetAuthorizers,
GetStages."""

from __future__ import annotations

from typing import Any

from api_discovery import normalise
from api_discovery.collect.context import ScanContext
from api_discovery.model import Api, Authorizer, Route, Stage


def list_v2_apis(ctx: ScanContext) -> list[dict[str, Any]] | None:
    apis: list[dict[str, Any]] | None = None
    with ctx.part("apigatewayv2:GetApis", "v2/apis"):
        apis = ctx.items(ctx.apigatewayv2, "get_apis")
    return apis


def collect_v2_api(ctx: ScanContext, raw: dict[str, Any]) -> Api:
    api_id = raw["ApiId"]
    client = ctx.apigatewayv2
    raw_routes: list[dict[str, Any]] = []
    integrations: list[dict[str, Any]] = []
    stages: list[Stage] = []
    authorizers: list[Authorizer] = []
    with ctx.part("apigatewayv2:GetRoutes", f"v2/apis/{api_id}"):
        raw_routes = ctx.items(client, "get_routes", ApiId=api_id)
    with ctx.part("apigatewayv2:GetIntegrations", f"v2/apis/{api_id}"):
        integrations = ctx.items(client, "get_integrations", ApiId=api_id)
    with ctx.part("apigatewayv2:GetAuthorizers", f"v2/apis/{api_id}"):
        authorizers = sorted(
            (normalise.v2_authorizer(a) for a in ctx.items(client, "get_authorizers", ApiId=api_id)),
            key=lambda a: a.id,
        )
    with ctx.part("apigatewayv2:GetStages", f"v2/apis/{api_id}"):
        stages = sorted(
            (
                normalise.v2_stage(s, api_endpoint=raw.get("ApiEndpoint"))
                for s in ctx.items(client, "get_stages", ApiId=api_id)
            ),
            key=lambda s: s.name,
        )
    routes: list[Route] = normalise.v2_routes(raw_routes, integrations)
    return normalise.v2_api(raw, stages=stages, routes=routes, authorizers=authorizers)
