"""An embedded AWS emulator for the demo and the tests: moto's server on loopback, plus what moto lacks.

moto stores API Gateway resources faithfully but returns every list whole, lacks apigatewayv2
`GetAuthorizers`, drops the `connectionId` of v1 integrations, knows nothing of private domains, routing rules
or client certificates, and enforces no IAM. The middlewares and extensions here add AWS's paging, the missing
pieces (api_discovery.local.overlay for the 2024-2026 surface), refusals that stand in for IAM denials, and a log
of every (account, operation) received, so that tests can assert what was sent.

moto keeps its state in process-wide globals: every Emulator in a process shares one estate.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import json
import logging
import os
import re
import threading
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import botocore.session
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Response

from api_discovery.local.overlay import OVERLAY, OverlayMiddleware

LOOPBACK = "127.0.0.1"
V1_DEFAULT_PAGE_SIZE = 25  # documented AWS default for `limit`
V1_MAX_PAGE_SIZE = 500  # documented AWS maximum for `limit`
# apigatewayv2 documents no default for MaxResults; 25 keeps the emulator paging whenever a caller
# forgets to read to the end, which is the mistake these pages exist to catch.
V2_DEFAULT_PAGE_SIZE = 25

Middleware = Callable[[WSGIApplication], WSGIApplication]

_IDENTITY_KEY = "api_discovery.identity"
_ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_REST_JSON_SERVICES = frozenset({"apigateway", "apigatewayv2", "lambda", "appsync"})
# REST services named by their signing name; ELB's version 2 API signs as elasticloadbalancing.
_REST_SERVICES = frozenset({"lambda", "appsync", "cloudfront"})
_ELBV2_VERSION = "2015-12-01"


# --------------------------------------------------------------------------------------------------
# Identifying a request: which account sent it, and which operation it is.
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RestOperation:
    method: str
    pattern: re.Pattern[str]
    query: frozenset[str]  # query keys (or key=value) the URI template requires, e.g. `mode=import`
    name: str


@functools.cache
def _rest_operations(service: str) -> tuple[_RestOperation, ...]:
    """Every operation of a REST service, from botocore's own model, most specific URI first."""
    model = botocore.session.get_session().get_service_model(service)
    found: list[tuple[tuple[int, int], _RestOperation]] = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = http["requestUri"].partition("?")
        regex = "".join(
            (".+" if part.endswith("+}") else "[^/]+") if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", path)
        )
        op = _RestOperation(
            http["method"], re.compile(f"^{regex}/?$"), frozenset(q for q in query.split("&") if q), name
        )
        # A literal segment beats a parameter in the same place; a query constraint beats none.
        literal_segments = sum(1 for part in path.split("/") if part and not part.startswith("{"))
        found.append(((literal_segments, len(op.query)), op))
    found.sort(key=lambda item: item[0], reverse=True)
    return tuple(op for _, op in found)


def _rest_operation(service: str, method: str, path: str, query: dict[str, list[str]]) -> str | None:
    present = set(query) | {f"{k}={v}" for k, values in query.items() for v in values}
    for op in _rest_operations(service):
        if op.method == method and op.query <= present and op.pattern.match(path):
            return op.name
    return None


def _raw_path(environ: WSGIEnvironment) -> str:
    # PATH_INFO is percent-decoded, which turns an encoded ARN's "%2F" into a path separator.
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    return str(raw).split("?", 1)[0]


def _form(environ: WSGIEnvironment) -> dict[str, list[str]]:
    """The url-encoded form body (query-protocol services), read once and put back for moto."""
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return {}
    cached = environ.get("api_discovery.form")
    if cached is None:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        cached = parse_qs(body.decode("utf-8", "replace"))
        environ["api_discovery.form"] = cached
    return dict(cached)


def _params(environ: WSGIEnvironment) -> dict[str, list[str]]:
    return {**parse_qs(str(environ.get("QUERY_STRING", ""))), **_form(environ)}


