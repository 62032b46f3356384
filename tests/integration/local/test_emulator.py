"""The emulator over HTTP with botocore: AWS paging, v2 GetAuthorizers, IAM-like refusals, the demo estate."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from api_discovery.local.demo_estate import TargetCounts, account_session, deny_demo_account, seed_demo_estate
from api_discovery.local.emulator import Emulator, RecordedRequest

A, B = "111111111111", "222222222222"
REGION = "eu-west-1"


def _clients(emulator: Emulator, account: str, region: str = REGION) -> tuple[Any, Any]:
    session = account_session(emulator.url, account)
    return (
        session.client("apigateway", region_name=region, endpoint_url=emulator.url),
        session.client("apigatewayv2", region_name=region, endpoint_url=emulator.url),
    )


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _all(client: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator(operation).paginate(**params) for item in page[key]]


# --- paging ------------------------------------------------------------------------------------------------


def test_v1_rest_apis_come_25_to_a_page_and_position_reads_them_all(fresh_emulator: Emulator) -> None:
    ag, _ = _clients(fresh_emulator, A)
    created = [ag.create_rest_api(name=f"api-{i:02d}")["id"] for i in range(30)]

    first = ag.get_rest_apis()
    second = ag.get_rest_apis(position=first["position"])
    assert (len(first["items"]), len(second["items"])) == (25, 5)
    assert "position" not in second
    assert [a["id"] for a in first["items"] + second["items"]] == created

    pages = list(ag.get_paginator("get_rest_apis").paginate(PaginationConfig={"PageSize": 12}))
    assert [len(p["items"]) for p in pages] == [12, 12, 6]
    assert [a["id"] for p in pages for a in p["items"]] == created
    assert len(ag.get_rest_apis(limit=500)["items"]) == 30


def test_v1_limit_above_500_is_refused(fresh_emulator: Emulator) -> None:
    ag, _ = _clients(fresh_emulator, A)
    with pytest.raises(ClientError) as exc:
        ag.get_rest_apis(limit=501)
    assert _error(exc) == ("BadRequestException", 400)


def test_v1_resources_and_domains_page(fresh_emulator: Emulator) -> None:
    ag, _ = _clients(fresh_emulator, A)
    api = ag.create_rest_api(name="deep")
    for i in range(30):
        ag.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart=f"r{i:02d}")
    for i in range(27):
        ag.create_domain_name(domainName=f"d{i:02d}.example.com", regionalCertificateArn="arn:aws:acm:x")

    first = ag.get_resources(restApiId=api["id"], embed=["methods"])
    assert len(first["items"]) == 25
    assert first["position"]
    paths = [r["path"] for r in _all(ag, "get_resources", "items", restApiId=api["id"], embed=["methods"])]
    assert paths == ["/"] + [f"/r{i:02d}" for i in range(30)]
    assert len(ag.get_resources(restApiId=api["id"], limit=500)["items"]) == 31

    assert len(ag.get_domain_names()["items"]) == 25
    assert len(_all(ag, "get_domain_names", "items")) == 27


def test_v1_stages_are_not_paged(fresh_emulator: Emulator) -> None:
    ag, _ = _clients(fresh_emulator, A)
    api_created = ag.create_rest_api(name="many-stages")
    api = api_created["id"]
    root = api_created["rootResourceId"]
    ag.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    ag.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    deployment = ag.create_deployment(restApiId=api, stageName="s00")["id"]
    for i in range(1, 27):
        ag.create_stage(restApiId=api, stageName=f"s{i:02d}", deploymentId=deployment)
    stages = ag.get_stages(restApiId=api)
    assert len(stages["item"]) == 27
    assert "position" not in stages


def test_v2_apis_routes_and_domains_page_with_next_token(fresh_emulator: Emulator) -> None:
    _, v2 = _clients(fresh_emulator, A)
    created = [
        v2.create_api(Name=f"api-{i:02d}", ProtocolType="HTTP" if i % 3 else "WEBSOCKET")["ApiId"] for i in range(27)
    ]
    first = v2.get_apis()
    assert len(first["Items"]) == 25
    rest = v2.get_apis(NextToken=first["NextToken"])
    assert "NextToken" not in rest
    assert [a["ApiId"] for a in first["Items"] + rest["Items"]] == created
    pages = list(v2.get_paginator("get_apis").paginate(PaginationConfig={"PageSize": "10"}))
    assert [len(p["Items"]) for p in pages] == [10, 10, 7]

    api = created[1]
    keys = [f"GET /items/{i:02d}" for i in range(30)]
    for key in keys:
        v2.create_route(ApiId=api, RouteKey=key)
    assert len(v2.get_routes(ApiId=api)["Items"]) == 25
    assert [r["RouteKey"] for r in _all(v2, "get_routes", "Items", ApiId=api)] == keys

    for i in range(26):
        v2.create_domain_name(DomainName=f"v2-{i:02d}.example.com")
    assert len(v2.get_domain_names(MaxResults="20")["Items"]) == 20
    assert len(_all(v2, "get_domain_names", "Items")) == 26


def test_v2_get_authorizers_returns_what_create_authorizer_stored_page_by_page(fresh_emulator: Emulator) -> None:
    _, v2 = _clients(fresh_emulator, A)
    api = v2.create_api(Name="secured", ProtocolType="HTTP")["ApiId"]
    other = v2.create_api(Name="other", ProtocolType="HTTP")["ApiId"]
    v2.create_authorizer(
        ApiId=other,
        Name="elsewhere",
        AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Issuer": "https://other.example.com", "Audience": ["x"]},
    )
    created = [
        v2.create_authorizer(
            ApiId=api,
            Name=f"jwt-{i}",
            AuthorizerType="JWT",
            IdentitySource=["$request.header.Authorization"],
            JwtConfiguration={"Issuer": f"https://issuer{i}.example.com", "Audience": ["app"]},
        )["AuthorizerId"]
        for i in range(3)
    ]
    created.append(
        v2.create_authorizer(
            ApiId=api,
            Name="lambda",
            AuthorizerType="REQUEST",
            AuthorizerUri="arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:"
            "eu-west-1:111111111111:function:auth/invocations",
            AuthorizerPayloadFormatVersion="2.0",
            IdentitySource=["$request.header.x-token"],
        )["AuthorizerId"]
    )

    pages = list(v2.get_paginator("get_authorizers").paginate(ApiId=api, PaginationConfig={"PageSize": "3"}))
    assert [len(p["Items"]) for p in pages] == [3, 1]
    listed = [a for p in pages for a in p["Items"]]
    stored = []
    for authorizer_id in created:
        one = v2.get_authorizer(ApiId=api, AuthorizerId=authorizer_id)
        one.pop("ResponseMetadata")
        stored.append(one)
    assert listed == stored
    assert listed[0]["JwtConfiguration"]["Issuer"] == "https://issuer0.example.com"

    with pytest.raises(ClientError) as exc:
        v2.get_authorizers(ApiId="nosuchapi")
    assert _error(exc) == ("NotFoundException", 404)


# --- refusals ----------------------------------------------------------------------------------------------


def test_deny_assume_role_refuses_only_that_role(fresh_emulator: Emulator) -> None:
    denied = f"arn:aws:iam::{B}:role/ApiDiscoveryReadOnly"
    fresh_emulator.deny_assume_role(denied)
    sts = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing").client(
        "sts", region_name=REGION, endpoint_url=fresh_emulator.url
    )

    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=denied, RoleSessionName="api-discovery", ExternalId="ext-1")
    assert _error(exc) == ("AccessDenied", 403)
    assert denied in str(exc.value)

    for allowed in (f"arn:aws:iam::{A}:role/ApiDiscoveryReadOnly", f"arn:aws:iam::{B}:role/SomethingElse"):
        assert sts.assume_role(RoleArn=allowed, RoleSessionName="api-discovery")["Credentials"]["AccessKeyId"]


def test_deny_operation_refuses_only_that_account_and_operation(fresh_emulator: Emulator) -> None:
    fresh_emulator.deny_operation(A, "apigateway:GetStages")
    fresh_emulator.deny_operation(A, "apigatewayv2:GetRoutes")
    clients = {account: _clients(fresh_emulator, account) for account in (A, B)}
    ids = {}
    for account, (ag, v2) in clients.items():
        ids[account] = (ag.create_rest_api(name="r")["id"], v2.create_api(Name="h", ProtocolType="HTTP")["ApiId"])

    ag, v2 = clients[A]
    rest_id, http_id = ids[A]
    with pytest.raises(ClientError) as exc:
        ag.get_stages(restApiId=rest_id)
    assert _error(exc) == ("AccessDeniedException", 403)
    with pytest.raises(ClientError) as exc:
        v2.get_routes(ApiId=http_id)
    assert _error(exc) == ("AccessDeniedException", 403)
    # The same account's other reads, and v2's GetStages (another service's operation), still answer.
    assert ag.get_rest_apis()["items"]
    assert ag.get_resources(restApiId=rest_id)["items"]
    assert v2.get_stages(ApiId=http_id)["Items"] == []

    ag, v2 = clients[B]
    rest_id, http_id = ids[B]
    assert ag.get_stages(restApiId=rest_id)["item"] == []
    assert v2.get_routes(ApiId=http_id)["Items"] == []

    # botocore does not retry a refusal: exactly one request, recorded with its account and status.
    refused = [r for r in fresh_emulator.requests if r.status == 403]
    assert refused == [
        RecordedRequest(A, "apigateway:GetStages", 403),
        RecordedRequest(A, "apigatewayv2:GetRoutes", 403),
    ]
    assert fresh_emulator.requests.counts(B)["apigateway:GetStages"] == 1


def test_deny_operation_wants_a_service_and_an_operation(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="apigateway:GetStages"):
        emulator.deny_operation(A, "GetStages")


def test_the_request_log_names_account_and_operation(fresh_emulator: Emulator) -> None:
    ag, v2 = _clients(fresh_emulator, B)
    ag.get_rest_apis()
    v2.get_apis()
    v2.get_domain_names()
    assert fresh_emulator.requests.counts(B) == {
        "apigateway:GetRestApis": 1,
        "apigatewayv2:GetApis": 1,
        "apigatewayv2:GetDomainNames": 1,
    }
    # The assumption that produced those credentials was signed by the dummy vendor key.
    assert fresh_emulator.requests.entries()[0] == RecordedRequest("123456789012", "sts:AssumeRole", 200)


def test_reset_forgets_resources_rules_and_requests(fresh_emulator: Emulator) -> None:
    ag, _ = _clients(fresh_emulator, A)
    ag.create_rest_api(name="gone")
    fresh_emulator.deny_operation(A, "apigateway:GetRestApis")
    fresh_emulator.reset()
    assert len(fresh_emulator.requests) == 0
    ag, _ = _clients(fresh_emulator, A)
    assert ag.get_rest_apis()["items"] == []


# --- the demo estate ---------------------------------------------------------------------------------------


def _private_id(domain: dict[str, Any]) -> dict[str, str]:
    return {"domainNameId": domain["domainNameId"]} if domain.get("domainNameId") else {}


def _inventory(url: str, account: str, region: str) -> TargetCounts:
    """Count what the emulator holds for one target, reading every list to its end."""
    session = account_session(url, account)
    ag = session.client("apigateway", region_name=region, endpoint_url=url)
    v2 = session.client("apigatewayv2", region_name=region, endpoint_url=url)
    rest = _all(ag, "get_rest_apis", "items")
    v2_apis = _all(v2, "get_apis", "Items")
    v1_listed = _all(ag, "get_domain_names", "items")
    v1_domains = [d["domainName"] for d in v1_listed]
    v2_domains = [d["DomainName"] for d in _all(v2, "get_domain_names", "Items")]
    # A private domain's mappings are read by its id as well.
    mappings = sum(
        len(_all(ag, "get_base_path_mappings", "items", domainName=d["domainName"], **_private_id(d)))
        for d in v1_listed
    )
    for domain in v2_domains:
        page: Any = {"NextToken": None}
        while "NextToken" in page:  # GetApiMappings has no botocore paginator
            token = {"NextToken": page["NextToken"]} if page["NextToken"] else {}
            page = v2.get_api_mappings(DomainName=domain, **token)
            mappings += len(page["Items"])
    resources = [r for api in rest for r in _all(ag, "get_resources", "items", restApiId=api["id"], embed=["methods"])]
    lam = session.client("lambda", region_name=region, endpoint_url=url)
    functions = _all(lam, "list_functions", "Functions")
    function_urls = sum(
        len(_all(lam, "list_function_url_configs", "FunctionUrlConfigs", FunctionName=f["FunctionName"]))
        for f in functions
    )
    appsync = session.client("appsync", region_name=region, endpoint_url=url)
    elb = session.client("elbv2", region_name=region, endpoint_url=url)
    entry_points = len(_all(appsync, "list_graphql_apis", "graphqlApis")) + len(_all(appsync, "list_apis", "apis"))
    entry_points += len(_all(appsync, "list_domain_names", "domainNameConfigs"))
    entry_points += len(_all(elb, "describe_load_balancers", "LoadBalancers"))
    if region == "us-east-1":  # the demo accounts' global region: CloudFront is counted there
        listed = session.client("cloudfront", region_name=region, endpoint_url=url).list_distributions()
        entry_points += len(listed["DistributionList"].get("Items") or [])
    return TargetCounts(
        entry_points=entry_points,
        rest_apis=len(rest),
        http_apis=sum(1 for a in v2_apis if a["ProtocolType"] == "HTTP"),
        websocket_apis=sum(1 for a in v2_apis if a["ProtocolType"] == "WEBSOCKET"),
        rest_methods=sum(len(r.get("resourceMethods", {})) for r in resources),
        v2_routes=sum(len(_all(v2, "get_routes", "Items", ApiId=a["ApiId"])) for a in v2_apis),
        stages=sum(len(ag.get_stages(restApiId=a["id"])["item"]) for a in rest)
        + sum(len(_all(v2, "get_stages", "Items", ApiId=a["ApiId"])) for a in v2_apis),
        authorizers=sum(len(_all(ag, "get_authorizers", "items", restApiId=a["id"])) for a in rest)
        + sum(len(_all(v2, "get_authorizers", "Items", ApiId=a["ApiId"])) for a in v2_apis),
        domains=len(set(v1_domains) | set(v2_domains)),
        mappings=mappings,
        function_urls=function_urls,
    )


def test_demo_estate_round_trips_target_by_target(fresh_emulator: Emulator) -> None:
    estate = seed_demo_estate(fresh_emulator.url)
    assert set(estate.expected) == {(a, r) for a in estate.accounts for r in estate.regions}
    assert len(estate.accounts) == 3
    assert len(set(estate.expected.values())) == len(estate.expected), "targets should differ"
    assert estate.expected[(A, "us-east-1")].apis > 25, "one target should need more than one page of APIs"
    for (account, region), expected in estate.expected.items():
        assert _inventory(fresh_emulator.url, account, region) == expected, (account, region)
    seeding = [r for r in fresh_emulator.requests if r.operation != "sts:AssumeRole"]
    assert all(r.status < 300 for r in seeding)
    assert len(seeding) <= 800


def _by_name(items: list[dict[str, Any]], key: str = "name") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def _check_rest(ag: Any) -> dict[str, dict[str, Any]]:
    rest = _by_name(_all(ag, "get_rest_apis", "items"))
    assert rest["orders"]["endpointConfiguration"]["types"] == ["REGIONAL"]
    assert rest["orders"]["tags"]["service"] == "orders"
    assert rest["catalog"]["endpointConfiguration"]["types"] == ["EDGE"]
    assert json.loads(rest["catalog"]["policy"])["Statement"][0]["Principal"] == "*"

    orders = rest["orders"]["id"]
    methods = [
        m
        for r in _all(ag, "get_resources", "items", restApiId=orders, embed=["methods"])
        for m in r.get("resourceMethods", {}).values()
    ]
    assert {m["authorizationType"] for m in methods} == {"NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS", "JWT"}
    integrations = [m["methodIntegration"] for m in methods]
    assert {i["type"] for i in integrations} == {"AWS_PROXY", "HTTP_PROXY", "MOCK"}
    (vpc_link,) = ag.get_vpc_links()["items"]
    assert [i["connectionId"] for i in integrations if i.get("connectionType") == "VPC_LINK"] == [vpc_link["id"]]
    assert any(m["apiKeyRequired"] for m in methods)
    assert any(m.get("requestValidatorId") for m in methods)
    authorizers = ag.get_authorizers(restApiId=orders)["items"]
    assert {a["type"] for a in authorizers} == {"TOKEN", "COGNITO_USER_POOLS", "JWT"}
    (jwt,) = [a for a in authorizers if a["type"] == "JWT"]
    assert jwt["jwtConfiguration"]["issuers"][0]["issuer"].startswith("https://cognito-idp.")

    stages = _by_name(ag.get_stages(restApiId=orders)["item"], "stageName")
    prod = stages["prod"]
    assert prod["webAclArn"].startswith("arn:aws:wafv2:us-east-1:111111111111:")
    assert prod["tracingEnabled"] is True
    assert prod["accessLogSettings"]["destinationArn"].startswith("arn:aws:logs:")
    settings = prod["methodSettings"]["*/*"]
    assert (settings["loggingLevel"], settings["cachingEnabled"], settings["cacheDataEncrypted"]) == (
        "INFO",
        True,
        True,
    )
    assert settings["throttlingRateLimit"] == 100.0
    assert set(prod["variables"]) == {"backendHost", "featureFlags"}
    assert stages["dev"]["deploymentId"] == prod["deploymentId"]

    plan = ag.get_usage_plans()["items"][0]
    assert plan["throttle"] and plan["quota"]["period"] == "MONTH"
    assert plan["apiStages"] == [{"apiId": orders, "stage": "prod"}]
    return rest


def _check_v2(v2: Any) -> dict[str, dict[str, Any]]:
    apis = _by_name(_all(v2, "get_apis", "Items"), "Name")
    payments, chat = apis["payments"], apis["chat"]
    assert payments["CorsConfiguration"]["AllowOrigins"] == ["https://shop.acme.example.com"]
    routes = _by_name(_all(v2, "get_routes", "Items", ApiId=payments["ApiId"]), "RouteKey")
    assert {k: r["AuthorizationType"] for k, r in routes.items()} == {
        "GET /payments": "JWT",
        "POST /payments": "CUSTOM",
        "GET /health": "NONE",
        "$default": "NONE",
    }
    authorizers = _all(v2, "get_authorizers", "Items", ApiId=payments["ApiId"])
    assert {a["AuthorizerType"] for a in authorizers} == {"JWT", "REQUEST"}
    (default_stage,) = _all(v2, "get_stages", "Items", ApiId=payments["ApiId"])
    assert (default_stage["StageName"], default_stage["AutoDeploy"]) == ("$default", True)
    chat_routes = _by_name(_all(v2, "get_routes", "Items", ApiId=chat["ApiId"]), "RouteKey")
    assert set(chat_routes) == {"$connect", "$disconnect", "sendMessage"}
    assert chat_routes["$connect"]["AuthorizationType"] == "CUSTOM"
    return apis


def _check_domains(ag: Any, v2: Any, rest: dict[str, dict[str, Any]], payments_id: str) -> None:
    domains = _by_name(_all(ag, "get_domain_names", "items"), "domainName")
    edge, regional = domains["www-api.acme.example.com"], domains["mtls.acme.example.com"]
    assert (edge["endpointConfiguration"]["types"], edge["securityPolicy"]) == (["EDGE"], "TLS_1_0")
    assert (regional["endpointConfiguration"]["types"], regional["securityPolicy"]) == (["REGIONAL"], "TLS_1_2")
    edge_mappings = _all(ag, "get_base_path_mappings", "items", domainName=edge["domainName"])
    assert {m["basePath"]: m["restApiId"] for m in edge_mappings} == {
        "(none)": rest["catalog"]["id"],
        "orders": rest["orders"]["id"],
    }
    (v2_domain,) = _all(v2, "get_domain_names", "Items")
    assert v2_domain["DomainName"] == regional["domainName"]
    assert v2_domain["MutualTlsAuthentication"]["TruststoreUri"].startswith("s3://")
    (mapping,) = v2.get_api_mappings(DomainName=regional["domainName"])["Items"]
    assert (mapping["ApiId"], mapping["Stage"], mapping["ApiMappingKey"]) == (payments_id, "$default", "pay")


def test_demo_estate_holds_every_feature_the_scanner_reports(fresh_emulator: Emulator) -> None:
    estate = seed_demo_estate(fresh_emulator.url)
    ag, v2 = _clients(fresh_emulator, A, "us-east-1")
    rest = _check_rest(ag)
    apis = _check_v2(v2)
    _check_domains(ag, v2, rest, apis["payments"]["ApiId"])

    ag_eu, v2_eu = _clients(fresh_emulator, A, "eu-west-1")
    ledger = _by_name(_all(ag_eu, "get_rest_apis", "items"))["ledger"]
    assert ledger["endpointConfiguration"]["types"] == ["PRIVATE"]
    assert "aws:SourceVpce" in ledger["policy"]
    chat_eu = _by_name(_all(v2_eu, "get_apis", "Items"), "Name")["chat"]
    connect = _by_name(_all(v2_eu, "get_routes", "Items", ApiId=chat_eu["ApiId"]), "RouteKey")["$connect"]
    assert connect["AuthorizationType"] == "NONE"

    ag_b, _ = _clients(fresh_emulator, B, "us-east-1")
    assert _by_name(_all(ag_b, "get_rest_apis", "items"))["catalog"]["disableExecuteApiEndpoint"] is True

    # The denied account's read-only role refuses the scanner; the others' do not.
    deny_demo_account(fresh_emulator, estate)
    sts = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing").client(
        "sts", region_name="us-east-1", endpoint_url=fresh_emulator.url
    )
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=estate.role_arn(estate.denied_account), RoleSessionName="api-discovery")
    assert _error(exc) == ("AccessDenied", 403)
    for account in estate.scannable_accounts:
        sts.assume_role(
            RoleArn=estate.role_arn(account), RoleSessionName="api-discovery", ExternalId=estate.external_ids[account]
        )
