"""The emulator's paging middleware and request identification, on fake WSGI apps: no server, no moto state."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest
from werkzeug.test import Client, EnvironBuilder

from api_discovery.local.emulator import PAGED_OPERATIONS, PagingMiddleware, identify

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIAUNKNOWNKEY000000/20260101/{region}/{service}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)


def _environ(method: str, path: str, service: str = "apigateway", **kwargs: Any) -> WSGIEnvironment:
    headers = {"Authorization": AUTH.format(region="eu-west-1", service=service), **kwargs.pop("headers", {})}
    environ = EnvironBuilder(method=method, path=path, headers=headers, **kwargs).get_environ()
    environ["RAW_URI"] = path  # what werkzeug's server provides: the path before percent-decoding
    return environ


class FakeList:
    """Stands in for moto: answers every request with the whole list, as moto does."""

    def __init__(self, key: str, count: int, status: str = "200 OK") -> None:
        self.key, self.count, self.status = key, count, status
        self.calls = 0

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self.calls += 1
        body = json.dumps({self.key: [{"id": f"i{n:03d}"} for n in range(self.count)]}).encode()
        start_response(self.status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def _get(app: Any, path: str, query: dict[str, str] | None = None) -> tuple[int, dict[str, Any], Any]:
    client = Client(app)
    headers = {"Authorization": AUTH.format(region="eu-west-1", service="apigateway")}
    response = client.get(path, query_string=query or {}, headers=headers)
    return response.status_code, dict(response.headers), json.loads(response.get_data() or b"null")


def _read_all(app: Any, path: str, size_param: str, token_param: str, key: str, size: str | None) -> list[Any]:
    pages, token = [], None
    while True:
        query = {size_param: size} if size else {}
        if token:
            query[token_param] = token
        status, _, body = _get(app, path, query)
        assert status == 200
        pages.append(body[key])
        token = body.get(token_param)
        if not token:
            return pages


# --- v1: limit / position, body key "item" -------------------------------------------------------------


def test_v1_default_page_is_25_and_position_leads_to_every_item_once_in_order() -> None:
    app = PagingMiddleware(FakeList("item", 60))
    pages = _read_all(app, "/restapis", "limit", "position", "item", None)
    assert [len(p) for p in pages] == [25, 25, 10]
    assert [i["id"] for p in pages for i in p] == [f"i{n:03d}" for n in range(60)]


@pytest.mark.parametrize("limit, sizes", [("7", [7, 7, 6]), ("20", [20]), ("500", [20])])
def test_v1_limit_sets_the_page_size(limit: str, sizes: list[int]) -> None:
    app = PagingMiddleware(FakeList("item", 20))
    pages = _read_all(app, "/restapis/abc/resources", "limit", "position", "item", limit)
    assert [len(p) for p in pages] == sizes


@pytest.mark.parametrize("limit", ["501", "0", "-1", "many"])
def test_v1_limit_out_of_range_is_refused_like_aws(limit: str) -> None:
    inner = FakeList("item", 3)
    status, headers, body = _get(PagingMiddleware(inner), "/restapis", {"limit": limit})
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "BadRequestException"
    assert "limit" in body["message"]
    assert inner.calls == 0


def test_a_position_from_another_list_or_garbage_is_refused() -> None:
    app = PagingMiddleware(FakeList("item", 30))
    _, _, first = _get(app, "/restapis")
    status, _, _ = _get(app, "/domainnames", {"position": first["position"]})
    assert status == 400
    status, _, _ = _get(app, "/restapis", {"position": "not-a-token!"})
    assert status == 400


def test_the_last_page_carries_no_position() -> None:
    app = PagingMiddleware(FakeList("item", 25))
    _, _, body = _get(app, "/usageplans")
    assert len(body["item"]) == 25
    assert "position" not in body


def test_v1_get_stages_is_never_paged() -> None:
    # AWS returns every stage of a REST API in one answer and accepts no limit there.
    _, _, body = _get(PagingMiddleware(FakeList("item", 40)), "/restapis/abc/stages")
    assert len(body["item"]) == 40
    assert "position" not in body


def test_errors_pass_through_untouched() -> None:
    _, _, body = _get(PagingMiddleware(FakeList("item", 40, status="404 Not Found")), "/restapis/abc/resources")
    assert len(body["item"]) == 40


# --- v2: maxResults / nextToken, body key "items" -------------------------------------------------------


def test_v2_default_page_is_25_with_next_token() -> None:
    app = PagingMiddleware(FakeList("items", 26))
    pages = _read_all(app, "/v2/apis", "maxResults", "nextToken", "items", None)
    assert [len(p) for p in pages] == [25, 1]


@pytest.mark.parametrize(
    "path",
    [
        "/v2/apis/a1/routes",
        "/v2/apis/a1/integrations",
        "/v2/apis/a1/authorizers",
        "/v2/apis/a1/stages",
        "/v2/domainnames",
        "/v2/domainnames/api.example.com/apimappings",
        "/v2/vpclinks",
    ],
)
def test_v2_lists_follow_max_results(path: str) -> None:
    pages = _read_all(PagingMiddleware(FakeList("items", 11)), path, "maxResults", "nextToken", "items", "4")
    assert [len(p) for p in pages] == [4, 4, 3]
    assert [i["id"] for p in pages for i in p] == [f"i{n:03d}" for n in range(11)]


def test_v2_invalid_max_results_is_refused() -> None:
    status, headers, _ = _get(PagingMiddleware(FakeList("items", 3)), "/v2/apis", {"maxResults": "ten"})
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "BadRequestException"


# --- identification --------------------------------------------------------------------------------------

V1_READS = {
    ("GET", "/restapis"): "GetRestApis",
    ("GET", "/restapis/abc123/resources"): "GetResources",
    ("GET", "/restapis/abc123/stages"): "GetStages",
    ("GET", "/restapis/abc123/authorizers"): "GetAuthorizers",
    ("GET", "/domainnames"): "GetDomainNames",
    ("GET", "/domainnames/api.example.com/basepathmappings"): "GetBasePathMappings",
    ("GET", "/usageplans"): "GetUsagePlans",
    ("GET", "/vpclinks"): "GetVpcLinks",
    ("GET", "/restapis/abc123/stages/prod"): "GetStage",
    ("GET", "/restapis/abc123/resources/r1/methods/GET"): "GetMethod",
    ("POST", "/restapis"): "CreateRestApi",
    ("POST", "/restapis?mode=import"): "ImportRestApi",
    ("PATCH", "/restapis/abc123/stages/prod"): "UpdateStage",
    ("GET", "/tags/arn%3Aaws%3Aapigateway%3Aeu-west-1%3A%3A%2Frestapis%2Fabc123"): "GetTags",
}
V2_READS = {
    ("GET", "/v2/apis"): "GetApis",
    ("GET", "/v2/apis/a1/routes"): "GetRoutes",
    ("GET", "/v2/apis/a1/integrations"): "GetIntegrations",
    ("GET", "/v2/apis/a1/authorizers"): "GetAuthorizers",
    ("GET", "/v2/apis/a1/stages"): "GetStages",
    ("GET", "/v2/apis/a1/stages/%24default"): "GetStage",
    ("GET", "/v2/domainnames"): "GetDomainNames",
    ("GET", "/v2/domainnames/api.example.com/apimappings"): "GetApiMappings",
    ("GET", "/v2/vpclinks"): "GetVpcLinks",
    ("DELETE", "/v2/apis/a1"): "DeleteApi",
}


@pytest.mark.parametrize(("request_line", "name"), V1_READS.items())
def test_identifies_apigateway_operations(request_line: tuple[str, str], name: str) -> None:
    method, target = request_line
    path, _, query = target.partition("?")
    environ = _environ(method, path, query_string=query)
    assert identify(environ)[1] == f"apigateway:{name}"


@pytest.mark.parametrize(("request_line", "name"), V2_READS.items())
def test_identifies_apigatewayv2_operations(request_line: tuple[str, str], name: str) -> None:
    method, path = request_line
    assert identify(_environ(method, path))[1] == f"apigatewayv2:{name}"


def test_every_paged_operation_is_recognised_from_its_path() -> None:
    paths = {
        "apigateway:GetRestApis": "/restapis",
        "apigateway:GetResources": "/restapis/a1/resources",
        "apigateway:GetAuthorizers": "/restapis/a1/authorizers",
        "apigateway:GetDomainNames": "/domainnames",
        "apigateway:GetBasePathMappings": "/domainnames/api.example.com/basepathmappings",
        "apigateway:GetUsagePlans": "/usageplans",
        "apigateway:GetVpcLinks": "/vpclinks",
        "apigateway:GetApiKeys": "/apikeys",
        "apigateway:GetDeployments": "/restapis/a1/deployments",
        "apigateway:GetRequestValidators": "/restapis/a1/requestvalidators",
        "apigateway:GetClientCertificates": "/clientcertificates",
        "apigateway:GetDomainNameAccessAssociations": "/domainnameaccessassociations",
        "apigatewayv2:ListRoutingRules": "/v2/domainnames/api.example.com/routingrules",
        "apigatewayv2:GetApis": "/v2/apis",
        "apigatewayv2:GetRoutes": "/v2/apis/a1/routes",
        "apigatewayv2:GetIntegrations": "/v2/apis/a1/integrations",
        "apigatewayv2:GetAuthorizers": "/v2/apis/a1/authorizers",
        "apigatewayv2:GetStages": "/v2/apis/a1/stages",
        "apigatewayv2:GetDomainNames": "/v2/domainnames",
        "apigatewayv2:GetApiMappings": "/v2/domainnames/api.example.com/apimappings",
        "apigatewayv2:GetVpcLinks": "/v2/vpclinks",
        "lambda:ListFunctions": "/2015-03-31/functions/",
        "lambda:ListFunctionUrlConfigs": "/2021-10-31/functions/hooks/urls",
        "appsync:ListGraphqlApis": "/v1/apis",
        "appsync:ListApis": "/v2/apis",
        "appsync:ListDomainNames": "/v1/domainnames",
    }
    assert set(paths) == set(PAGED_OPERATIONS)

    def service(op: str) -> str:
        return op.split(":", maxsplit=1)[0] if op.startswith(("lambda:", "appsync:")) else "apigateway"

    identified = {op: identify(_environ("GET", path, service(op)))[1] for op, path in paths.items()}
    assert identified == {op: op for op in paths}


def test_identifies_elb_version_2_by_its_version_and_cloudfront_by_its_path() -> None:
    form = "Action=DescribeLoadBalancers&Version=2015-12-01&PageSize=400"
    kind = "application/x-www-form-urlencoded; charset=utf-8"
    v2 = _environ("POST", "/", service="elasticloadbalancing", data=form, content_type=kind)
    assert identify(v2)[1] == "elbv2:DescribeLoadBalancers"
    classic = _environ(
        "POST",
        "/",
        service="elasticloadbalancing",
        data="Action=DescribeLoadBalancers&Version=2012-06-01",
        content_type=kind,
    )
    assert identify(classic)[1] == "elb:DescribeLoadBalancers"
    assert (
        identify(_environ("GET", "/2020-05-31/distribution", service="cloudfront"))[1] == "cloudfront:ListDistributions"
    )


def test_identifies_sts_from_the_form_and_leaves_the_body_for_moto() -> None:
    form = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2FR&RoleSessionName=s1"
    environ = _environ(
        "POST", "/", service="sts", data=form, content_type="application/x-www-form-urlencoded; charset=utf-8"
    )
    assert identify(environ)[1] == "sts:AssumeRole"
    assert environ["wsgi.input"].read() == form.encode()


def test_identifies_json_protocol_operations_from_the_target_header() -> None:
    environ = _environ("POST", "/", service="dynamodb", headers={"X-Amz-Target": "DynamoDB_20120810.GetItem"})
    assert identify(environ)[1] == "dynamodb:GetItem"


def test_unsigned_requests_have_no_account_and_no_operation() -> None:
    environ = EnvironBuilder(method="GET", path="/restapis").get_environ()
    assert identify(environ) == (None, None)


def test_unknown_access_keys_act_in_motos_default_account() -> None:
    assert identify(_environ("GET", "/restapis"))[0] == "123456789012"


def test_the_moto_account_header_names_the_account() -> None:
    environ = _environ("GET", "/restapis", headers={"x-moto-account-id": "444455556666"})
    assert identify(environ)[0] == "444455556666"


def test_identification_is_computed_once_per_request() -> None:
    environ = _environ("GET", "/restapis")
    first = identify(environ)
    environ["wsgi.input"] = io.BytesIO(b"")
    environ["PATH_INFO"] = environ["RAW_URI"] = "/domainnames"
    assert identify(environ) == first
