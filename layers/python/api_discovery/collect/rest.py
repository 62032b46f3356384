"""REST APIs (apigateway v1): GetRestApis, then per API GetResources(embed=methods), GetStages, GetAuthorizers."""

from __future__ import annotations

from typing import Any

from api_discovery.collect.context import ScanContext
from api_discovery.inventory import normalise
from api_discovery.inventory.model import (
    AccountSettings,
    Authorizer,
    ClientCertificate,
    RequestValidator,
    Route,
    Stage,
    UsagePlan,
    VpcLink,
)


def list_rest_apis(ctx: ScanContext) -> list[dict[str, Any]] | None:
    """None when the list itself could not be read: the caller must not treat that as 'no APIs'."""
    apis: list[dict[str, Any]] | None = None
    with ctx.part("apigateway:GetRestApis", "restapis"):
        apis = ctx.items(ctx.apigateway, "get_rest_apis")
    return apis


def rest_routes(ctx: ScanContext, api_id: str) -> list[Route]:
    routes: list[Route] = []
    with ctx.part("apigateway:GetResources", f"restapis/{api_id}"):
        # embed=methods returns each method and its integration in the same page: no GetMethod per method.
        resources = ctx.items(ctx.apigateway, "get_resources", restApiId=api_id, embed=["methods"])
        routes = normalise.rest_routes(resources)
    return routes


def rest_routes_and_validators(ctx: ScanContext, api_id: str) -> tuple[list[Route], list[RequestValidator]]:
    """The routes, and the request validators only when a method references one: most APIs need no call."""
    routes = rest_routes(ctx, api_id)
    validators: list[RequestValidator] = []
    if any(r.request_validator_id for r in routes):
        with ctx.part("apigateway:GetRequestValidators", f"restapis/{api_id}"):
            raw = ctx.items(ctx.apigateway, "get_request_validators", restApiId=api_id)
            validators = sorted((normalise.request_validator(v) for v in raw), key=lambda v: v.id)
    return routes, validators


def rest_stages(ctx: ScanContext, api_id: str) -> list[Stage]:
    stages: list[Stage] = []
    with ctx.part("apigateway:GetStages", f"restapis/{api_id}"):
        raw = ctx.apigateway.get_stages(restApiId=api_id).get("item", [])  # unpaged in AWS
        stages = sorted((normalise.rest_stage(s, api_id=api_id, region=ctx.region) for s in raw), key=lambda s: s.name)
    return stages


def rest_authorizers(ctx: ScanContext, api_id: str) -> list[Authorizer]:
    authorizers: list[Authorizer] = []
    with ctx.part("apigateway:GetAuthorizers", f"restapis/{api_id}"):
        raw = ctx.items(ctx.apigateway, "get_authorizers", restApiId=api_id)
        authorizers = sorted((normalise.rest_authorizer(a) for a in raw), key=lambda a: a.id)
    return authorizers


def usage_plans(ctx: ScanContext) -> list[UsagePlan]:
    plans: list[UsagePlan] = []
    with ctx.part("apigateway:GetUsagePlans", "usageplans"):
        plans = [normalise.usage_plan(p) for p in ctx.items(ctx.apigateway, "get_usage_plans")]
    return sorted(plans, key=lambda p: p.id)


def vpc_links(ctx: ScanContext) -> list[VpcLink]:
    links: list[VpcLink] = []
    with ctx.part("apigateway:GetVpcLinks", "vpclinks"):
        links = [normalise.rest_vpc_link(v) for v in ctx.items(ctx.apigateway, "get_vpc_links")]
    with ctx.part("apigatewayv2:GetVpcLinks", "v2/vpclinks"):
        links += [normalise.v2_vpc_link(v) for v in ctx.v2_unpaginated_items(ctx.apigatewayv2.get_vpc_links)]
    return sorted(links, key=lambda v: (v.kind, v.id))


def client_certificates(ctx: ScanContext) -> list[ClientCertificate]:
    certificates: list[ClientCertificate] = []
    with ctx.part("apigateway:GetClientCertificates", "clientcertificates"):
        raw = ctx.items(ctx.apigateway, "get_client_certificates")
        certificates = sorted((normalise.client_certificate(c) for c in raw), key=lambda c: c.id)
    return certificates


def account_settings(ctx: ScanContext) -> AccountSettings | None:
    """The region's CloudWatch role; None when it could not be read (unknown, not 'no role')."""
    settings: AccountSettings | None = None
    with ctx.part("apigateway:GetAccount", "account"):
        raw = ctx.apigateway.get_account()
        settings = AccountSettings(cloudwatch_role_arn=raw.get("cloudwatchRoleArn") or None)
    return settings
