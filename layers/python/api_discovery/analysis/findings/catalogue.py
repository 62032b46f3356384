"""The findings catalogue: one entry per rule, with an id that never changes once published.

A rule's id is what subscribers filter on and what opened/resolved tracking keys on, so a rule that changes
meaning gets a new id rather than a new title. `evidence` names the fields every finding of the rule carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    rationale: str
    remediation: str
    evidence: tuple[str, ...]
    # "estate": judged across an account's regions by the entry-point map, not by one snapshot's checks.
    scope: Literal["snapshot", "estate"] = "snapshot"


_RULES = (
    Rule(
        "public-route-unauthenticated",
        "high",
        "Public route without authentication",
        "Anyone on the internet can call the route and nothing checks who they are.",
        "Add an authorizer (IAM, Lambda, Cognito or JWT), mutual TLS on every way in, or restrict the resource "
        "policy to known networks; if the route is meant to be public, accept the finding.",
        ("verdict", "authorization_type", "api_key_required", "urls", "reasons"),
    ),
    Rule(
        "public-route-api-key-only",
        "medium",
        "Public route protected only by an API key",
        "API keys identify clients for usage plans; they are shared, leak into clients and logs, and do not "
        "authenticate the caller.",
        "Add an authorizer and keep the API key for metering only.",
        ("verdict", "authorization_type", "api_key_required", "urls"),
    ),
    Rule(
        "public-api-without-waf",
        "medium",
        "Public REST API stage without a WAF web ACL",
        "A stage reachable from the internet has no AWS WAF web ACL to filter abusive or malformed requests.",
        "Associate an AWS WAF web ACL with the stage (or front the API with CloudFront and WAF).",
        ("stage", "web_acl_arn", "public_routes"),
    ),
    Rule(
        "stage-access-logging-off",
        "medium",
        "Stage without access logging",
        "Without access logs there is no record of who called the API, from where and with what result.",
        "Set an access log destination (CloudWatch Logs or Firehose) on the stage.",
        ("stage", "access_log_destination"),
    ),
    Rule(
        "stage-execution-logging-off",
        "low",
        "Stage with execution logging off",
        "Execution logs explain authorizer and integration failures; without them incidents are hard to investigate.",
        "Set the stage's logging level to ERROR or INFO (without data tracing in production).",
        ("stage", "execution_logging_level"),
    ),
    Rule(
        "stage-data-trace-on",
        "medium",
        "Stage logs full request and response data",
        "Data tracing writes request and response bodies, tokens included, to CloudWatch Logs.",
        "Turn data tracing off outside debugging sessions.",
        ("stage", "data_trace_enabled"),
    ),
    Rule(
        "stage-tracing-off",
        "low",
        "REST stage with X-Ray tracing off",
        "Without X-Ray, latency and errors cannot be followed from the API into its integrations.",
        "Enable X-Ray tracing on the stage.",
        ("stage", "tracing_enabled"),
    ),
    Rule(
        "stage-cache-unencrypted",
        "medium",
        "Stage cache enabled but not encrypted",
        "Cached responses are stored unencrypted at rest.",
        "Enable cache data encryption in the stage's method settings.",
        ("stage", "cache_enabled", "cache_encrypted"),
    ),
    Rule(
        "stage-without-throttling",
        "low",
        "Stage without throttling limits",
        "Without stage limits one client can use the whole account's request quota and run up integration costs.",
        "Set default rate and burst limits on the stage.",
        ("stage", "throttling"),
    ),
    Rule(
        "domain-legacy-tls",
        "medium",
        "Custom domain allows TLS 1.0 or 1.1",
        "TLS 1.0 and 1.1 are deprecated (RFC 8996) and fail most compliance baselines.",
        "Switch the domain's security policy to TLS_1_2 or a newer policy.",
        ("domain", "security_policy"),
    ),
    Rule(
        "default-endpoint-beside-custom-domain",
        "medium",
        "Default execute-api endpoint enabled beside a custom domain",
        "Callers can bypass the custom domain, and whatever it enforces (mutual TLS, TLS policy, CDN), through "
        "the default endpoint.",
        "Disable the default execute-api endpoint once clients use the custom domain.",
        ("domains", "default_endpoint_enabled"),
    ),
    Rule(
        "private-api-without-policy",
        "medium",
        "Private API without a resource policy",
        "A PRIVATE API cannot be invoked without a resource policy: it is either broken or unused.",
        "Attach a resource policy that allows execute-api:Invoke from your VPC endpoints only, or delete the API.",
        ("endpoint_type", "resource_policy"),
    ),
    Rule(
        "resource-policy-open",
        "high",
        "Resource policy open to everyone",
        "A statement allows execute-api:Invoke to any principal with no source VPC, VPC endpoint or IP "
        "condition (for a private API: through any VPC endpoint, in any AWS account).",
        "Add an aws:SourceVpce, aws:SourceVpc or aws:SourceIp condition, or name the allowed principals.",
        ("statements", "endpoint_type", "open_routes"),
    ),
    Rule(
        "websocket-connect-unauthorized",
        "high",
        "WebSocket API accepts connections without authorization",
        "Every route of a WebSocket API is reached through $connect; without authorization there anyone can "
        "connect and send messages to every route.",
        "Set IAM or a Lambda authorizer on the $connect route.",
        ("connect_route", "authorization_type", "verdict", "routes", "urls"),
    ),
    Rule(
        "http-route-unauthorized",
        "medium",
        "HTTP API route without authorization",
        "HTTP APIs have no resource policy and no WAF: the route's authorization is its only access control.",
        "Attach a JWT, Lambda or IAM authorizer to the route.",
        ("authorization_type", "verdict"),
    ),
    Rule(
        "api-key-without-throttled-usage-plan",
        "medium",
        "API keys required but no usage plan throttles the stage",
        "Routes require an API key, but no usage plan with throttling limits covers the stage: a leaked key "
        "has no limit.",
        "Attach the stage to a usage plan with rate and burst limits (and a quota).",
        ("stage", "api_key_routes", "usage_plans"),
    ),
    Rule(
        "cors-wildcard-with-credentials",
        "high",
        "CORS allows any origin together with credentials",
        "A preflight that echoes the caller's Origin lets a script on any website send the user's cookies or "
        "credentials to the API and read the answer; with a literal '*' browsers refuse the credentials, and the "
        "API's clients break the day someone relies on them.",
        "List the allowed origins explicitly, or stop allowing credentials.",
        ("source", "allow_origin", "allow_credentials", "routes"),
    ),
    Rule(
        "cors-wildcard-on-authenticated-api",
        "low",
        "CORS allows any origin on an API that authenticates its callers",
        "An API that checks who calls it is rarely meant for every website: scripts on any origin may call it "
        "with a token they hold and read the answer.",
        "List the origins of the API's own front ends.",
        ("source", "allow_origin", "authenticated_routes"),
    ),
    Rule(
        "stage-variable-secret",
        "high",
        "Stage variable looks like a credential",
        "Stage variables are readable by anyone with apigateway:GET and are written into deployment history; a "
        "credential kept there leaks beyond the people meant to hold it. (The value is not stored here.)",
        "Move the secret to AWS Secrets Manager or SSM Parameter Store, read it in the integration, rotate it.",
        ("stage", "variable", "detector"),
    ),
    Rule(
        "integration-tls-verification-off",
        "high",
        "Integration does not verify the backend's TLS certificate",
        "With insecureSkipVerification, API Gateway accepts any certificate from the backend: anyone on the path "
        "can impersonate it and read or change the traffic.",
        "Give the backend a certificate from a trusted authority and turn verification back on.",
        ("routes", "targets"),
    ),
    Rule(
        "rest-endpoint-legacy-tls",
        "medium",
        "REST API's default endpoint accepts TLS below 1.2",
        "The execute-api endpoint's security policy still negotiates TLS 1.0 or 1.1 (deprecated by RFC 8996).",
        "Set the API's security policy to TLS_1_2 or a newer enhanced policy, or disable the default endpoint.",
        ("security_policy", "default_endpoint_enabled"),
    ),
    Rule(
        "method-logs-or-caches-data",
        "medium",
        "Method setting logs full requests or caches responses",
        "A per-method override turns on data tracing (request and response bodies, tokens included, in "
        "CloudWatch Logs) or response caching (a cached answer may be served to another caller).",
        "Remove the override, or turn data tracing off and make the cache key include the caller's identity.",
        ("stage", "method", "data_trace_enabled", "caching_enabled", "cache_encrypted"),
    ),
    Rule(
        "logging-without-cloudwatch-role",
        "medium",
        "Stages log, but the account has no CloudWatch role for API Gateway",
        "Without the account's CloudWatch Logs role, REST and WebSocket stages that say logging is on write "
        "nothing: the logs an investigation will look for do not exist.",
        "Set the CloudWatch Logs role ARN in API Gateway's settings for the region.",
        ("stages", "cloudwatch_role_arn"),
    ),
    Rule(
        "dualstack-policy-ipv4-only",
        "medium",
        "Dualstack API whose resource policy names IPv4 ranges only",
        "The API accepts IPv6 clients, but its aws:SourceIp conditions list only IPv4 ranges: an IPv6 caller "
        "escapes a Deny on those ranges, and an allow-list no longer says who can call.",
        "Add the matching IPv6 ranges to every aws:SourceIp condition, or set the API back to IPv4.",
        ("ip_address_type", "ipv4_ranges"),
    ),
    Rule(
        "private-domain-cross-account-access",
        "medium",
        "Private custom domain reachable from VPC endpoints in other accounts",
        "VPC endpoints of other AWS accounts are associated with the domain: their networks can send requests "
        "to the private APIs it maps.",
        "Keep only the associations you expect; reject the others and narrow the domain's management policy.",
        ("domain", "accounts", "vpc_endpoints"),
    ),
    Rule(
        "client-certificate-expiring",
        "medium",
        "Client certificate expired or expiring within 30 days",
        "Backends that check API Gateway's client certificate refuse every request once it expires.",
        "Generate a new client certificate, trust it in the backend and rotate the stages to it.",
        ("certificate_id", "expiration_date", "expired", "stages"),
    ),
    Rule(
        "function-url-public",
        "high",
        "Lambda function URL open to anyone",
        "The function URL asks for no authentication (AuthType NONE) and the function's resource policy lets "
        "anyone invoke it: every request from the internet runs the function.",
        "Set AuthType to AWS_IAM, or put the function behind API Gateway or CloudFront with authentication; if it "
        "is meant to be public, check that the function itself authenticates callers and accept the finding.",
        ("function", "qualifier", "url", "open_statements", "cors_origins"),
    ),
    Rule(
        "appsync-api-key-only",
        "medium",
        "AppSync API whose only auth mode is an API key",
        "Every caller of the public AppSync API authenticates with the same API key, which ships in clients and "
        "expires only when rotated: anyone who has the key can query or publish.",
        "Add IAM, Cognito, OIDC or a Lambda authorizer as the API's mode and keep API keys for public read-only "
        "data, or make the API private.",
        ("appsync_api", "kind", "auth_modes", "hosts"),
    ),
    Rule(
        "appsync-without-waf",
        "low",
        "Public AppSync API without a WAF web ACL",
        "A GraphQL or Event API reachable from the internet has no AWS WAF web ACL to limit rates, block "
        "introspection or filter abusive requests.",
        "Associate an AWS WAF web ACL with the API (a regional web ACL with the AppSync resource type).",
        ("appsync_api", "kind", "hosts"),
    ),
    Rule(
        "elb-http-without-redirect",
        "medium",
        "Internet-facing load balancer listener on plain HTTP without a redirect to HTTPS",
        "Requests and responses, credentials and session cookies included, cross the internet unencrypted.",
        "Make the listener's default action a redirect to HTTPS (port 443, status 301), and serve on an HTTPS "
        "listener.",
        ("load_balancer", "listener", "port", "default_actions"),
    ),
    Rule(
        "elb-weak-tls-policy",
        "medium",
        "Load balancer listener whose TLS policy accepts TLS 1.0 or 1.1",
        "TLS 1.0 and 1.1 are deprecated (RFC 8996): clients can be talked down to protocols and ciphers with known "
        "weaknesses.",
        "Choose a policy whose oldest protocol is TLS 1.2, e.g. ELBSecurityPolicy-TLS13-1-2-2021-06.",
        ("load_balancer", "listener", "port", "ssl_policy", "scheme"),
    ),
    Rule(
        "cloudfront-origin-bypass",
        "high",
        "Origin reachable around its CloudFront distribution",
        "A distribution fronts an origin that still answers on its own public address: callers can skip the "
        "distribution and whatever it enforces (its WAF web ACL, signed URLs, geo restrictions).",
        "Close the direct way in: disable the API's default execute-api endpoint, give the function URL AuthType "
        "AWS_IAM with an origin access control, or admit only CloudFront at the origin.",
        ("distribution", "origin", "origin_kind", "origin_resource", "direct_verdict", "distribution_web_acl"),
        scope="estate",
    ),
)

CATALOGUE: dict[str, Rule] = {rule.id: rule for rule in _RULES}

# The catalogue's version, stored in each snapshot it judged. A rule narrowed in a version stops raising some
# findings an older catalogue raised for facts that did not change: their end is a "rule-changed"
# resolution, not a fix. (Version 2: WebSocket routes and CORS preflights leave public-route-unauthenticated,
# and a public HTTP route is no longer also http-route-unauthorized.)
CATALOGUE_VERSION = 2
NARROWED: dict[str, int] = {"public-route-unauthenticated": 2, "http-route-unauthorized": 2}


def rule(rule_id: str) -> Rule:
    return CATALOGUE[rule_id]
