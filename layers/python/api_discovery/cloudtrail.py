"""Which API Gateway management calls change what the inventory reports, and what each one names.

Every operation of botocore's `apigateway` and `apigatewayv2` models that is not a read is in exactly one of
`RESCANS` (what it changes, to rescan) and `IGNORED` (why not); a test holds both against botocore, so a new
mutating operation fails the suite until it is placed. CloudTrail logs v1 and v2 under one event source and
one name for the operations they share (CreateStage, TagResource ...): the ids in the request tell them apart.

Only ids leave this module: a request's other parameters (a stage variable's value, a policy) are never kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from api_discovery.targets import Resource

Names = Literal["api", "domain", "usage_plans", "vpc_links", "tagged", "region"]

# What each call changes: `api` an API (its id in the request, or in the response for a create), `domain` a
# custom domain and its mappings or rules, `tagged` whatever its resource ARN names, `region` something no
# single resource holds (a whole-region rescan).
RESCANS: dict[str, Names] = {
    **dict.fromkeys(
        [
            "CreateRestApi",
            "ImportRestApi",
            "PutRestApi",
            "UpdateRestApi",
            "DeleteRestApi",
            "CreateResource",
            "UpdateResource",
            "DeleteResource",
            "PutMethod",
            "UpdateMethod",
            "DeleteMethod",
            "PutMethodResponse",
            "UpdateMethodResponse",
            "DeleteMethodResponse",
            "PutIntegration",
            "UpdateIntegration",
            "DeleteIntegration",
            "PutIntegrationResponse",
            "UpdateIntegrationResponse",
            "DeleteIntegrationResponse",
            "PutGatewayResponse",
            "UpdateGatewayResponse",
            "DeleteGatewayResponse",
            "CreateRequestValidator",
            "UpdateRequestValidator",
            "DeleteRequestValidator",
            "CreateApi",
            "ImportApi",
            "ReimportApi",
            "UpdateApi",
            "DeleteApi",
            "CreateRoute",
            "UpdateRoute",
            "DeleteRoute",
            "DeleteRouteRequestParameter",
            "DeleteRouteSettings",
            "CreateRouteResponse",
            "UpdateRouteResponse",
            "DeleteRouteResponse",
            "CreateIntegration",
            "CreateIntegrationResponse",
            "DeleteCorsConfiguration",
            "DeleteAccessLogSettings",
            "CreateAuthorizer",
            "UpdateAuthorizer",
            "DeleteAuthorizer",
            "CreateDeployment",
            "UpdateDeployment",
            "DeleteDeployment",
            "CreateStage",
            "UpdateStage",
            "DeleteStage",
        ],
        "api",
    ),
    **dict.fromkeys(
        [
            "CreateDomainName",
            "UpdateDomainName",
            "DeleteDomainName",
            "CreateBasePathMapping",
            "UpdateBasePathMapping",
            "DeleteBasePathMapping",
            "CreateApiMapping",
            "UpdateApiMapping",
            "DeleteApiMapping",
            "CreateRoutingRule",
            "PutRoutingRule",
            "DeleteRoutingRule",
        ],
        "domain",
    ),
    **dict.fromkeys(
        ["CreateUsagePlan", "UpdateUsagePlan", "DeleteUsagePlan", "CreateUsagePlanKey", "DeleteUsagePlanKey"],
        "usage_plans",
    ),
    **dict.fromkeys(["CreateVpcLink", "UpdateVpcLink", "DeleteVpcLink"], "vpc_links"),
    **dict.fromkeys(["TagResource", "UntagResource"], "tagged"),
    # Access to private domains is keyed by their ARN, and the account's settings and client certificates are
    # region-wide: a full scan of the region reads them again.
    **dict.fromkeys(
        [
            "CreateDomainNameAccessAssociation",
            "DeleteDomainNameAccessAssociation",
            "RejectDomainNameAccessAssociation",
            "UpdateAccount",
            "GenerateClientCertificate",
            "UpdateClientCertificate",
            "DeleteClientCertificate",
        ],
        "region",
    ),
}

_NOT_INVENTORIED = "not part of the inventory"
IGNORED: dict[str, str] = {
    **dict.fromkeys(
        ["CreateApiKey", "UpdateApiKey", "DeleteApiKey", "ImportApiKeys"], "API keys are never read (their values)"
    ),
    "UpdateUsage": "a key's remaining quota: usage, not configuration",
    **dict.fromkeys(
        [
            "CreateDocumentationPart",
            "UpdateDocumentationPart",
            "DeleteDocumentationPart",
            "ImportDocumentationParts",
            "CreateDocumentationVersion",
            "UpdateDocumentationVersion",
            "DeleteDocumentationVersion",
        ],
        f"documentation: {_NOT_INVENTORIED}",
    ),
    **dict.fromkeys(["CreateModel", "UpdateModel", "DeleteModel"], f"request and response models: {_NOT_INVENTORIED}"),
    **dict.fromkeys(
        ["FlushStageCache", "FlushStageAuthorizersCache", "ResetAuthorizersCache"], "empties a cache: nothing changes"
    ),
    **dict.fromkeys(
        [
            "CreatePortal",
            "UpdatePortal",
            "DeletePortal",
            "PublishPortal",
            "DisablePortal",
            "PreviewPortal",
            "CreatePortalProduct",
            "UpdatePortalProduct",
            "DeletePortalProduct",
            "PutPortalProductSharingPolicy",
            "DeletePortalProductSharingPolicy",
            "CreateProductPage",
            "UpdateProductPage",
            "DeleteProductPage",
            "CreateProductRestEndpointPage",
            "UpdateProductRestEndpointPage",
            "DeleteProductRestEndpointPage",
        ],
        f"developer portals: {_NOT_INVENTORIED}",
    ),
}

# Operations that read although their names do not start with Get: no rule ever sees them as changes.
READS = frozenset(
    [
        "ExportApi",
        "TestInvokeMethod",
        "TestInvokeAuthorizer",
        "ListRoutingRules",
        "ListPortals",
        "ListPortalProducts",
        "ListProductPages",
        "ListProductRestEndpointPages",
    ]
)

# The first words of every name in RESCANS: the event rules match on these (a list of a hundred names would
# pass EventBridge's 2,048-character limit on a pattern), and `resource_of` drops what IGNORED holds.
RULE_PREFIXES = ("Create", "Update", "Delete", "Put", "Import", "Reimport", "Tag", "Untag", "Reject", "Generate")

# The ids in a request, as API Gateway's CloudTrail records spell them.
_REST_ID = ("restApiId", "restapi_id")
_V2_ID = ("apiId", "api_id")
_DOMAIN = ("domainName", "domain_name")
_ARN = ("resourceArn", "resource-arn", "resource_arn")
# An API Gateway resource ARN's path: /restapis/<id>[/...], /apis/<id>[/...], /domainnames/<name>, ...
_ARN_PATH = re.compile(r"^arn:[a-z-]+:apigateway:[a-z0-9-]+::(?P<path>/[^\s]*)$")
_ID = re.compile(r"^[a-z0-9]{1,32}$")
_DOMAIN_NAME = re.compile(r"^(\*\.)?([A-Za-z0-9-]{1,63}\.)+[A-Za-z0-9-]{1,63}$")


# Lambda's calls that change a function URL (its config, its function's policy, the function itself), as CloudTrail
# names them before their API version suffix. Function URLs are read region-wide, so each rescans the region.
LAMBDA_RESCANS = (
    "CreateFunctionUrlConfig",
    "UpdateFunctionUrlConfig",
    "DeleteFunctionUrlConfig",
    "AddPermission",
    "RemovePermission",
    "DeleteFunction",
)
_LAMBDA_VERSION = re.compile(r"^(?P<name>[A-Za-z]+?)(\d{8}(v\d+)?)?$")


def lambda_rescans(event_name: str) -> bool:
    """Whether a Lambda call, as CloudTrail names it (`AddPermission20150331v2`), changes a function URL."""
    match = _LAMBDA_VERSION.fullmatch(event_name)
    return match is not None and match["name"] in LAMBDA_RESCANS


# The calls of the other entry points' services that change what the inventory holds of them, by CloudTrail event
# source. They are read region-wide (CloudFront account-wide, by the scan of the account's global region), so each
# rescans the region its event came from; CloudFront's events come from us-east-1. CloudFront names its calls with
# their API version (UpdateDistribution2020_05_31).
ENTRY_RESCANS: dict[str, tuple[str, ...]] = {
    "lambda.amazonaws.com": LAMBDA_RESCANS,
    "appsync.amazonaws.com": (
        "CreateGraphqlApi",
        "UpdateGraphqlApi",
        "DeleteGraphqlApi",
        "CreateApi",
        "UpdateApi",
        "DeleteApi",
        "CreateDomainName",
        "UpdateDomainName",
        "DeleteDomainName",
    ),
    "elasticloadbalancing.amazonaws.com": (
        "CreateLoadBalancer",
        "DeleteLoadBalancer",
        "CreateListener",
        "ModifyListener",
        "DeleteListener",
        "CreateRule",
        "ModifyRule",
        "DeleteRule",
        "RegisterTargets",
        "DeregisterTargets",
    ),
    "cloudfront.amazonaws.com": (
        "CreateDistribution",
        "CreateDistributionWithTags",
        "UpdateDistribution",
        "DeleteDistribution",
        "CopyDistribution",
        "AssociateAlias",
    ),
}
_VERSIONED = re.compile(r"^(?P<name>[A-Za-z]+?)(\d{8}(v\d+)?|\d{4}_\d{2}_\d{2})?$")


def entry_rescans(event_source: str, event_name: str) -> bool:
    """Whether a call of Lambda, AppSync, ELB or CloudFront, as CloudTrail names it, changes an entry point."""
    match = _VERSIONED.fullmatch(event_name)
    return match is not None and match["name"] in ENTRY_RESCANS.get(event_source, ())


class Unmapped(Exception):  # noqa: N818 - a verdict, not a failure
    """The event changes something, but names no one resource: rescan the whole region."""


def resource_of(event_name: str, request: object, response: object) -> Resource | None:
    """The one resource a management call changed. None: the call changes nothing the inventory reports.
    Raises Unmapped for a change that no one resource holds, or whose ids are missing or malformed."""
    if event_name in IGNORED or event_name in READS:
        return None
    names = RESCANS.get(event_name)
    if names is None:
        raise Unmapped(f"unknown management call {event_name[:64]!r}")
    params = request if isinstance(request, Mapping) else {}
    answer = response if isinstance(response, Mapping) else {}
    if names == "api":
        return _api(event_name, params, answer)
    if names == "domain":
        return _domain(_first(params, _DOMAIN) or _first(answer, _DOMAIN))
    if names in ("usage_plans", "vpc_links"):
        return Resource(kind=names)
    if names == "tagged":
        return _tagged(_first(params, _ARN))
    raise Unmapped(f"{event_name} changes what no single resource holds")


def _api(event_name: str, params: Mapping[str, Any], answer: Mapping[str, Any]) -> Resource:
    if rest := _first(params, _REST_ID):
        return _api_resource("rest_api", rest)
    if v2 := _first(params, _V2_ID):
        return _api_resource("v2_api", v2)
    # A create names its API only in the answer.
    if event_name in ("CreateRestApi", "ImportRestApi") and (rest := _first(answer, ("id", *_REST_ID))):
        return _api_resource("rest_api", rest)
    if event_name in ("CreateApi", "ImportApi") and (v2 := _first(answer, _V2_ID)):
        return _api_resource("v2_api", v2)
    raise Unmapped(f"{event_name} without an API id")


def _api_resource(kind: Literal["rest_api", "v2_api"], api_id: str) -> Resource:
    if not _ID.fullmatch(api_id):
        raise Unmapped(f"malformed API id {api_id[:40]!r}")
    return Resource(kind=kind, id=api_id)


def _domain(name: str | None) -> Resource:
    if not name or not _DOMAIN_NAME.fullmatch(name):
        raise Unmapped(f"missing or malformed domain name {str(name)[:80]!r}")
    return Resource(kind="domain", id=name.lower())


def _tagged(arn: str | None) -> Resource:
    """What a tagging call's resource ARN names: an API (or a stage of one), a domain, VPC links, usage plans."""
    match = _ARN_PATH.fullmatch(arn or "")
    if match is None:
        raise Unmapped(f"not an API Gateway resource ARN: {str(arn)[:120]!r}")
    parts = match["path"].strip("/").split("/")
    head, name = parts[0], parts[1] if len(parts) > 1 else ""
    if head == "restapis" and name:
        return _api_resource("rest_api", name)
    if head == "apis" and name:
        return _api_resource("v2_api", name)
    if head == "domainnames" and name:
        return _domain(name)
    if head == "vpclinks":
        return Resource(kind="vpc_links")
    if head == "usageplans":
        return Resource(kind="usage_plans")
    raise Unmapped(f"a tag on {match['path'][:120]!r}, which no single resource of the inventory holds")


def _first(values: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = values.get(name)
        if isinstance(value, str) and value:
            return value
    return None
