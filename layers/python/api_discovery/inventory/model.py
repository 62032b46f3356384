"""The snapshot contract (schema_version 1): what one scan of one (account, region) found.

The JSON Schema in `schemas/snapshot.v1.json` is generated from these models; a change that breaks
readers bumps SCHEMA_VERSION.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api_discovery.errors import ErrorKind
from api_discovery.inventory.redact import redact_uri

SCHEMA_VERSION: Literal[1] = 1

ApiKind = Literal["REST", "HTTP", "WEBSOCKET"]
ScanStatus = Literal["complete", "partial", "failed"]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Free-form JSON (resource policies, CORS, finding evidence) nested deeper than this is refused: no IAM policy
# comes near it, and well before ~250 levels pydantic's serializer stops, which would fail every later diff.
MAX_NESTING = 32


def nesting(value: Any) -> int:
    """How many containers deep a JSON value goes (0 for a scalar), counted without recursion."""
    depth, level = 0, [value]
    while containers := [v for v in level if isinstance(v, dict | list)]:
        depth += 1
        level = [child for v in containers for child in (v.values() if isinstance(v, dict) else v)]
    return depth


def _shallow(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and nesting(value) > MAX_NESTING:
        raise ValueError(f"nested deeper than {MAX_NESTING} levels")
    return value


def _redacted(value: str | None) -> str | None:
    # Normalisation already redacts; this also covers snapshots stored before it did, so the first diff after
    # an upgrade neither reports a change nor sends the old value in an event.
    return redact_uri(value)


class ScanError(Contract):
    """Something the scan could not see. A permission gap keeps the rest of the scan going."""

    kind: ErrorKind
    operation: str = Field(description="AWS operation, e.g. apigateway:GetStages; '*' for the whole target")
    resource: str = Field(description="What the call was about, e.g. restapis/abc123")
    code: str = Field(description="AWS error code, or the error type")
    message: str


class Integration(Contract):
    type: str | None = Field(description="AWS, AWS_PROXY, HTTP, HTTP_PROXY, MOCK")
    target: str | None = Field(
        description="Integration URI or Lambda ARN, without user-info, query values or fragment (redacted as ***)"
    )
    connection_type: str | None = None
    connection_id: str | None = Field(default=None, description="VPC link id for private integrations")

    redact_target = field_validator("target")(_redacted)


Verdict = Literal[
    "public-unauthenticated",
    "public-api-key-only",
    "public-authenticated",
    "network-restricted",
    "private",
    "unreachable",
    "unknown",  # not read completely: no fresh verdict (the last complete view stands)
]


class RouteExposure(Contract):
    """Who can reach a route and whether they must prove who they are (see api_discovery.analysis.exposure)."""

    verdict: Verdict
    reasons: list[str] = Field(default_factory=list, description="What decided the verdict, most decisive first")


class Route(Contract):
    """A REST resource method, or an HTTP/WebSocket route."""

    method: str = Field(description="HTTP method, ANY, or '*' for WebSocket routes and $default")
    path: str = Field(description="Resource path (REST, HTTP) or route key (WebSocket)")
    route_key: str | None = Field(default=None, description="apigatewayv2 route key as AWS spells it")
    authorization_type: str = Field(description="NONE, AWS_IAM, CUSTOM, COGNITO_USER_POOLS, JWT")
    authorizer_id: str | None = None
    authorization_scopes: list[str] = Field(default_factory=list)
    api_key_required: bool = False
    request_validator_id: str | None = None
    integration: Integration | None = None
    urls: list[str] = Field(default_factory=list, description="Every public URL this route answers on")
    exposure: RouteExposure | None = Field(default=None, description="Effective exposure, set by the scan")


class Throttle(Contract):
    burst_limit: int | None = None
    rate_limit: float | None = None


class Stage(Contract):
    name: str
    deployment_id: str | None = None
    invoke_url: str | None = None
    web_acl_arn: str | None = None
    access_log_destination: str | None = None
    execution_logging_level: str | None = Field(default=None, description="OFF, ERROR or INFO (REST)")
    data_trace_enabled: bool = False
    tracing_enabled: bool = False
    client_certificate_id: str | None = None
    throttling: Throttle | None = Field(default=None, description="Stage-wide default throttle")
    cache_enabled: bool = False
    cache_encrypted: bool = False
    auto_deploy: bool | None = Field(default=None, description="apigatewayv2 only")
    variable_names: list[str] = Field(default_factory=list, description="Names only: values are not stored")
    last_updated: str | None = None
    export_key: str | None = Field(default=None, description="Blob key of this deployment's OpenAPI export")


class Authorizer(Contract):
    id: str
    name: str
    type: str = Field(description="TOKEN, REQUEST, COGNITO_USER_POOLS, JWT")
    identity_source: list[str] = Field(default_factory=list)
    provider_arns: list[str] = Field(default_factory=list)
    authorizer_uri: str | None = Field(default=None, description="Without user-info, query values or fragment")
    jwt_issuer: str | None = None
    jwt_audience: list[str] = Field(default_factory=list)

    redact_uris = field_validator("authorizer_uri", "jwt_issuer")(_redacted)


class Api(Contract):
    kind: ApiKind
    id: str
    name: str
    endpoint_type: str = Field(description="EDGE, REGIONAL or PRIVATE")
    default_endpoint_enabled: bool
    api_endpoint: str | None = None
    resource_policy: dict[str, Any] | None = Field(default=None, description="Parsed resource policy")
    tags: dict[str, str] = Field(default_factory=dict)
    cors: dict[str, Any] | None = None
    api_key_source: str | None = None
    route_selection_expression: str | None = None
    vpc_endpoint_ids: list[str] = Field(default_factory=list)
    created_date: str | None = None
    stages: list[Stage] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    authorizers: list[Authorizer] = Field(default_factory=list)

    shallow = field_validator("resource_policy", "cors")(_shallow)


class DomainMapping(Contract):
    base_path: str = Field(description="'' for the root mapping")
    api_id: str
    stage: str


class Domain(Contract):
    name: str
    endpoint_type: str
    security_policy: str | None = None
    mutual_tls_truststore_uri: str | None = None
    mutual_tls_truststore_version: str | None = None
    target_domain_name: str | None = Field(default=None, description="CloudFront or regional hostname")
    mappings: list[DomainMapping] = Field(default_factory=list)

    redact_truststore = field_validator("mutual_tls_truststore_uri")(_redacted)


class UsagePlanStage(Contract):
    api_id: str
    stage: str


class Quota(Contract):
    limit: int | None = None
    period: str | None = None


class UsagePlan(Contract):
    id: str
    name: str
    stages: list[UsagePlanStage] = Field(default_factory=list)
    throttle: Throttle | None = None
    quota: Quota | None = None


class VpcLink(Contract):
    id: str
    name: str
    kind: Literal["REST", "V2"]
    status: str | None = None
    target_arns: list[str] = Field(default_factory=list)
    subnet_ids: list[str] = Field(default_factory=list)


class Finding(Contract):
    rule_id: str
    severity: Literal["critical", "high", "medium", "low", "info"]
    title: str
    resource: str = Field(description="What the finding is about, e.g. rest/abc123/prod GET /pets")
    api_id: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)

    shallow = field_validator("evidence")(_shallow)


class Rescan(Contract):
    """A targeted rescan: the parts a change event named, read again; the rest carried from `base`."""

    base: str = Field(description="Key of the complete snapshot the rest is carried from")
    read: list[str] = Field(description="What was read again: rest_api#<id>, v2_api#<id>, domain#<name> ...")
    removed: list[str] = Field(default_factory=list, description="What a read confirmed gone (NotFound)")
    full_scan_at: str = Field(description="When the full scan this view grew from started")
    read_at: dict[str, str] = Field(
        default_factory=dict, description="When each part read again since that full scan was read, the latest"
    )


class Snapshot(Contract):
    schema_version: Literal[1] = SCHEMA_VERSION
    run_id: str
    account_id: str
    region: str
    scanned_at: str = Field(description="UTC ISO 8601 time the scan started")
    status: ScanStatus
    errors: list[ScanError] = Field(default_factory=list)
    api_calls: dict[str, int] = Field(default_factory=dict, description="Calls made, by service:operation")
    api_retries: dict[str, int] = Field(
        default_factory=dict, description="Retries botocore made (mostly throttling), by service:operation"
    )
    apis: list[Api] = Field(default_factory=list)
    domains: list[Domain] = Field(default_factory=list)
    usage_plans: list[UsagePlan] = Field(default_factory=list)
    vpc_links: list[VpcLink] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    rescan: Rescan | None = Field(default=None, description="Set when a change event's targeted rescan made it")
