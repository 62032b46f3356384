"""The fewest calls the collection rules (docs DESIGN.md, "Collection rules") need for an estate.

Every list is read to its end in pages of at most 500, and an empty list still costs its one call:
- REST: GetRestApis; per API GetResources(embed=methods) over its resources and the root, GetStages (unpaged),
  GetAuthorizers.
- HTTP/WebSocket: GetApis; per API GetRoutes, GetIntegrations (one integration per route in the generated
  estates), GetAuthorizers, GetStages.
- Region-wide: GetDomainNames in both APIs, GetBasePathMappings and GetApiMappings per domain (each domain is
  listed by both), GetVpcLinks in both APIs, GetUsagePlans.
- In a region with at least one API: GetAccount (the CloudWatch role), GetClientCertificates and
  GetDomainNameAccessAssociations (this account's own VPC endpoint associations). The generated estates have no
  private domain, routing rule or request validator, so the other association list, ListRoutingRules and
  GetRequestValidators cost them nothing.
- Lambda (its own quota): ListFunctions in pages of 50 (one call for none), ListFunctionUrlConfigs per function
  (a function has its $LATEST URL only, in the generated estates), GetPolicy per URL whose AuthType is NONE.
- AppSync (pages of 25), ELB version 2 (pages of 400) and, in the account's global region, CloudFront (pages of
  100), each on its own quota: ListGraphqlApis, ListApis and ListDomainNames; DescribeLoadBalancers, and where
  there are load balancers DescribeTargetGroups once, DescribeListeners per load balancer, DescribeRules per
  application listener and DescribeTargetHealth per Lambda target group (one per generated load balancer);
  ListDistributions.
"""

from __future__ import annotations

import math

from bench.estate import EstateSpec

PAGE_SIZE = 500
LAMBDA_PAGE_SIZE = 50
APPSYNC_PAGE_SIZE, ELB_PAGE_SIZE, CLOUDFRONT_PAGE_SIZE = 25, 400, 100
LISTENERS_PER_LOAD_BALANCER = 2  # the generated estates' (bench.estate._listener_actions)
# The rates the scanner's budget assumes for each (collect.budget.SERVICE_RATES): ELB's published, the others not.
SERVICE_RATES = {"appsync": 5.0, "elbv2": 10.0, "cloudfront": 5.0}


def pages(items: int, page_size: int = PAGE_SIZE) -> int:
    """Calls to read a list of `items` to its end: an empty list still answers one (empty) page."""
    return max(1, math.ceil(items / page_size))


def minimum_calls(spec: EstateSpec, page_size: int = PAGE_SIZE) -> dict[str, int]:
    """Calls by `service:Operation` (the scanner's `api_calls` keys) for one (account, region) of `spec`."""
    rest, v2 = spec.rest_apis, spec.v2_apis
    calls = {
        "apigateway:GetRestApis": pages(rest, page_size),
        "apigateway:GetResources": rest * pages(spec.resources_per_api + 1, page_size),
        "apigateway:GetStages": rest,
        "apigateway:GetAuthorizers": rest * pages(spec.authorizers_per_api, page_size),
        "apigatewayv2:GetApis": pages(v2, page_size),
        "apigatewayv2:GetRoutes": spec.http_apis * pages(spec.routes_per_http_api, page_size)
        + spec.websocket_apis * pages(spec.routes_per_websocket_api, page_size),
        "apigatewayv2:GetIntegrations": spec.http_apis * pages(spec.routes_per_http_api, page_size)
        + spec.websocket_apis * pages(spec.routes_per_websocket_api, page_size),
        "apigatewayv2:GetAuthorizers": v2 * pages(spec.authorizers_per_api, page_size),
        "apigatewayv2:GetStages": v2 * pages(spec.stages_per_api, page_size),
        "apigateway:GetDomainNames": pages(spec.domains, page_size),
        "apigatewayv2:GetDomainNames": pages(spec.domains, page_size),
        "apigateway:GetBasePathMappings": spec.domains * pages(spec.rest_mappings_per_domain, page_size),
        "apigatewayv2:GetApiMappings": spec.domains * pages(spec.v2_mappings_per_domain, page_size),
        "apigateway:GetVpcLinks": 1,
        "apigatewayv2:GetVpcLinks": 1,
        "apigateway:GetUsagePlans": 1,
        "apigateway:GetAccount": 1 if rest + v2 else 0,
        "apigateway:GetClientCertificates": 1 if rest + v2 else 0,
        "apigateway:GetDomainNameAccessAssociations": 1 if rest + v2 else 0,
    }
    return {op: n for op, n in sorted(calls.items()) if n}


def lambda_minimum(spec: EstateSpec) -> dict[str, int]:
    """The Lambda calls that find the function URLs of one (account, region) of `spec`."""
    calls = {
        "lambda:ListFunctions": pages(spec.functions, LAMBDA_PAGE_SIZE),
        "lambda:ListFunctionUrlConfigs": spec.functions,
        "lambda:GetPolicy": spec.open_function_urls,
    }
    return {op: n for op, n in sorted(calls.items()) if n}


def entry_point_minimum(spec: EstateSpec, global_region: bool = True) -> dict[str, int]:
    """The AppSync, ELB and CloudFront calls that find the other entry points of one (account, region)."""
    balancers = spec.load_balancers
    calls = {
        "appsync:ListGraphqlApis": pages(spec.appsync_apis, APPSYNC_PAGE_SIZE),
        "appsync:ListApis": 1,
        "appsync:ListDomainNames": 1,
        "elbv2:DescribeLoadBalancers": pages(balancers, ELB_PAGE_SIZE),
        "elbv2:DescribeTargetGroups": 1 if balancers else 0,
        "elbv2:DescribeListeners": balancers,
        "elbv2:DescribeRules": balancers * LISTENERS_PER_LOAD_BALANCER,
        "elbv2:DescribeTargetHealth": balancers,
        "cloudfront:ListDistributions": pages(spec.distributions, CLOUDFRONT_PAGE_SIZE) if global_region else 0,
    }
    return {op: n for op, n in sorted(calls.items()) if n}


def entry_point_calls(calls: dict[str, int]) -> dict[str, int]:
    return {op: n for op, n in sorted(calls.items()) if op.startswith(("appsync:", "elbv2:", "cloudfront:"))}


def service_bound_seconds(calls: dict[str, int]) -> dict[str, float]:
    """Per service, the least time its quota (one second's worth of burst taken) allows for `calls`."""
    by_service: dict[str, int] = {}
    for op, n in calls.items():
        by_service[op.split(":")[0]] = by_service.get(op.split(":")[0], 0) + n
    return {s: round(max(0.0, (n - SERVICE_RATES[s]) / SERVICE_RATES[s]), 1) for s, n in sorted(by_service.items())}


def lambda_bound_seconds(calls: int, rate: float = 15.0) -> float:
    """The least time Lambda's control-plane quota (15 per second per account and region, no published burst:
    one second's worth taken) allows for `calls`."""
    return max(0.0, (calls - rate) / rate)


def api_gateway_calls(calls: dict[str, int]) -> dict[str, int]:
    """Only the API Gateway management calls (the ones its quotas count), e.g. without sts:AssumeRole."""
    return {op: n for op, n in sorted(calls.items()) if op.startswith(("apigateway:", "apigatewayv2:"))}


def lambda_calls(calls: dict[str, int]) -> dict[str, int]:
    """Only the Lambda calls (the ones Lambda's control-plane quota counts)."""
    return {op: n for op, n in sorted(calls.items()) if op.startswith("lambda:")}
