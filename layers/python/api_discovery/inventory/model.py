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


# Reads whose refusal leaves the API Gateway inventory whole: the region's settings, its client certificates, a
# REST API's request validators, and the Lambda reads (a customer role of the ApiGatewayOnly scope grants none of
# them). A customer role deployed before they were read refuses them; the scan is still complete, the error is
# kept, and the rules those reads feed neither raise nor resolve anything (see `unjudged`). The reads of the
# other entry points (Lambda, AppSync, load balancers, CloudFront) are optional the same way: a refused one leaves
# those entry points unknown, and none is reported gone (ENTRY_READS, api_discovery.analysis.diff).
OPTIONAL_READS: dict[str, frozenset[str]] = {
    "apigateway:GetAccount": frozenset({"logging-without-cloudwatch-role"}),
    "apigateway:GetClientCertificates": frozenset({"client-certificate-expiring"}),
    "apigateway:GetRequestValidators": frozenset(),
    "lambda:ListFunctions": frozenset({"function-url-public"}),
    "lambda:ListFunctionUrlConfigs": frozenset({"function-url-public"}),
    "lambda:GetPolicy": frozenset({"function-url-public"}),
    "appsync:ListGraphqlApis": frozenset({"appsync-api-key-only", "appsync-without-waf"}),
    "appsync:ListApis": frozenset({"appsync-api-key-only", "appsync-without-waf"}),
    "appsync:ListDomainNames": frozenset(),
    "elbv2:DescribeLoadBalancers": frozenset({"elb-http-without-redirect", "elb-weak-tls-policy"}),
    "elbv2:DescribeListeners": frozenset({"elb-http-without-redirect", "elb-weak-tls-policy"}),
    "elbv2:DescribeRules": frozenset(),
    "elbv2:DescribeTargetGroups": frozenset(),
    "elbv2:DescribeTargetHealth": frozenset(),
    "cloudfront:ListDistributions": frozenset(),
}
# The reads of each kind of entry point beside API Gateway: a refusal of one leaves those entry points unknown,
# so none of them is reported gone.
ENTRY_READS: dict[str, frozenset[str]] = {
    "FUNCTION_URL": frozenset({"lambda:ListFunctions", "lambda:ListFunctionUrlConfigs"}),
    "APPSYNC_GRAPHQL": frozenset({"appsync:ListGraphqlApis"}),
    "APPSYNC_EVENTS": frozenset({"appsync:ListApis"}),
    "APPSYNC_DOMAIN": frozenset({"appsync:ListDomainNames"}),
    "LOAD_BALANCER": frozenset({"elbv2:DescribeLoadBalancers", "elbv2:DescribeListeners"}),
    "CLOUDFRONT": frozenset({"cloudfront:ListDistributions"}),
}


def essential(errors: list[ScanError]) -> list[ScanError]:
    """The errors that leave a part of the inventory unread."""
    return [e for e in errors if e.operation not in OPTIONAL_READS]


def unjudged(errors: list[ScanError]) -> frozenset[str]:
    """The finding rules that could not judge this scan: an optional read they depend on was refused."""
    return frozenset().union(*(OPTIONAL_READS.get(e.operation, frozenset()) for e in errors))


class Integration(Contract):
    type: str | None = Field(description="AWS, AWS_PROXY, HTTP, HTTP_PROXY, MOCK")
    target: str | None = Field(
        description="Integration URI or Lambda ARN, without user-info, query values or fragment (redacted as ***)"
    )
    connection_type: str | None = None
    connection_id: str | None = Field(default=None, description="VPC link id for private integrations")
    integration_target: str | None = Field(
        default=None, description="Load balancer ARN a REST VPC link v2 integration reaches"
    )
    credentials: str | None = Field(
        default=None,
        description="IAM role the integration assumes; 'caller' when the caller's own credentials pass through",
    )
    tls_skip_verification: bool | None = Field(
        default=None, description="REST: the backend's certificate is not verified (tlsConfig.insecureSkipVerification)"
    )
    tls_server_name: str | None = Field(default=None, description="HTTP/WebSocket: TlsConfig.ServerNameToVerify")
    timeout_ms: int | None = None
    response_transfer_mode: str | None = Field(default=None, description="BUFFERED or STREAM (REST)")
    cors_preflight: bool | None = Field(
        default=None,
        description="REST: a MOCK integration of an OPTIONS method that only answers CORS headers (None: not judged)",
    )
    cors_allow_origin: str | None = Field(default=None, description="The preflight's Access-Control-Allow-Origin")
    cors_allow_credentials: bool | None = Field(default=None, description="Access-Control-Allow-Credentials: true")

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