def _account(environ: WSGIEnvironment) -> str | None:
    # The same precedence moto applies (moto.core.responses.BaseResponse.get_current_account).
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return str(environ["HTTP_X_MOTO_ACCOUNT_ID"])
    match = _ACCESS_KEY.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    if not match:
        return None
    from moto.iam.models import get_account_id_from  # noqa: PLC0415 - moto is heavy; load on first use

    return str(get_account_id_from(match.group(1)))


def signing_scope(environ: WSGIEnvironment) -> tuple[str | None, str | None]:
    """(region, signing service) from the SigV4 credential scope, or (None, None) when unsigned."""
    match = _CREDENTIAL_SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    return (match.group(1), match.group(2)) if match else (None, None)


def _operation(environ: WSGIEnvironment) -> str | None:
    _, service = signing_scope(environ)
    if service is None:
        return None
    path = _raw_path(environ)
    if service == "apigateway":
        # apigateway and apigatewayv2 share a signing name and a host; v2 lives under /v2/.
        service = "apigatewayv2" if path.startswith("/v2/") else "apigateway"
        query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        name = _rest_operation(service, str(environ.get("REQUEST_METHOD", "GET")), path, query)
        return f"{service}:{name}" if name else None
    if service in _REST_SERVICES:
        query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        name = _rest_operation(service, str(environ.get("REQUEST_METHOD", "GET")), path, query)
        return f"{service}:{name}" if name else None
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return f"{service}:{str(target).rsplit('.', 1)[-1]}"
    params = _params(environ)
    action = params.get("Action")
    if service == "elasticloadbalancing":
        service = "elbv2" if (params.get("Version") or [""])[0] == _ELBV2_VERSION else "elb"
    return f"{service}:{action[0]}" if action else None


def identify(environ: WSGIEnvironment) -> tuple[str | None, str | None]:
    """(account id, "service:Operation") of a request, each None when it cannot be told.

    The account is the one moto will act in (the signing access key's account); the operation is named by
    its boto service name and API name, e.g. `apigatewayv2:GetRoutes`, `sts:AssumeRole`. The answer is
    cached in the environ, so every middleware may ask.
    """
    cached = environ.get(_IDENTITY_KEY)
    if cached is None:
        cached = (_account(environ), _operation(environ))
        environ[_IDENTITY_KEY] = cached
    account, operation = cached
    return account, operation


# --------------------------------------------------------------------------------------------------
# Error responses in each protocol's own format, so botocore raises the ClientError AWS would cause.
# --------------------------------------------------------------------------------------------------


def rest_json_error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"message": message}),
        status=status,
        headers={"x-amzn-ErrorType": code, "x-amzn-RequestId": str(uuid.uuid4())},
        content_type="application/json",
    )


def query_xml_error(status: int, code: str, message: str) -> Response:
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml_escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return Response(body, status=status, content_type="text/xml")


def error_response(operation: str | None, status: int, code: str, message: str) -> Response:
    """An error in the protocol of the operation's service (REST-JSON for API Gateway and Lambda, else query XML)."""
    service = (operation or "").split(":", 1)[0]
    if service in _REST_JSON_SERVICES:
        return rest_json_error(status, code, message)
    return query_xml_error(status, code, message)


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------------------------------
# Paging, as AWS pages the API Gateway lists that moto returns whole.
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PagingStyle:
    size_param: str
    token_param: str
    items_key: str  # where moto's JSON body holds the list (its responses.py)
    default_size: int
    max_size: int | None
    next_token_key: str | None = None  # where the answer names the next page, when not under token_param


_V1 = _PagingStyle("limit", "position", "item", V1_DEFAULT_PAGE_SIZE, V1_MAX_PAGE_SIZE)
_V2 = _PagingStyle("maxResults", "nextToken", "items", V2_DEFAULT_PAGE_SIZE, None)
_ROUTING_RULES = _PagingStyle("maxResults", "nextToken", "routingRules", V2_DEFAULT_PAGE_SIZE, 100)
# Lambda's lists: MaxItems up to 50 (AWS's default for ListFunctions), Marker in, NextMarker out.
_LAMBDA_FUNCTIONS = _PagingStyle("MaxItems", "Marker", "Functions", 50, 50, "NextMarker")
_LAMBDA_URLS = _PagingStyle("MaxItems", "Marker", "FunctionUrlConfigs", 50, 50, "NextMarker")

