"""The demo's entry points beside API Gateway, created through moto as a customer would create them.

In the account's global region: a storefront GraphQL API that only asks for an API key, a private GraphQL API,
an Event API, an AppSync custom domain; a web load balancer with a plain HTTP listener that forwards to a Lambda
function and an HTTPS listener on a TLS 1.0 policy behind OIDC (whose client secret nothing the product writes
may contain), an admin load balancer that redirects HTTP and authenticates, an internal network load balancer;
and two CloudFront distributions: one with the shop's custom domain as its alias, in front of the web load
balancer and the catalog API's default endpoint (still open: a way around the distribution), with a secret in
a custom origin header; one in front of the webhook function URL. Elsewhere, a distribution in front of an API
whose default endpoint is disabled: unreachable directly, reached through CloudFront.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

from api_discovery.local.overlay import OverlayClient

OIDC_CLIENT_SECRET = "oidc_DemoOnly_4c1d9e7a2b"
ORIGIN_HEADER_SECRET = "origin_DemoOnly_7f2a61c0e9"
WEB_ACL = "arn:aws:wafv2:us-east-1:{account}:global/webacl/storefront-edge/0b7c3f4a"


@dataclass
class Seeded:
    """How many entry points one (account, region) holds, and the hosts other seeds point at."""

    count: int = 0
    hosts: dict[str, str] = field(default_factory=dict)


class _Clients:
    def __init__(self, session: boto3.Session, endpoint_url: str | None, region: str) -> None:
        def make(service: str) -> Any:
            return session.client(service, region_name=region, endpoint_url=endpoint_url)  # type: ignore[call-overload]

        self.appsync, self.elbv2, self.ec2 = make("appsync"), make("elbv2"), make("ec2")
        self.acm, self.cloudfront, self.lambda_ = make("acm"), make("cloudfront"), make("lambda")
        self.apigateway = make("apigateway")


def seed_entry_points(
    session: boto3.Session,
    endpoint_url: str | None,
    account: str,
    region: str,
    brand: str,
    apis: dict[str, str],
) -> Seeded:
    """The full set of the account's global region: AppSync, load balancers, CloudFront."""
    c = _Clients(session, endpoint_url, region)
    seeded = Seeded()
    _appsync(c, seeded, account, region, brand, endpoint_url)
    _load_balancers(c, seeded, account, region, brand)
    _distributions(c, seeded, account, region, brand, apis)
    return seeded


def _appsync(c: _Clients, seeded: Seeded, account: str, region: str, brand: str, endpoint_url: str | None) -> None:
    c.appsync.create_graphql_api(name="storefront-graphql", authenticationType="API_KEY", tags={"team": "web"})
    c.appsync.create_graphql_api(name="inventory-graphql", authenticationType="AWS_IAM", visibility="PRIVATE")
    modes = [{"authType": "API_KEY"}, {"authType": "AWS_IAM"}]
    c.appsync.create_api(
        name="live-updates",
        eventConfig={
            "authProviders": modes,
            "connectionAuthModes": modes,
            "defaultPublishAuthModes": [{"authType": "AWS_IAM"}],
            "defaultSubscribeAuthModes": modes,
        },
    )
    seeded.count += 3
    if endpoint_url is not None:  # moto has no AppSync domains: the emulator's overlay holds them
        OverlayClient(endpoint_url).appsync_domain(account, region, f"graphql.{brand}.example.com")
        seeded.count += 1


