"""What a partial scan may and may not say. A part that was not read completely (an API whose stages,
resources or routes were refused, an API list or the custom domains) gets no fresh verdict and raises or
resolves no finding: its routes are `unknown` with the reason, and readers show its last complete view.

Without this, a refused GetStages would make every route of the API `unreachable` ("no stage") and its high
findings would vanish, which reads as good news when nothing is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from api_discovery.analysis import findings
from api_discovery.inventory.model import Api, Finding, RouteExposure, ScanError, Snapshot, essential

API_LISTS = ("restapis", "v2/apis")
USAGE_PLAN_RULES = frozenset({"api-key-without-throttled-usage-plan"})  # judged from the usage plans


@dataclass(frozen=True)
class Gaps:
    """The parts of a region a scan did not read completely, each with why."""

    apis: dict[str, str] = field(default_factory=dict)  # api id -> reason
    lists: dict[str, str] = field(default_factory=dict)  # an API list not read to its end -> reason
    domains: str | None = None  # custom domains or their mappings not read completely
    usage_plans: str | None = None

    def __bool__(self) -> bool:
        return bool(self.apis or self.lists or self.domains or self.usage_plans)


def gaps(errors: Sequence[ScanError]) -> Gaps:
    apis: dict[str, str] = {}
    lists: dict[str, str] = {}
    domains: list[str] = []
    plans: list[str] = []
    for error in errors:
        reason = f"{error.operation} {error.code}: {error.message}"[:300]
        resource = error.resource
        parts = resource.split("/")
        if resource in API_LISTS:
            lists.setdefault(resource, reason)
        elif len(parts) >= 2 and parts[-2] in ("restapis", "apis"):
            apis.setdefault(parts[-1], reason)
        elif parts[0] == "domainnames" or resource.startswith("v2/domainnames"):
            domains.append(reason)
        elif resource == "usageplans":
            plans.append(reason)
    return Gaps(apis=apis, lists=lists, domains=next(iter(domains), None), usage_plans=next(iter(plans), None))


def withheld(api: Api, found: Gaps) -> str | None:
    """Why the API's verdicts cannot be trusted from this scan, or None if they can."""
    if api.id in found.apis:
        return found.apis[api.id]
    # Custom domains only add ways in. With the default endpoint on, a route is reachable without them and
    # no domain can make it authenticated (mutual TLS counts only on every way in); with it off, it depends.
    if found.domains and not api.default_endpoint_enabled:
        return found.domains
    return None


def _unknown(api: Api, reason: str) -> Api:
    exposure = RouteExposure(verdict="unknown", reasons=[f"not read completely: {reason}"])
    return api.model_copy(update={"routes": [r.model_copy(update={"exposure": exposure}) for r in api.routes]})


def assess(snapshot: Snapshot) -> Snapshot:
    """The snapshot with the verdicts of what it did not read withheld, and only the findings it can stand by."""
    snapshot = snapshot.model_copy(update={"catalogue": findings.CATALOGUE_VERSION})
    found = gaps(essential(snapshot.errors))
    if not found:
        return snapshot.model_copy(update={"findings": findings.evaluate(snapshot)})
    reasons = {api.id: why for api in snapshot.apis if (why := withheld(api, found))}
    apis = [_unknown(api, reasons[api.id]) if api.id in reasons else api for api in snapshot.apis]
    honest = snapshot.model_copy(update={"apis": apis})
    return honest.model_copy(update={"findings": _standing(findings.evaluate(honest), reasons, found)})


def _standing(found: list[Finding], withheld_apis: dict[str, str], gaps_: Gaps) -> list[Finding]:
    kept = []
    for finding in found:
        if finding.api_id and finding.api_id in withheld_apis:
            continue
        if gaps_.usage_plans and finding.rule_id in USAGE_PLAN_RULES:
            continue
        kept.append(finding)
    return kept