# GetStages (v1) is absent on purpose: AWS returns every stage of a REST API in one unpaged answer.
PAGED_OPERATIONS: dict[str, _PagingStyle] = {
    **{
        f"apigateway:{name}": _V1
        for name in (
            "GetRestApis",
            "GetResources",
            "GetAuthorizers",
            "GetDomainNames",
            "GetBasePathMappings",
            "GetUsagePlans",
            "GetVpcLinks",
            "GetApiKeys",
            "GetDeployments",
            "GetRequestValidators",
            "GetClientCertificates",
            "GetDomainNameAccessAssociations",
        )
    },
    "apigatewayv2:ListRoutingRules": _ROUTING_RULES,
    "lambda:ListFunctions": _LAMBDA_FUNCTIONS,
    "lambda:ListFunctionUrlConfigs": _LAMBDA_URLS,
    # moto's AppSync lists ignore paging; AWS's pages hold 25 at most.
    "appsync:ListGraphqlApis": _PagingStyle("maxResults", "nextToken", "graphqlApis", 25, 25),
    "appsync:ListApis": _PagingStyle("maxResults", "nextToken", "apis", 25, 25),
    "appsync:ListDomainNames": _PagingStyle("maxResults", "nextToken", "domainNameConfigs", 25, 25),
    **{
        f"apigatewayv2:{name}": _V2
        for name in (
            "GetApis",
            "GetRoutes",
            "GetIntegrations",
            "GetAuthorizers",
            "GetStages",
            "GetDomainNames",
            "GetApiMappings",
            "GetVpcLinks",
        )
    },
}


class _BadPageError(ValueError):
    pass