class MethodSettings(Contract):
    """One `methodSettings` key of a REST stage ('*/*' or 'resource/METHOD'), or one route of a v2 stage."""

    key: str = Field(description="REST: '*/*' or '{resource path}/{method}'; v2: the route key")
    logging_level: str | None = None
    data_trace_enabled: bool = False
    metrics_enabled: bool = False
    caching_enabled: bool = False
    cache_encrypted: bool = False
    cache_ttl_seconds: int | None = None
    throttling: Throttle | None = None


class Canary(Contract):
    percent_traffic: float | None = None
    deployment_id: str | None = None
    use_stage_cache: bool = False
    variable_names: list[str] = Field(default_factory=list, description="Names only: values are not stored")


class SecretVariable(Contract):
    """A stage variable whose name or value looks like a credential. The value is never stored."""

    name: str
    detector: str = Field(description="What matched, e.g. name:password or value:aws-access-key-id")


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
    secret_variables: list[SecretVariable] = Field(
        default_factory=list, description="Variables that look like credentials: name and detector only"
    )
    last_updated: str | None = None
    export_key: str | None = Field(default=None, description="Blob key of this deployment's OpenAPI export")
    access_log_format: str | None = None
    cache_cluster_size: str | None = None
    method_settings: list[MethodSettings] = Field(
        default_factory=list, description="Every methodSettings key (REST) or RouteSettings route (v2)"
    )
    canary: Canary | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class Authorizer(Contract):
    id: str
    name: str
    type: str = Field(description="TOKEN, REQUEST, COGNITO_USER_POOLS, JWT")
    identity_source: list[str] = Field(default_factory=list)
    provider_arns: list[str] = Field(default_factory=list)
    authorizer_uri: str | None = Field(default=None, description="Without user-info, query values or fragment")
    jwt_issuer: str | None = None
    jwt_audience: list[str] = Field(default_factory=list)
    credentials: str | None = Field(default=None, description="IAM role API Gateway assumes to call the authorizer")
    result_ttl_seconds: int | None = Field(default=None, description="How long an authorizer's answer is cached")
    identity_validation: bool = Field(
        default=False, description="An identityValidationExpression screens tokens before the authorizer runs"
    )

    redact_uris = field_validator("authorizer_uri", "jwt_issuer")(_redacted)


class RequestValidator(Contract):
    id: str
    name: str
    validate_body: bool = False
    validate_parameters: bool = False


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
    security_policy: str | None = Field(default=None, description="REST: TLS policy of the default endpoint")
    endpoint_access_mode: str | None = Field(default=None, description="REST: BASIC or STRICT")
    api_status: str | None = Field(default=None, description="REST: AVAILABLE, PENDING, UPDATING or FAILED")
    ip_address_type: str | None = Field(default=None, description="ipv4 or dualstack")
    request_validators: list[RequestValidator] = Field(
        default_factory=list, description="REST: the validators the API's methods reference"
    )

    shallow = field_validator("resource_policy", "cors")(_shallow)


class DomainMapping(Contract):
    base_path: str = Field(description="'' for the root mapping")
    api_id: str
    stage: str


RoutingMode = Literal["API_MAPPING_ONLY", "ROUTING_RULE_ONLY", "ROUTING_RULE_THEN_API_MAPPING"]


