"""The demo's share of what API Gateway gained in 2024-2026, seeded beside the classic estate.

moto 5.2 stores none of it, so what it lacks goes to the emulator's overlay (api_discovery.local.overlay): a
private custom domain with VPC endpoint associations (one from another account), a routing rule, a REST JWT
authorizer's configuration, a client certificate, and the fields moto drops from REST APIs and stages. What moto
does store (a CORS preflight's integration responses, an integration's tlsConfig, per-method settings, the
account's CloudWatch role) is created through its API, as a customer would.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from api_discovery.local.overlay import OverlayClient

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient

DAY = 86400
CERTIFICATE_DAYS_LEFT = 12  # inside client-certificate-expiring's 30 days
PARTNER_RANGES = ["203.0.113.0/24", "198.51.100.0/24"]
# Stage variables whose values look like credentials: stage-variable-secret must name them, never echo them.
SECRET_VARIABLES = {"dbPassword": "Pr0d-Ledger-2026!", "partnerKey": "AKIAIOSFODNN7EXAMPLE"}


@dataclass(frozen=True)
class SurfaceTarget:
    account: str
    region: str
    brand: str
    overlay: OverlayClient


def cors_preflight(ag: APIGatewayClient, api_id: str, resource_id: str, *, credentials: bool = True) -> None:
    """OPTIONS answered by a MOCK with CORS headers only, for any origin: a preflight, not a route anyone can
    call for data, but a CORS finding of its own (with credentials, or on an API that authenticates)."""
    ag.put_method(restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", authorizationType="NONE")
    ag.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    headers = {
        "Access-Control-Allow-Origin": "'*'",
        "Access-Control-Allow-Methods": "'GET,POST,OPTIONS'",
        "Access-Control-Allow-Headers": "'Content-Type,Authorization'",
    }
    if credentials:
        headers["Access-Control-Allow-Credentials"] = "'true'"
    ag.put_method_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        statusCode="200",
        responseParameters={f"method.response.header.{h}": False for h in headers},
    )
    ag.put_integration_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        statusCode="200",
        responseParameters={f"method.response.header.{h}": v for h, v in headers.items()},
    )


def jwt_authorizer(t: SurfaceTarget, ag: APIGatewayClient, api_id: str, resource_id: str) -> str:
    """A REST JWT authorizer (2026) on PUT: moto keeps the authorizer, the overlay its jwtConfiguration."""
    authorizer = ag.create_authorizer(
        restApiId=api_id,
        name="orders-jwt",
        type="TOKEN",
        authorizerUri="arn:aws:apigateway:us-east-1:lambda:path/unused",
        identitySource="method.request.header.Authorization",
    )["id"]
    issuer = f"https://cognito-idp.{t.region}.amazonaws.com/{t.region}_Orders01"
    t.overlay.fields(
        t.account,
        t.region,
        "apigateway:GetAuthorizers",
        f"{api_id}/{authorizer}",
        type="JWT",
        authorizerUri=None,
        jwtConfiguration={"issuers": [{"issuer": issuer, "audiences": ["orders-web"]}], "defaultAlgorithms": ["RS256"]},
    )
    ag.put_method(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="PUT",
        authorizationType="JWT",
        authorizerId=authorizer,
    )
    ag.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="PUT",
        type="HTTP_PROXY",
        integrationHttpMethod="PUT",
        uri="https://orders.internal/orders",
    )
    return str(authorizer)


def partners_api(t: SurfaceTarget, ag: APIGatewayClient) -> str:
    """A dualstack REST API reached only through a routing rule (its default endpoint is off), whose policy
    lists IPv4 ranges only, whose backend's certificate goes unchecked, with a per-method data trace, secret-looking
    stage variables and an expiring client certificate."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
                "Condition": {"IpAddress": {"aws:SourceIp": PARTNER_RANGES}},
            }
        ],
    }
    api = ag.create_rest_api(
        name="partners",
        description="Partner status feed, routed by header on the mTLS domain",
        endpointConfiguration={"types": ["REGIONAL"]},
        policy=json.dumps(policy),
        disableExecuteApiEndpoint=True,
        tags={"owner": f"{t.brand}-platform", "service": "partners"},
    )
    api_id = str(api["id"])
    t.overlay.fields(
        t.account,
        t.region,
        "apigateway:GetRestApis",
        api_id,
        endpointConfiguration={"ipAddressType": "dualstack"},
        securityPolicy="SecurityPolicy_TLS13_1_3_2025_09",
        endpointAccessMode="STRICT",
        apiStatus="AVAILABLE",
    )
    status = ag.create_resource(restApiId=api_id, parentId=api["rootResourceId"], pathPart="status")["id"]
    ag.put_method(restApiId=api_id, resourceId=status, httpMethod="GET", authorizationType="AWS_IAM")
    ag.put_integration(
        restApiId=api_id,
        resourceId=status,
        httpMethod="GET",
        type="HTTP_PROXY",
        integrationHttpMethod="GET",
        uri="https://status.partners.internal/status",
        tlsConfig={"insecureSkipVerification": True},
        timeoutInMillis=5000,
    )
    ag.create_deployment(restApiId=api_id, stageName="prod", variables=SECRET_VARIABLES)
    ag.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "ERROR"},
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "20"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "40"},
            {"op": "replace", "path": "/~1status/GET/logging/dataTrace", "value": "true"},
            {"op": "replace", "path": "/tracingEnabled", "value": "true"},
        ],
    )
    certificate = t.overlay.client_certificate(
        t.account,
        t.region,
        description="partners backend",
        createdDate=time.time() - 353 * DAY,
        expirationDate=time.time() + CERTIFICATE_DAYS_LEFT * DAY,
    )
    t.overlay.fields(t.account, t.region, "apigateway:GetStages", f"{api_id}/prod", clientCertificateId=certificate)
    return api_id


