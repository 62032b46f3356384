"""Entry points beside API Gateway: their verdicts, their changes, and the map that links what fronts what."""

from __future__ import annotations

from api_discovery.analysis import entry_map
from api_discovery.analysis.diff import compute_changes
from api_discovery.analysis.findings import CATALOGUE
from api_discovery.collect.budget import Rates, service_budget_key
from api_discovery.inventory.model import Origin, ScanError
from api_discovery.targets import global_region
from tests.unit.estate_factory import REGION, api, entry_point, function_url, listener, route, snapshot

OPEN_POLICY_URL = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "FunctionURLAllowPublicAccess",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunctionUrl",
            "Resource": "*",
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
        }
    ],
}


def _verdict(entry: object) -> str:
    exposure = getattr(entry, "exposure", None)
    return exposure.verdict if exposure else "unset"


def _balancer(*listeners: object, name: str = "lb", **extra: object) -> object:
    extra.setdefault("scheme", "internet-facing")
    extra.setdefault("subtype", "application")
    return entry_point("LOAD_BALANCER", name, listeners=list(listeners), **extra)


def test_appsync_takes_its_weakest_auth_mode() -> None:
    assert _verdict(entry_point("APPSYNC_GRAPHQL", authentication=["AWS_IAM", "API_KEY"])) == "public-api-key-only"
    assert (
        _verdict(entry_point("APPSYNC_GRAPHQL", authentication=["AMAZON_COGNITO_USER_POOLS"])) == "public-authenticated"
    )
    assert _verdict(entry_point("APPSYNC_GRAPHQL", scheme="PRIVATE", authentication=["API_KEY"])) == "private"
    assert _verdict(entry_point("APPSYNC_EVENTS", authentication=[])) == "unknown"
    assert _verdict(entry_point("APPSYNC_DOMAIN")) == "unknown"  # GetApiAssociation is outside SecurityAudit


def test_a_load_balancer_takes_its_most_exposed_listener() -> None:
    authenticated = listener(443, "HTTPS", "authenticate-oidc", "forward")
    redirect = listener(80, "HTTP", "redirect", redirect_protocol="HTTPS")
    assert _verdict(_balancer(authenticated, redirect)) == "public-authenticated"
    assert _verdict(_balancer(redirect)) == "unreachable"
    # One rule that forwards without authenticating opens the listener.
    leaky = listener(443, "HTTPS", "authenticate-cognito", "forward", rules=2, unauthenticated_rules=1)
    assert _verdict(_balancer(leaky, redirect)) == "public-unauthenticated"
    assert _verdict(_balancer(listener(443, "TCP", "forward"), subtype="network")) == "public-unauthenticated"
    assert _verdict(_balancer(listener(443, "TCP", "forward"), scheme="internal")) == "private"
    assert _verdict(_balancer()) == "unreachable"


def test_a_distribution_is_public_unless_disabled_or_signed() -> None:
    assert _verdict(entry_point("CLOUDFRONT", hosts=["d1.cloudfront.net"], enabled=True)) == "public-unauthenticated"
    assert _verdict(entry_point("CLOUDFRONT", enabled=False)) == "unreachable"
    signed = entry_point("CLOUDFRONT", enabled=True, authentication=["signed-urls"])
    assert _verdict(signed) == "public-authenticated"


def test_entry_point_changes_use_the_api_contracts() -> None:
    keyed = entry_point("APPSYNC_GRAPHQL", "orders", id="a1", authentication=["API_KEY"])
    before = snapshot([], entry_points=[keyed, entry_point("LOAD_BALANCER", "old", scheme="internal")])
    iam = entry_point("APPSYNC_GRAPHQL", "orders", id="a1", authentication=["AWS_IAM"])
    after = snapshot([], entry_points=[iam], api_calls={"appsync:ListGraphqlApis": 1, "elbv2:DescribeLoadBalancers": 1})
    changes = {(c.type, c.api_kind, c.api_id) for c in compute_changes(before, after)}
    assert ("entry_point_changed", "APPSYNC_GRAPHQL", "a1") in changes
    assert ("route_exposure_changed", "APPSYNC_GRAPHQL", "a1") in changes
    assert ("api_removed", "LOAD_BALANCER", "old") in changes
    changed = next(c for c in compute_changes(before, after) if c.type == "entry_point_changed")
    assert changed.before == {"authentication": ["API_KEY"]} and changed.after == {"authentication": ["AWS_IAM"]}


def test_no_entry_point_is_gone_unless_its_kind_was_listed_without_error() -> None:
    site = entry_point("CLOUDFRONT", "site", enabled=True, hosts=["d1.cloudfront.net"])
    balancer = entry_point("LOAD_BALANCER", "lb", scheme="internal")
    before = snapshot([], entry_points=[site, balancer])
    # A region that does not read CloudFront (not the account's global region) says nothing of distributions.
    elsewhere = snapshot([], api_calls={"elbv2:DescribeLoadBalancers": 1})
    assert {(c.type, c.api_id) for c in compute_changes(before, elsewhere)} == {("api_removed", "lb")}
    # A refused list leaves its kind unknown.
    refused = ScanError(kind="permission", operation="elbv2:DescribeLoadBalancers", resource="lb", code="x", message="")
    blind = snapshot([], api_calls={"elbv2:DescribeLoadBalancers": 1}, errors=[refused])
    assert [c for c in compute_changes(before, blind) if c.type == "api_removed"] == []
    # A partial scan never reports a removal.
    partial = snapshot([], status="partial", api_calls={"elbv2:DescribeLoadBalancers": 1})
    assert [c for c in compute_changes(before, partial) if c.type == "api_removed"] == []