class RoutingRule(Contract):
    """A domain's rule: requests whose headers or base path match go to one API's stage, before or instead of
    the mappings (`Domain.routing_mode`)."""

    id: str
    priority: int
    api_id: str
    stage: str
    strip_base_path: bool = False
    base_paths: list[str] = Field(default_factory=list, description="Any of these base paths matches")
    headers: list[str] = Field(default_factory=list, description="'header: value-glob' conditions, all must match")


class AccessAssociation(Contract):
    """A VPC endpoint allowed to reach a private custom domain."""

    arn: str
    source: str = Field(description="The VPC endpoint id")
    source_type: str = Field(description="VPCE")
    source_account: str | None = Field(default=None, description="Account of the association, when known")


class Domain(Contract):
    name: str
    endpoint_type: str
    security_policy: str | None = None
    mutual_tls_truststore_uri: str | None = None
    mutual_tls_truststore_version: str | None = None
    target_domain_name: str | None = Field(default=None, description="CloudFront or regional hostname")
    mappings: list[DomainMapping] = Field(default_factory=list)
    arn: str | None = None
    domain_name_id: str | None = Field(default=None, description="Private domains: the id AWS addresses them by")
    status: str | None = None
    certificate_arns: list[str] = Field(default_factory=list)
    ip_address_type: str | None = None
    endpoint_access_mode: str | None = None
    routing_mode: RoutingMode = "API_MAPPING_ONLY"
    routing_rules: list[RoutingRule] = Field(default_factory=list)
    policy: dict[str, Any] | None = Field(default=None, description="Private domains: who may invoke it")
    management_policy: dict[str, Any] | None = Field(
        default=None, description="Private domains: which accounts may associate VPC endpoints with it"
    )
    access_associations: list[AccessAssociation] = Field(default_factory=list)
    owner_account: str | None = Field(
        default=None,
        description="Set for another account's private domain that this account's VPC endpoints are associated with",
    )
    mutual_tls_truststore_warnings: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)

    redact_truststore = field_validator("mutual_tls_truststore_uri")(_redacted)
    shallow = field_validator("policy", "management_policy")(_shallow)

    @property
    def key(self) -> str:
        """Unique in a region: a private domain may share its name with a public one, not its id."""
        return f"{self.name}+{self.domain_name_id}" if self.domain_name_id else self.name


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
    security_group_ids: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)


class ClientCertificate(Contract):
    """A certificate API Gateway presents to backends. The PEM is not kept."""

    id: str
    created_date: str | None = None
    expiration_date: str | None = None


class AccountSettings(Contract):
    """The region's API Gateway account settings (GetAccount)."""

    cloudwatch_role_arn: str | None = Field(
        default=None, description="Without it, REST and WebSocket stages that log write nothing"
    )


class FunctionUrl(Contract):
    """A Lambda function URL: an HTTPS endpoint of its own, in front of one function, its version or its alias.
    The function's environment variables are never read into the inventory (dropped as ListFunctions answers)."""

    function_name: str
    function_arn: str = Field(description="The function, with its alias when the URL is an alias's")
    qualifier: str | None = Field(default=None, description="The alias the URL belongs to; None for $LATEST")
    url: str
    auth_type: str = Field(description="NONE or AWS_IAM")
    invoke_mode: str | None = Field(default=None, description="BUFFERED or RESPONSE_STREAM")
    cors: dict[str, Any] | None = None
    runtime: str | None = None
    resource_policy: dict[str, Any] | None = Field(
        default=None, description="Parsed resource policy; read only when AuthType is NONE"
    )
    policy_read: bool = Field(
        default=False, description="The policy was read (GetPolicy answered, or said the function has none)"
    )
    exposure: RouteExposure | None = Field(default=None, description="Effective exposure, set by the scan")

    shallow = field_validator("cors", "resource_policy")(_shallow)

    @property
    def key(self) -> str:
        """Unique in a region: a function has one URL for $LATEST and one per alias."""
        return f"{self.function_name}:{self.qualifier}" if self.qualifier else self.function_name