def _load_balancers(c: _Clients, seeded: Seeded, account: str, region: str, brand: str) -> None:
    vpc = c.ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        c.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{region}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab", start=1)
    ]
    certificate = c.acm.request_certificate(DomainName=f"shop.{brand}.example.com")["CertificateArn"]
    checkout = c.lambda_.get_function(FunctionName="webhooks")["Configuration"]["FunctionArn"]
    group = c.elbv2.create_target_group(Name="checkout-fn", TargetType="lambda")["TargetGroups"][0]["TargetGroupArn"]
    c.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": checkout}])
    oidc = {
        "Type": "authenticate-oidc",
        "Order": 1,
        "AuthenticateOidcConfig": {
            "Issuer": f"https://login.{brand}.example.com",
            "AuthorizationEndpoint": f"https://login.{brand}.example.com/authorize",
            "TokenEndpoint": f"https://login.{brand}.example.com/token",
            "UserInfoEndpoint": f"https://login.{brand}.example.com/userinfo",
            "ClientId": "shop-web",
            "ClientSecret": OIDC_CLIENT_SECRET,
        },
    }
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": group}
    web = c.elbv2.create_load_balancer(Name="shop-web", Subnets=subnets, Scheme="internet-facing")["LoadBalancers"][0]
    c.elbv2.create_listener(
        LoadBalancerArn=web["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[{**forward, "Order": 1}]
    )
    c.elbv2.create_listener(
        LoadBalancerArn=web["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        SslPolicy="ELBSecurityPolicy-TLS-1-0-2015-04",
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[oidc, forward],
    )
    seeded.hosts["shop-web"] = str(web["DNSName"]).lower()
    admin = c.elbv2.create_load_balancer(Name="shop-admin", Subnets=subnets, Scheme="internet-facing")
    admin_arn = admin["LoadBalancers"][0]["LoadBalancerArn"]
    redirect = {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
    c.elbv2.create_listener(
        LoadBalancerArn=admin_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "redirect", "RedirectConfig": redirect}],
    )
    c.elbv2.create_listener(
        LoadBalancerArn=admin_arn,
        Protocol="HTTPS",
        Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[oidc, forward],
    )
    ledger = c.elbv2.create_load_balancer(Name="ledger-nlb", Subnets=subnets, Scheme="internal", Type="network")
    ledger_group = c.elbv2.create_target_group(Name="ledger", Protocol="TCP", Port=443, VpcId=vpc)
    c.elbv2.create_listener(
        LoadBalancerArn=ledger["LoadBalancers"][0]["LoadBalancerArn"],
        Protocol="TCP",
        Port=443,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": ledger_group["TargetGroups"][0]["TargetGroupArn"]}],
    )
    seeded.count += 3


def _distributions(c: _Clients, seeded: Seeded, account: str, region: str, brand: str, apis: dict[str, str]) -> None:
    catalog = f"{apis['catalog']}.execute-api.{region}.amazonaws.com"
    origins = [
        _origin("web", f"dualstack.{seeded.hosts['shop-web']}", headers={"X-Origin-Verify": ORIGIN_HEADER_SECRET}),
        _origin("catalog", catalog, path="/prod"),
    ]
    distribution(
        c.cloudfront,
        "storefront",
        origins,
        aliases=[f"shop.{brand}.example.com"],
        web_acl=WEB_ACL.format(account=account),
    )
    hooks = c.lambda_.get_function_url_config(FunctionName="webhooks")["FunctionUrl"]
    host = hooks.split("://", 1)[-1].split("/", 1)[0]
    distribution(c.cloudfront, "webhooks-edge", [_origin("hooks", host)])
    seeded.count += 2


def seed_unreachable_origin(session: boto3.Session, endpoint_url: str | None, region: str, api_id: str) -> Seeded:
    """A distribution in front of an API whose default endpoint is disabled."""
    cloudfront: Any = session.client("cloudfront", region_name=region, endpoint_url=endpoint_url)
    host = f"{api_id}.execute-api.{region}.amazonaws.com"
    distribution(cloudfront, "legacy-catalog", [_origin("catalog", host, path="/prod")])
    return Seeded(count=1)


def _origin(origin_id: str, domain: str, path: str = "", headers: dict[str, str] | None = None) -> dict[str, Any]:
    items = [{"HeaderName": k, "HeaderValue": v} for k, v in (headers or {}).items()]
    return {
        "Id": origin_id,
        "DomainName": domain,
        "OriginPath": path,
        "CustomHeaders": {"Quantity": len(items), "Items": items},
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
    }


def distribution(
    cloudfront: Any,
    name: str,
    origins: list[dict[str, Any]],
    aliases: list[str] | None = None,
    web_acl: str | None = None,
    enabled: bool = True,
) -> str:
    config: dict[str, Any] = {
        "CallerReference": name,
        "Comment": name,
        "Enabled": enabled,
        "Aliases": {"Quantity": len(aliases or []), "Items": aliases or []},
        "Origins": {"Quantity": len(origins), "Items": origins},
        "DefaultCacheBehavior": {
            "TargetOriginId": origins[0]["Id"],
            "ViewerProtocolPolicy": "redirect-to-https",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        },
    }
    if web_acl:
        config["WebACLId"] = web_acl
    return str(cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"])