def _distribution(*origins: Origin, **extra: object) -> object:
    extra.setdefault("hosts", ["d1.cloudfront.net", "shop.example.com"])
    extra.setdefault("enabled", True)
    return entry_point("CLOUDFRONT", "shop", id="E1", origins=list(origins), **extra)


def test_the_map_links_a_distribution_to_what_it_fronts_and_finds_the_way_around() -> None:
    open_api = api("abc", routes=[route(auth="NONE")])
    url = function_url("hooks", policy=OPEN_POLICY_URL, url="https://hooks1.lambda-url.us-east-1.on.aws/")
    origins = [
        Origin(id="api", domain_name=f"abc.execute-api.{REGION}.amazonaws.com", origin_path="/prod"),
        Origin(id="hooks", domain_name="hooks1.lambda-url.us-east-1.on.aws"),
    ]
    distribution = _distribution(*origins, web_acl="arn:aws:wafv2:us-east-1:1:global/webacl/edge/1")
    built = entry_map.build([snapshot([open_api], function_urls=[url], entry_points=[distribution])])
    shop = built.entry("shop.example.com")
    assert shop is not None and shop.host == "shop.example.com" and "d1.cloudfront.net" in shop.hosts
    assert sorted(shop.fronts) == [f"abc.execute-api.{REGION}.amazonaws.com", "hooks1.lambda-url.us-east-1.on.aws"]
    fronted = built.entry(f"abc.execute-api.{REGION}.amazonaws.com")
    assert fronted is not None and fronted.fronted_by == ["E1"]
    bypass = sorted((f.evidence["origin_kind"], f.evidence["direct_verdict"]) for _, _, f in built.findings)
    assert bypass == [("API_GATEWAY_REST", "public-unauthenticated"), ("FUNCTION_URL", "public-unauthenticated")]
    (first, *_) = [f for _, _, f in built.findings]
    rule = CATALOGUE["cloudfront-origin-bypass"]
    assert first.severity == rule.severity and set(first.evidence) == set(rule.evidence)
    assert first.evidence["distribution_web_acl"] == "arn:aws:wafv2:us-east-1:1:global/webacl/edge/1"


def test_an_origin_closed_on_its_own_is_no_bypass_and_says_it_is_reached_through_cloudfront() -> None:
    closed = api("abc", routes=[route(auth="NONE")], default_endpoint=False)
    iam_url = function_url("hooks", auth="AWS_IAM", url="https://hooks1.lambda-url.us-east-1.on.aws/")
    origins = [
        Origin(id="api", domain_name=f"abc.execute-api.{REGION}.amazonaws.com"),
        Origin(id="hooks", domain_name="hooks1.lambda-url.us-east-1.on.aws", origin_access_control="oac1"),
    ]
    built = entry_map.build([snapshot([closed], function_urls=[iam_url], entry_points=[_distribution(*origins)])])
    assert built.findings == []
    fronted = built.entry(f"abc.execute-api.{REGION}.amazonaws.com")
    assert fronted is not None and fronted.verdict == "unreachable"
    assert fronted.note == "unreachable directly; reached through CloudFront E1 (public-unauthenticated)"
    # A disabled distribution opens nothing: no note, no finding.
    disabled = _distribution(*origins, enabled=False)
    quiet = entry_map.build([snapshot([closed], entry_points=[disabled])])
    assert quiet.findings == [] and quiet.entry(f"abc.execute-api.{REGION}.amazonaws.com").note is None  # type: ignore[union-attr]


def test_a_host_served_by_several_services_is_one_entry() -> None:
    balancer = entry_point(
        "LOAD_BALANCER",
        "web",
        scheme="internet-facing",
        subtype="application",
        hosts=["web-1.us-east-1.elb.amazonaws.com"],
        listeners=[listener(443, "HTTPS", "authenticate-oidc", "forward")],
    )
    origin = Origin(id="web", domain_name="dualstack.web-1.us-east-1.elb.amazonaws.com")
    site = _distribution(origin, hosts=["d1.cloudfront.net", "shop.example.com"])
    appsync_domain = entry_point("APPSYNC_DOMAIN", "shop.example.com", hosts=["shop.example.com"])
    built = entry_map.build([snapshot([], entry_points=[balancer, site, appsync_domain])])
    shops = [e for e in built.entries if "shop.example.com" in e.hosts]
    assert len(shops) == 1
    assert {w.kind for w in shops[0].ways} == {"CLOUDFRONT", "APPSYNC_DOMAIN"}
    assert shops[0].verdict == "public-unauthenticated"  # the most exposed of its ways
    web = built.entry("web-1.us-east-1.elb.amazonaws.com")
    assert web is not None and web.fronted_by == ["E1"]
    assert built.findings == []  # a load balancer's security groups are not read: no bypass is claimed


def test_every_estate_rule_is_judged_by_the_map() -> None:
    assert {r.id for r in CATALOGUE.values() if r.scope == "estate"} == {"cloudfront-origin-bypass"}


def test_each_service_paces_on_its_own_share_of_its_quota() -> None:
    rates = Rates.of_quota(0.6)
    assert rates.for_service("elbv2").rate == rates.rate and rates.for_service("elbv2").burst == rates.burst
    assert rates.for_service("appsync").rate == rates.rate / 2
    assert rates.for_service("lambda") == rates.for_lambda()
    assert service_budget_key("cloudfront", "111111111111", "eu-west-1") == "cloudfront:111111111111"
    assert service_budget_key("appsync", "111111111111", "eu-west-1") == "appsync:111111111111/eu-west-1"


def test_the_global_region_is_us_east_1_or_else_the_first() -> None:
    assert global_region(["eu-west-1", "us-east-1"]) == "us-east-1"
    assert global_region(["eu-west-1", "ap-south-1"]) == "ap-south-1"
    assert global_region(["us-gov-west-1"]) is None  # no CloudFront in GovCloud