# Load balancer actions that authenticate the caller before a forward, and those that answer by themselves.
AUTHENTICATE_ACTIONS = frozenset({"authenticate-oidc", "authenticate-cognito", "jwt-validation"})
SELF_ANSWERING = frozenset({"redirect", "fixed-response"})
EntryKind = Literal["APPSYNC_GRAPHQL", "APPSYNC_EVENTS", "APPSYNC_DOMAIN", "LOAD_BALANCER", "CLOUDFRONT"]


class Listener(Contract):
    """One listener of a load balancer: the port and protocol it answers on, and what it does first."""

    arn: str
    port: int | None = None
    protocol: str | None = Field(default=None, description="HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, GENEVE")
    ssl_policy: str | None = Field(default=None, description="The TLS security policy of an HTTPS or TLS listener")
    default_actions: list[str] = Field(
        default_factory=list, description="The default actions' types in order: authenticate-oidc, forward ..."
    )
    redirect_protocol: str | None = Field(default=None, description="Where a default redirect action sends to")
    rules: int = Field(default=0, description="Rules besides the default (read for application load balancers)")
    unauthenticated_rules: int = Field(
        default=0, description="Of those, the rules that forward without an authenticate action before"
    )


class Origin(Contract):
    """One origin of a CloudFront distribution. Custom origin headers often carry a shared secret: only their
    names are kept (their values are dropped as ListDistributions answers)."""

    id: str
    domain_name: str
    origin_path: str | None = None
    origin_access_control: str | None = Field(default=None, description="The origin access control's id")
    origin_protocol: str | None = Field(default=None, description="http-only, https-only, match-viewer (custom)")
    custom_header_names: list[str] = Field(default_factory=list)


class EntryPoint(Contract):
    """An entry point outside API Gateway and function URLs: an AppSync GraphQL or Event API, an AppSync custom
    domain, a load balancer with its listeners, or a CloudFront distribution with its origins. CloudFront is
    account-wide: its distributions are in the snapshot of the account's global region only."""

    kind: EntryKind
    id: str
    name: str
    arn: str | None = None
    hosts: list[str] = Field(default_factory=list, description="The DNS names it answers on, lower case")
    scheme: str | None = Field(
        default=None, description="internet-facing or internal (load balancer), GLOBAL or PRIVATE (AppSync)"
    )
    authentication: list[str] = Field(
        default_factory=list,
        description="AppSync: its auth modes; load balancer: authenticate actions; CloudFront: trusted key groups",
    )
    web_acl: str | None = Field(default=None, description="The AWS WAF web ACL in front of it, where AWS says")
    enabled: bool | None = Field(default=None, description="CloudFront: whether the distribution serves")
    subtype: str | None = Field(
        default=None, description="AppSync API type (GRAPHQL, MERGED); load balancer type (application, network)"
    )
    listeners: list[Listener] = Field(default_factory=list)
    origins: list[Origin] = Field(default_factory=list)
    viewer_protocols: list[str] = Field(
        default_factory=list, description="CloudFront: the viewer protocol policies of its cache behaviours"
    )
    behind: list[str] = Field(
        default_factory=list,
        description="What it sends requests to, where the listing says: Lambda functions behind a load balancer, "
        "the AppSync domain name (a CloudFront host) in front of an AppSync custom domain",
    )
    exposure: RouteExposure | None = Field(default=None, description="Effective exposure, set by the scan")

    @property
    def key(self) -> str:
        return f"{self.kind}#{self.id}"


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
    client_certificates: list[ClientCertificate] = Field(default_factory=list)
    account_settings: AccountSettings | None = Field(
        default=None, description="Read only in regions with APIs; None when not read"
    )
    function_urls: list[FunctionUrl] = Field(
        default_factory=list, description="Lambda function URLs of the region (ListFunctions, ListFunctionUrlConfigs)"
    )
    entry_points: list[EntryPoint] = Field(
        default_factory=list,
        description="AppSync APIs and domains, load balancers, and (in the account's global region) CloudFront",
    )
    findings: list[Finding] = Field(default_factory=list)
    catalogue: int = Field(default=1, description="Version of the findings catalogue that judged the findings")
    rescan: Rescan | None = Field(default=None, description="Set when a change event's targeted rescan made it")