def routing_rule(t: SurfaceTarget, domain: str, api_id: str) -> None:
    """Requests to the domain carrying `x-partner: *` go to the partners API; the rest to its mappings."""
    # Each API spells the mode its own way.
    t.overlay.fields(
        t.account, t.region, "apigateway:GetDomainNames", domain, routingMode="ROUTING_RULE_THEN_BASE_PATH_MAPPING"
    )
    t.overlay.fields(
        t.account, t.region, "apigatewayv2:GetDomainNames", domain, routingMode="ROUTING_RULE_THEN_API_MAPPING"
    )
    rule: dict[str, Any] = {
        "priority": 10,
        "conditions": [{"matchHeaders": {"anyOf": [{"header": "x-partner", "valueGlob": "*"}]}}],
        "actions": [{"invokeApi": {"apiId": api_id, "stage": "prod", "stripBasePath": False}}],
    }
    t.overlay.routing_rule(t.account, t.region, domain, rule)


def private_domain(t: SurfaceTarget, ledger_id: str, peer_account: str) -> str:
    """The private ledger API behind a private custom domain, associated with this account's VPC endpoint and
    with one in `peer_account`."""
    own_vpce = f"vpce-0{t.account[:4]}d1234567890"
    name = f"ledger.internal.{t.brand}.example.com"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
                "Condition": {"StringEquals": {"aws:SourceVpce": own_vpce}},
            }
        ],
    }
    management = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [t.account, peer_account]},
                "Action": "apigateway:CreateAccessAssociation",
                "Resource": "*",
            }
        ],
    }
    created = t.overlay.private_domain(
        t.account,
        t.region,
        name,
        policy=json.dumps(policy),
        managementPolicy=json.dumps(management),
        certificateArn=f"arn:aws:acm:{t.region}:{t.account}:certificate/private-ledger",
        mappings=[{"basePath": "(none)", "restApiId": ledger_id, "stage": "prod"}],
        tags={"owner": f"{t.brand}-platform"},
    )
    arn = created["domainNameArn"]
    t.overlay.access_association(t.account, t.region, arn, own_vpce)
    t.overlay.access_association(peer_account, t.region, arn, f"vpce-0{peer_account[:4]}e1234567890")
    return name


def draft_http_api(v2: Any) -> str:
    """An HTTP API not deployed yet whose route has no authorization: nobody can call it today, and the first
    deployment makes it public."""
    api_id = str(v2.create_api(Name="payments-next", ProtocolType="HTTP")["ApiId"])
    v2.create_route(ApiId=api_id, RouteKey="GET /preview", AuthorizationType="NONE")
    return api_id
