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
        ("connect_route", "authorization_type"),
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
)

CATALOGUE: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def rule(rule_id: str) -> Rule:
    return CATALOGUE[rule_id]