def _encode_token(operation: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{operation}|{offset}".encode()).decode().rstrip("=")


def _decode_token(operation: str, token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        op, _, offset = text.rpartition("|")
        if op != operation or not offset.isdigit():
            raise ValueError(token)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise _BadPageError(f"Invalid pagination token: {token}") from exc


def _page_request(operation: str, style: _PagingStyle, query: dict[str, list[str]]) -> tuple[int, int]:
    raw_size = query.get(style.size_param, [None])[-1]
    if raw_size is None:
        size = style.default_size
    elif raw_size.lstrip("-").isdigit():
        size = int(raw_size)
    else:
        raise _BadPageError(f"Invalid value for {style.size_param}: {raw_size}")
    if size < 1 or (style.max_size is not None and size > style.max_size):
        raise _BadPageError(
            f"1 validation error detected: Value '{size}' at '{style.size_param}' failed to satisfy "
            f"constraint: Member must have value between 1 and {style.max_size or 'unbounded'}"
        )
    token = query.get(style.token_param, [None])[-1]
    return size, (_decode_token(operation, token) if token else 0)


class PagingMiddleware:
    """Slices moto's whole lists into AWS pages. moto lists in insertion order, so offsets are stable."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        _, operation = identify(environ)
        style = PAGED_OPERATIONS.get(operation or "")
        if operation is None or style is None:
            return self.app(environ, start_response)
        try:
            size, offset = _page_request(operation, style, parse_qs(str(environ.get("QUERY_STRING", ""))))
        except _BadPageError as exc:
            return rest_json_error(400, "BadRequestException", str(exc))(environ, start_response)
        response = Response.from_app(self.app, environ, buffered=True)
        if response.status_code == 200:
            body = json.loads(response.get_data() or b"{}")
            items = body.get(style.items_key)
            if isinstance(items, list):
                body[style.items_key] = items[offset : offset + size]
                next_key = style.next_token_key or style.token_param
                body.pop(next_key, None)
                if offset + size < len(items):
                    body[next_key] = _encode_token(operation, offset + size)
                response.set_data(json.dumps(body))
        return response(environ, start_response)


# --------------------------------------------------------------------------------------------------
# What moto 5.2.1 lacks.
# --------------------------------------------------------------------------------------------------


def _v2_get_authorizers(self: Any) -> tuple[int, dict[str, str], str]:
    # Same shape as moto's get_authorizer, listed in creation order; the path is /v2/apis/{apiId}/authorizers.
    api = self.apigatewayv2_backend.get_api(self.path.split("/")[-2])
    return 200, {}, json.dumps({"items": [a.to_json() for a in api.authorizers.values()]})


def _v2_export_api(self: Any) -> tuple[int, dict[str, str], bytes]:
    # A minimal OpenAPI 3 document of the API's routes; the path is /v2/apis/{apiId}/exports/{specification}.
    api = self.apigatewayv2_backend.get_api(self.path.split("/")[-3])
    paths: dict[str, dict[str, Any]] = {}
    for route in api.routes.values():
        method, _, path = route.route_key.partition(" ")
        paths.setdefault(path or route.route_key, {})[method.lower() if path else "x-amazon-apigateway-any-method"] = {}
    document = {"openapi": "3.0.1", "info": {"title": api.name, "version": "1"}, "paths": paths}
    return 200, {"Content-Type": "application/json"}, json.dumps(document).encode()


_EXTENDED = "_api_discovery_extension"


def _keep_connection_id(put_integration: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's v1 PutIntegration drops `connectionId` (the VPC link of a VPC_LINK integration): keep it."""

    def put_integration_keeping_connection_id(self: Any) -> Any:
        status, headers, body = put_integration(self)
        connection_id = self._get_param("connectionId")
        if connection_id and 200 <= int(status) < 300:
            _, _, api_id, _, resource_id, _, method = self.path.split("/")[:7]
            integration = self.backend.get_integration(api_id, resource_id, method)
            integration.connection_id = connection_id
            body = json.dumps(integration.to_json())
        return status, headers, body

    setattr(put_integration_keeping_connection_id, _EXTENDED, True)
    return put_integration_keeping_connection_id


def _with_connection_id(to_json: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def integration_to_json(self: Any) -> dict[str, Any]:
        data = to_json(self)
        if getattr(self, "connection_id", None):
            data["connectionId"] = self.connection_id
        return data

    setattr(integration_to_json, _EXTENDED, True)
    return integration_to_json


def _with_deployment_id(to_json: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """moto's v2 stages keep the DeploymentId they were created with but never return it."""

    def stage_to_json(self: Any) -> dict[str, Any]:
        data = to_json(self)
        if self.config.get("deploymentId"):
            data["deploymentId"] = self.config["deploymentId"]
        return data

    setattr(stage_to_json, _EXTENDED, True)
    return stage_to_json


def _v1_client_certificates(self: Any) -> tuple[int, dict[str, str], str]:
    return 200, {}, json.dumps({"item": OVERLAY.certificates(self.current_account, self.region)})


def _v1_access_associations(self: Any) -> tuple[int, dict[str, str], str]:
    owner = (self.querystring.get("resourceOwner") or ["SELF"])[0]
    return 200, {}, json.dumps({"item": OVERLAY.associations(self.current_account, self.region, owner)})


def _v2_routing_rules(self: Any) -> tuple[int, dict[str, str], str]:
    # The path is /v2/domainnames/{domainName}/routingrules; a private domain is named by its id as well.
    domain = unquote(self.path.split("?")[0].split("/")[-2])
    domain_id = (self.querystring.get("domainNameId") or [None])[0]
    rules = OVERLAY.routing_rules(self.current_account, self.region, domain, domain_id)
    return 200, {}, json.dumps({"routingRules": rules})


def _lambda_url_configs(self: Any) -> tuple[int, dict[str, str], str]:
    # GET /2021-10-31/functions/{FunctionName}/urls: moto keeps one URL per function, its $LATEST's.
    name = unquote(self.path.split("?")[0].split("/")[-2])
    function = self.backend.get_function(name)
    configs = [function.url_config.to_dict()] if function.url_config else []
    for config in configs:
        config["InvokeMode"] = str(config.get("InvokeMode") or "BUFFERED").upper()
    return 200, {}, json.dumps({"FunctionUrlConfigs": configs})


def _appsync_domain_names(self: Any) -> tuple[int, dict[str, str], str]:
    # GET /v1/domainnames: what the overlay holds (moto has no AppSync domains).
    return 200, {}, json.dumps({"domainNameConfigs": OVERLAY.appsync_domains(self.current_account, self.region)})


class _DistributionSummary:
    """A distribution as ListDistributions lists it: its own fields and its config's (origins, aliases, cache
    behaviours, web ACL), which moto leaves out of the list."""

    def __init__(self, distribution: Any) -> None:
        self._distribution = distribution

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return getattr(self._distribution, name)
        except AttributeError:
            return getattr(self._distribution.distribution_config, name)


def _summarised(list_distributions: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]]:
    def list_distribution_summaries(self: Any) -> list[Any]:
        return [_DistributionSummary(d) for d in list_distributions(self)]

    setattr(list_distribution_summaries, _EXTENDED, True)
    return list_distribution_summaries


def _mappings_of_unmapped_domains(
    get_base_path_mappings: Callable[[Any, str], list[Any]],
) -> Callable[[Any, str], list[Any]]:
    """moto answers a 500 (KeyError) for a domain that has no base path mapping yet; AWS an empty list."""

    def get_base_path_mappings_of_any_domain(self: Any, domain_name: str) -> list[Any]:
        if domain_name in self.domain_names and domain_name not in self.base_path_mappings:
            return []
        return get_base_path_mappings(self, domain_name)

    setattr(get_base_path_mappings_of_any_domain, _EXTENDED, True)
    return get_base_path_mappings_of_any_domain


def _install_entry_point_extensions() -> None:
    from moto.appsync import urls as appsync_urls  # noqa: PLC0415
    from moto.appsync.responses import AppSyncResponse  # noqa: PLC0415
    from moto.cloudfront.models import CloudFrontBackend  # noqa: PLC0415

    if "list_domain_names" not in vars(AppSyncResponse):
        AppSyncResponse.list_domain_names = _appsync_domain_names  # type: ignore[attr-defined]
        appsync_urls.url_paths["{0}/v1/domainnames$"] = AppSyncResponse.dispatch
    if not getattr(CloudFrontBackend.list_distributions, _EXTENDED, False):
        CloudFrontBackend.list_distributions = _summarised(  # type: ignore[method-assign,assignment]
            CloudFrontBackend.list_distributions
        )


def install_moto_extensions() -> None:
    """Teach moto what it lacks and the scanner reads. Idempotent.

    - apigatewayv2 GetAuthorizers: moto already routes GET /v2/apis/{apiId}/authorizers to
      ApiGatewayV2Response.dispatch, which resolves the operation from botocore's model and calls the method of
      the same snake_case name, if it exists; so adding `get_authorizers` is enough.
    - apigatewayv2 ExportApi (GET /v2/apis/{apiId}/exports/{specification}): an OpenAPI document of the routes.
    - apigateway PutIntegration/GetResources/GetIntegration: `connectionId` is stored and returned.
    - apigatewayv2 GetStages: `DeploymentId` is returned.
    - apigateway GetBasePathMappings: a domain without mappings answers an empty list, not a 500.
    - apigateway GetClientCertificates and GetDomainNameAccessAssociations, apigatewayv2 ListRoutingRules: what
      the overlay (api_discovery.local.overlay) holds, for the server and for moto's in-process mock alike.
    - lambda ListFunctionUrlConfigs (GET /2021-10-31/functions/{FunctionName}/urls): the function's URL config.
    - appsync ListDomainNames (GET /v1/domainnames): the overlay's AppSync custom domains.
    - cloudfront ListDistributions: each summary with its config's origins, aliases, behaviours and web ACL.
    """
    from moto.apigateway import urls as v1_urls  # noqa: PLC0415
    from moto.apigateway.models import APIGatewayBackend, Integration  # noqa: PLC0415 - moto is heavy; load on use
    from moto.apigateway.responses import APIGatewayResponse  # noqa: PLC0415
    from moto.apigatewayv2 import urls as v2_urls  # noqa: PLC0415
    from moto.apigatewayv2.models import Stage as V2Stage  # noqa: PLC0415
    from moto.apigatewayv2.responses import ApiGatewayV2Response  # noqa: PLC0415
    from moto.awslambda import urls as lambda_urls  # noqa: PLC0415
    from moto.awslambda.responses import LambdaResponse  # noqa: PLC0415

    if "get_authorizers" not in vars(ApiGatewayV2Response):
        ApiGatewayV2Response.get_authorizers = _v2_get_authorizers  # type: ignore[attr-defined]
    if "get_client_certificates" not in vars(APIGatewayResponse):
        APIGatewayResponse.get_client_certificates = _v1_client_certificates  # type: ignore[attr-defined]
        APIGatewayResponse.get_domain_name_access_associations = _v1_access_associations  # type: ignore[attr-defined]
        v1_urls.url_paths["{0}/clientcertificates$"] = APIGatewayResponse.dispatch
        v1_urls.url_paths["{0}/domainnameaccessassociations$"] = APIGatewayResponse.dispatch
    if "list_routing_rules" not in vars(ApiGatewayV2Response):
        ApiGatewayV2Response.list_routing_rules = _v2_routing_rules  # type: ignore[attr-defined]
        # apigateway's URL table took a copy of apigatewayv2's when it was imported: both need v2 paths.
        for table in (v1_urls.url_paths, v2_urls.url_paths):
            table["{0}/v2/domainnames/(?P<domain_name>[^/]+)/routingrules$"] = ApiGatewayV2Response.dispatch
    if "list_function_url_configs" not in vars(LambdaResponse):
        LambdaResponse.list_function_url_configs = _lambda_url_configs  # type: ignore[attr-defined]
        lambda_urls.url_paths[r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/urls/?$"] = (
            LambdaResponse.dispatch
        )
    _install_entry_point_extensions()
    if "export_api" not in vars(ApiGatewayV2Response):
        ApiGatewayV2Response.export_api = _v2_export_api  # type: ignore[attr-defined]
        # moto serves no route for it; its URL table is read when the service's app is first built.
        for table in (v1_urls.url_paths, v2_urls.url_paths):
            table["{0}/v2/apis/(?P<api_id>[^/]+)/exports/(?P<specification>[^/]+)$"] = ApiGatewayV2Response.dispatch
    if not getattr(APIGatewayResponse.put_integration, _EXTENDED, False):
        APIGatewayResponse.put_integration = _keep_connection_id(  # type: ignore[method-assign,assignment]
            APIGatewayResponse.put_integration
        )
    if not getattr(Integration.to_json, _EXTENDED, False):
        Integration.to_json = _with_connection_id(Integration.to_json)  # type: ignore[method-assign,assignment]
    if not getattr(APIGatewayBackend.get_base_path_mappings, _EXTENDED, False):
        APIGatewayBackend.get_base_path_mappings = _mappings_of_unmapped_domains(  # type: ignore[method-assign,assignment]
            APIGatewayBackend.get_base_path_mappings
        )
    if not getattr(V2Stage.to_json, _EXTENDED, False):
        V2Stage.to_json = _with_deployment_id(V2Stage.to_json)  # type: ignore[method-assign,assignment]


# --------------------------------------------------------------------------------------------------
# The request log and the access rules.
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    account: str | None
    operation: str | None
    status: int


class RequestLog:
    """Every request the emulator answered, in order of completion. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RecordedRequest] = []

    def record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def counts(self, account: str | None = None) -> Counter[str]:
        """Requests per operation, all accounts or one; unidentified operations are left out."""
        return Counter(
            e.operation for e in self.entries() if e.operation is not None and (account is None or e.account == account)
        )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.entries())


class AccessRules:
    """Refusals standing in for IAM, which moto does not enforce. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._denied_roles: set[str] = set()
        self._denied_operations: set[tuple[str, str]] = set()

    def deny_assume_role(self, role_arn: str) -> None:
        with self._lock:
            self._denied_roles.add(role_arn)

    def deny_operation(self, account_id: str, operation: str) -> None:
        if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", operation):
            raise ValueError(f"operation must look like 'apigateway:GetStages', not {operation!r}")
        with self._lock:
            self._denied_operations.add((account_id, operation))

    def clear(self) -> None:
        with self._lock:
            self._denied_roles.clear()
            self._denied_operations.clear()

    def refusal(self, environ: WSGIEnvironment) -> Response | None:
        """The 403 AWS would answer to this request under these rules, or None to let it through."""
        account, operation = identify(environ)
        if operation is None:
            return None
        with self._lock:
            denied_roles = set(self._denied_roles)
            denied = account is not None and (account, operation) in self._denied_operations
        if operation == "sts:AssumeRole":
            role = (_params(environ).get("RoleArn") or [""])[0]
            if role in denied_roles:
                message = f"User is not authorized to perform: sts:AssumeRole on resource: {role}"
                return query_xml_error(403, "AccessDenied", message)
        if not denied:
            return None
        region, _ = signing_scope(environ)
        message = (
            f"User in account {account} is not authorized to perform: {operation} on resource: "
            f"arn:aws:apigateway:{region}::{_raw_path(environ)} with an explicit deny"
        )
        code = "AccessDeniedException" if operation.split(":")[0] in _REST_JSON_SERVICES else "AccessDenied"
        return error_response(operation, 403, code, message)


# DynamoDB applies each request to an item atomically; moto does not, and every emulator of this process serves
# the same backend from many threads: two conditional updates at once would otherwise both pass their check.
_DYNAMODB = threading.Lock()


class _Front:
    """Outermost middleware: records each request, then applies the access rules."""

    def __init__(self, app: WSGIApplication, rules: AccessRules, log: RequestLog) -> None:
        self.app, self.rules, self.log = app, rules, log

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if _raw_path(environ).startswith("/moto-api/"):
            return self.app(environ, start_response)
        account, operation = identify(environ)

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            self.log.record(RecordedRequest(account, operation, int(status.split(" ", 1)[0])))
            return start_response(status, headers, exc_info)

        refusal = self.rules.refusal(environ)
        if refusal is not None:
            return refusal(environ, recording_start_response)
        if operation is not None and operation.startswith("dynamodb:"):
            with _DYNAMODB:
                return list(self.app(environ, recording_start_response))
        return self.app(environ, recording_start_response)


# --------------------------------------------------------------------------------------------------
# The server.
# --------------------------------------------------------------------------------------------------


class Emulator:
    """moto on loopback with paging, the missing operations, IAM-like refusals and a request log.

    Use as a context manager, or call start() and stop(). `middlewares` wrap moto (inside the access
    rules, outside the paging), outermost first: a quota middleware would go there, using identify().
    """

    def __init__(self, port: int = 0, middlewares: Sequence[Middleware] = ()) -> None:
        self._port = port
        self._middlewares = tuple(middlewares)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.requests = RequestLog()
        self.rules = AccessRules()

    def _app(self) -> WSGIApplication:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: PLC0415

        moto: WSGIApplication = DomainDispatcherApplication(create_backend_app)
        app: WSGIApplication = PagingMiddleware(OverlayMiddleware(moto, OVERLAY, identify, signing_scope))
        for middleware in reversed(self._middlewares):
            app = middleware(app)
        return _Front(app, self.rules, self.requests)

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        install_moto_extensions()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server(LOOPBACK, self._port, self._app(), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def reset(self) -> None:
        """Forget every AWS resource, access rule and recorded request."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        self.rules.clear()
        self.requests.clear()
        OVERLAY.clear()

    def deny_assume_role(self, role_arn: str) -> None:
        """sts:AssumeRole on this role answers 403 AccessDenied, whoever asks."""
        self.rules.deny_assume_role(role_arn)

    def deny_operation(self, account_id: str, operation: str) -> None:
        """This account's calls of `service:Operation` (e.g. `apigateway:GetStages`) answer 403."""
        self.rules.deny_operation(account_id, operation)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
