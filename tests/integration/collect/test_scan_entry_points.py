"""AppSync, load balancers and CloudFront, through the emulator: every list read to its end in the largest pages,
one verdict per entry point, their findings, CloudFront read only by the account's global region, and no
secret an answer holds (OIDC client secrets, custom origin header values) anywhere in what the scan keeps."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from api_discovery.inventory.model import Snapshot
from api_discovery.local.demo_entry_points import distribution
from api_discovery.local.emulator import Emulator
from api_discovery.local.overlay import OverlayClient
from api_discovery.steps.target_scan import scan_target
from api_discovery.targets import Target
from tests.integration.builders import Builder, options

ACCOUNT, REGION = "410987654321", "us-east-1"
CLIENT_SECRET = "oidc-secret-5b1e0c7d9a"
HEADER_SECRET = "origin-verify-2f7c9e1a0b"


def _scan(emulator: Emulator, monkeypatch: pytest.MonkeyPatch, *, global_services: bool) -> Snapshot:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    target = Target(
        run_id="run-1",
        account_id=ACCOUNT,
        region=REGION,
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/ApiDiscoveryReadOnly",
        external_id="ext-1",
        global_services=global_services,
    )
    return scan_target(target, session_factory=boto3.Session, options=options())


def _client(b: Builder, service: str) -> Any:
    return b.session.client(service, endpoint_url=b.endpoint_url, region_name=REGION)  # type: ignore[call-overload]


def _balancer(b: Builder) -> dict[str, str]:
    ec2, elb, acm = _client(b, "ec2"), _client(b, "elbv2"), _client(b, "acm")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for i, z in enumerate("ab", start=1)
    ]
    certificate = acm.request_certificate(DomainName="shop.example.com")["CertificateArn"]
    b.function("checkout")
    function = b.lambda_.get_function(FunctionName="checkout")["Configuration"]["FunctionArn"]
    group = elb.create_target_group(Name="checkout", TargetType="lambda")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": function}])
    web = elb.create_load_balancer(Name="web", Subnets=subnets, Scheme="internet-facing")["LoadBalancers"][0]
    forward = {"Type": "forward", "TargetGroupArn": group}
    elb.create_listener(LoadBalancerArn=web["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[forward])
    oidc = {
        "Type": "authenticate-oidc",
        "Order": 1,
        "AuthenticateOidcConfig": {
            "Issuer": "https://idp.example.com",
            "AuthorizationEndpoint": "https://idp.example.com/authorize",
            "TokenEndpoint": "https://idp.example.com/token",
            "UserInfoEndpoint": "https://idp.example.com/userinfo",
            "ClientId": "web",
            "ClientSecret": CLIENT_SECRET,
        },
    }
    elb.create_listener(
        LoadBalancerArn=web["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[oidc, {**forward, "Order": 2}],
    )
    safe = elb.create_load_balancer(Name="safe", Subnets=subnets, Scheme="internet-facing")["LoadBalancers"][0]
    redirect = {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
    elb.create_listener(
        LoadBalancerArn=safe["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "redirect", "RedirectConfig": redirect}],
    )
    elb.create_listener(
        LoadBalancerArn=safe["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        SslPolicy="ELBSecurityPolicy-TLS-1-1-2017-01",
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )
    return {"web": str(web["DNSName"]).lower(), "function": function}


def test_every_entry_point_is_found_with_its_exposure_findings_and_no_secret(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    appsync = _client(b, "appsync")
    # More GraphQL APIs than one page of 25: the list must be read to its end.
    for i in range(27):
        appsync.create_graphql_api(name=f"graph-{i:02d}", authenticationType="AMAZON_COGNITO_USER_POOLS")
    appsync.create_graphql_api(name="keyed", authenticationType="API_KEY")
    appsync.create_graphql_api(name="inside", authenticationType="API_KEY", visibility="PRIVATE")
    events = [{"authType": "AWS_IAM"}]
    appsync.create_api(
        name="live",
        eventConfig={
            "authProviders": events,
            "connectionAuthModes": events,
            "defaultPublishAuthModes": events,
            "defaultSubscribeAuthModes": events,
        },
    )
    OverlayClient(fresh_emulator.url).appsync_domain(ACCOUNT, REGION, "graph.example.com")
    hosts = _balancer(b)
    origin = {
        "Id": "web",
        "DomainName": f"dualstack.{hosts['web']}",
        "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": "X-Origin-Verify", "HeaderValue": HEADER_SECRET}]},
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
    }
    distribution(_client(b, "cloudfront"), "shop", [origin], aliases=["Shop.Example.com"])
    fresh_emulator.requests.clear()

    snapshot = _scan(fresh_emulator, monkeypatch, global_services=True)

    assert snapshot.status == "complete", snapshot.errors
    sent = fresh_emulator.requests.counts(ACCOUNT)
    assert snapshot.api_calls == dict(sent)
    # 29 GraphQL APIs in pages of 25; one call for each other list; rules only for application listeners.
    assert sent["appsync:ListGraphqlApis"] == 2
    assert sent["appsync:ListApis"] == sent["appsync:ListDomainNames"] == 1
    assert sent["elbv2:DescribeLoadBalancers"] == sent["elbv2:DescribeTargetGroups"] == 1
    assert sent["elbv2:DescribeListeners"] == 2 and sent["elbv2:DescribeRules"] == 4
    assert sent["elbv2:DescribeTargetHealth"] == 1  # the one Lambda target group
    assert sent["cloudfront:ListDistributions"] == 1
    by_name = {(e.kind, e.name): e for e in snapshot.entry_points}
    verdicts = {k: e.exposure.verdict for k, e in by_name.items() if e.exposure}
    assert verdicts[("APPSYNC_GRAPHQL", "keyed")] == "public-api-key-only"
    assert verdicts[("APPSYNC_GRAPHQL", "graph-00")] == "public-authenticated"
    assert verdicts[("APPSYNC_GRAPHQL", "inside")] == "private"
    assert verdicts[("APPSYNC_EVENTS", "live")] == "public-authenticated"
    assert verdicts[("APPSYNC_DOMAIN", "graph.example.com")] == "unknown"
    assert verdicts[("LOAD_BALANCER", "web")] == "public-unauthenticated"  # its HTTP listener forwards
    assert verdicts[("LOAD_BALANCER", "safe")] == "unreachable"  # it only redirects and answers 404
    assert verdicts[("CLOUDFRONT", "shop")] == "public-unauthenticated"
    assert len([k for k in by_name if k[0] == "APPSYNC_GRAPHQL"]) == 29
    web = by_name[("LOAD_BALANCER", "web")]
    assert web.behind == [hosts["function"]]
    shop = by_name[("CLOUDFRONT", "shop")]
    assert "shop.example.com" in shop.hosts and shop.origins[0].custom_header_names == ["X-Origin-Verify"]

    rules = {(f.rule_id, f.resource) for f in snapshot.findings}
    keyed = next(e for e in snapshot.entry_points if e.name == "keyed")
    # API key only: the public one; not the private one, nor the Cognito ones.
    assert {r for r in rules if r[0] == "appsync-api-key-only"} == {("appsync-api-key-only", f"appsync/{keyed.id}")}
    # Without WAF: every public AppSync API (none has a web ACL), never the private one.
    assert len([r for r in rules if r[0] == "appsync-without-waf"]) == 29
    assert {r for r in rules if r[0] == "elb-http-without-redirect"} == {
        ("elb-http-without-redirect", "loadbalancer/web:80")
    }
    assert {r for r in rules if r[0] == "elb-weak-tls-policy"} == {("elb-weak-tls-policy", "loadbalancer/safe:443")}
    stored = snapshot.model_dump_json()
    assert CLIENT_SECRET not in stored and HEADER_SECRET not in stored


def test_cloudfront_is_read_by_the_global_region_only(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    origin = {
        "Id": "o",
        "DomainName": "origin.example.com",
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
    }
    distribution(_client(b, "cloudfront"), "site", [origin])
    fresh_emulator.requests.clear()

    snapshot = _scan(fresh_emulator, monkeypatch, global_services=False)

    assert snapshot.status == "complete"
    assert "cloudfront:ListDistributions" not in fresh_emulator.requests.counts(ACCOUNT)
    assert not [e for e in snapshot.entry_points if e.kind == "CLOUDFRONT"]


def test_the_secrets_are_gone_before_the_collector_sees_the_answers(
    fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hooks clear them in the parsed answers themselves: no copy is left for a log line or a later reader."""
    from api_discovery.collect.session import guarded  # noqa: PLC0415

    b = Builder(fresh_emulator.url, ACCOUNT, REGION)
    _balancer(b)
    origin = {
        "Id": "o",
        "DomainName": "origin.example.com",
        "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": "X-Secret", "HeaderValue": HEADER_SECRET}]},
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
    }
    distribution(_client(b, "cloudfront"), "site", [origin])
    elb, cloudfront = guarded(_client(b, "elbv2")), guarded(_client(b, "cloudfront"))

    balancers = elb.describe_load_balancers()["LoadBalancers"]
    listeners = [
        li for lb in balancers for li in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    ]
    rules = [r for li in listeners for r in elb.describe_rules(ListenerArn=li["ListenerArn"])["Rules"]]
    listed = cloudfront.list_distributions()

    assert any(a.get("AuthenticateOidcConfig") for li in listeners for a in li["DefaultActions"])
    assert CLIENT_SECRET not in repr(listeners) + repr(rules)
    assert "X-Secret" in repr(listed) and HEADER_SECRET not in repr(listed)
