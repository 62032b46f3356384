"""What a REST API's resource policy lets callers do with one route, analysed with policyuniverse.

policyuniverse decides whether an Allow statement is open to anonymous callers (principal `*` with no
condition that limits them to an ARN, account, organisation, source IP, VPC or VPC endpoint) and sorts the
limiting conditions into categories. It ignores negated operators, which API Gateway's own private API
example relies on ("Deny everyone unless aws:SourceVpce equals …"); such a Deny is read here by turning its
negated network conditions into the positive Allow they leave open and asking policyuniverse about that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from policyuniverse.statement import Statement

INVOKE = "execute-api:Invoke"
INVOKE_FUNCTION_URL = "lambda:InvokeFunctionUrl"
NETWORK_CATEGORIES = frozenset({"cidr", "vpc", "vpce"})
_NETWORK_KEYS = frozenset({"aws:sourceip", "aws:sourcevpc", "aws:sourcevpce"})
_NEGATED = re.compile(r"^(?P<prefix>(ForAllValues:|ForAnyValue:)?)(?P<op>StringNotEquals|StringNotLike|NotIpAddress)")
_POSITIVE = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "NotIpAddress": "IpAddress"}
HTTP_VERBS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


@dataclass(frozen=True)
class RouteAccess:
    """The resource policy's effect on one route, over every stage it is deployed to."""

    allowed: bool = False  # some Allow statement applies
    anyone: bool = False  # an applicable Allow is open to anonymous callers and no Deny narrows it
    network_limited: bool = False  # callers must come from listed source IPs, VPCs or VPC endpoints
    principals_only: bool = False  # only named AWS principals (accounts, roles, an organisation) are allowed
    denied: bool = False  # an unconditional Deny to everyone covers the route
    open_statements: tuple[str, ...] = field(default_factory=tuple)  # Sid (or index) of the open Allows


def statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = policy.get("Statement") or []
    return [s for s in ([raw] if isinstance(raw, dict) else raw) if isinstance(s, dict)]


def label(statement: Mapping[str, Any], index: int) -> str:
    return str(statement.get("Sid") or f"#{index}")


def route_access(policy: Mapping[str, Any], api_id: str, stages: Sequence[str], method: str, path: str) -> RouteAccess:
    """How the policy treats requests to `method path` on any of `stages`."""
    requests = request_resources(stages, method, path)
    allows: list[tuple[int, dict[str, Any]]] = []
    network_deny = denied = False
    for index, statement in enumerate(statements(policy)):
        if not _invokes(statement):
            continue
        if statement.get("Effect") == "Allow" and _covers(statement, api_id, requests, every=False):
            allows.append((index, statement))
        elif statement.get("Effect") == "Deny" and _everyone(statement) and _covers(statement, api_id, requests):
            deny = _deny_kind(statement)
            denied = denied or deny == "all"
            network_deny = network_deny or deny == "network"
    return _access(allows, network_deny=network_deny, denied=denied)


def function_url_access(policy: Mapping[str, Any]) -> RouteAccess:
    """How a Lambda function's resource policy treats calls to its URL. The policy is the function's own, so every
    statement's resource is the function: only the action and the principal decide."""
    allows: list[tuple[int, dict[str, Any]]] = []
    network_deny = denied = False
    for index, statement in enumerate(statements(policy)):
        if not _invokes(statement, INVOKE_FUNCTION_URL):
            continue
        if statement.get("Effect") == "Allow":
            allows.append((index, statement))
        elif statement.get("Effect") == "Deny" and _everyone(statement):
            deny = _deny_kind(statement)
            denied = denied or deny == "all"
            network_deny = network_deny or deny == "network"
    return _access(allows, network_deny=network_deny, denied=denied)


def _access(allows: Sequence[tuple[int, dict[str, Any]]], *, network_deny: bool, denied: bool) -> RouteAccess:
    """What the applicable Allows (with their index), and the Denies to everyone found, leave open."""
    open_ones = tuple(label(s, i) for i, s in allows if _open(s))
    anyone = bool(open_ones) and not network_deny and not denied
    limited = network_deny or any(_categories(s) & NETWORK_CATEGORIES for _, s in allows)
    return RouteAccess(
        allowed=bool(allows),
        anyone=anyone,
        network_limited=limited and not anyone,
        principals_only=bool(allows) and not open_ones and not limited,
        denied=denied,
        open_statements=open_ones if anyone else (),
    )


def request_resources(stages: Iterable[str], method: str, path: str) -> list[str]:
    """The `stage/METHOD/path` strings API Gateway matches a request against; ANY stands for every verb."""
    verbs = HTTP_VERBS if method in ("ANY", "*") else (method,)
    tail = path.lstrip("/")
    return [f"{stage}/{verb}/{tail}" for stage in stages or ["*"] for verb in verbs]


def _invokes(statement: Mapping[str, Any], action: str = INVOKE) -> bool:
    if "NotAction" in statement:
        return not any(_matches(a, action, ignore_case=True) for a in _list(statement["NotAction"]))
    return any(_matches(a, action, ignore_case=True) for a in _list(statement.get("Action")))


def _covers(statement: Mapping[str, Any], api_id: str, requests: Sequence[str], *, every: bool = True) -> bool:
    """Whether the statement's resources cover every request (a Deny) or at least one (an Allow)."""
    negate = "NotResource" in statement
    patterns = [_resource_pattern(r, api_id) for r in _list(statement.get("NotResource" if negate else "Resource"))]

    def hit(request: str) -> bool:
        found = any(p is not None and _matches(p, request) for p in patterns)
        return found != negate

    return all(hit(r) for r in requests) if every else any(hit(r) for r in requests)


def _resource_pattern(resource: str, api_id: str) -> str | None:
    """`execute-api:/stage/VERB/path` or a full execute-api ARN, as a pattern over `stage/VERB/path`; None for a
    resource of another API."""
    if resource == "*":
        return "*"
    if resource.startswith("execute-api:/"):
        return resource.removeprefix("execute-api:/")
    parts = resource.split(":", 5)
    if len(parts) == 6 and parts[2] in ("execute-api", "*"):
        api, _, rest = parts[5].partition("/")
        return (rest or "*") if _matches(api, api_id) else None
    return None


def _everyone(statement: Mapping[str, Any]) -> bool:
    return "*" in Statement(dict(statement)).principals


def _deny_kind(statement: Mapping[str, Any]) -> str:
    """'all' for a Deny without condition, 'network' for one that spares only listed networks, else ''."""
    condition = statement.get("Condition")
    if not condition:
        return "all"
    spared: dict[str, dict[str, Any]] = {}
    for operator, entries in condition.items():
        found = _NEGATED.match(operator)
        if not found or not isinstance(entries, dict):
            continue
        network = {k: v for k, v in entries.items() if k.lower() in _NETWORK_KEYS}
        if network:
            positive = found["prefix"] + _POSITIVE[found["op"]] + operator[found.end() :]
            spared[positive] = network
    if not spared:
        return ""
    allow = Statement({"Effect": "Allow", "Principal": "*", "Action": INVOKE, "Resource": "*", "Condition": spared})
    return "" if allow.is_internet_accessible() else "network"


def _open(statement: Mapping[str, Any]) -> bool:
    return bool(Statement(dict(statement)).is_internet_accessible())


def _categories(statement: Mapping[str, Any]) -> set[str]:
    return {entry.category for entry in Statement(dict(statement)).condition_entries}


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _compile(pattern, ignore_case).fullmatch(value) is not None


@cache
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # IAM wildcards: `*` any run of characters (slashes included), `?` one character.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)
