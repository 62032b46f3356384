"""Route-level changes between a target's previous complete snapshot and a new one.

Only a complete scan can say that something is gone. A partial scan reports what it saw for certain: new
APIs and new findings about them, and changes inside the APIs it read completely, when everything region-wide
(domains, their mappings, usage plans) was read too; never a removal, never a resolved finding. The next
complete scan, compared with the same previous complete snapshot, settles the rest (and may report again a
change a partial scan already reported).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from api_discovery.analysis.entry_diff import entry_point_changes
from api_discovery.analysis.findings import NARROWED, finding_key
from api_discovery.inventory.model import Api, Domain, FunctionUrl, Route, Snapshot, Stage, essential, unjudged
from api_discovery.inventory.snapshots import canonical_json

ChangeType = Literal[
    "api_added",
    "api_removed",
    "api_renamed",
    "endpoint_type_changed",
    "default_endpoint_changed",
    "resource_policy_changed",
    "route_added",
    "route_removed",
    "route_authorization_changed",
    "route_integration_changed",
    "route_exposure_changed",
    "stage_added",
    "stage_removed",
    "stage_settings_changed",
    "domain_added",
    "domain_removed",
    "domain_tls_changed",
    "domain_mappings_changed",
    "domain_routing_changed",
    "domain_access_changed",
    "function_url_changed",
    "entry_point_changed",
    "finding_opened",
    "finding_resolved",
]
REMOVALS: frozenset[str] = frozenset({"api_removed", "route_removed", "stage_removed", "domain_removed"})
STAGE_SETTINGS = (
    "web_acl_arn",
    "access_log_destination",
    "execution_logging_level",
    "data_trace_enabled",
    "tracing_enabled",
    "client_certificate_id",
    "throttling",
    "cache_enabled",
    "cache_encrypted",
)
_AUTHORIZATION = ("authorization_type", "authorizer_id", "authorization_scopes", "api_key_required")
_DOMAIN_PARTS: tuple[tuple[ChangeType, tuple[str, ...]], ...] = (
    ("domain_routing_changed", ("routing_mode", "routing_rules")),
    ("domain_access_changed", ("policy", "management_policy", "access_associations")),
)
_INTEGRATION_SINCE_V1 = ("type", "target", "connection_type", "connection_id")
_ROUTE_PARTS: tuple[tuple[ChangeType, tuple[str, ...]], ...] = (
    ("route_authorization_changed", _AUTHORIZATION),
    ("route_integration_changed", ("integration",)),
)


class Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ChangeType
    api_kind: str | None = None
    api_id: str | None = None
    subject: str  # a route ("GET /pets", "$connect"), stage name, domain name, or rule@resource
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    domain_api_ids: list[str] = []  # for domain changes: the APIs mapped before or after
    # Found by a sweep of an account that forwards its change events: no event announced it (one was lost,
    # or the forwarder is off), so the inventory was stale until now.
    drift: bool = False
    # A resolved finding that a newer catalogue no longer raises for a fact that did not change.
    rule_changed: bool = False

    @property
    def key(self) -> str:
        """What identifies the change within a target's change set."""
        raw = canonical_json([self.type, self.api_kind, self.api_id, self.subject])
        return hashlib.sha256(raw).hexdigest()[:32]


def compute_changes(previous: Snapshot | None, current: Snapshot) -> list[Change]:
    """What changed from `previous` (the last complete snapshot, None for a first scan) to `current`."""
    if current.status == "failed":
        return []
    complete = current.status == "complete"
    gaps = _incomplete_apis(current)
    region_wide_known = complete or not _region_wide_gaps(current)
    before = {(a.kind, a.id): a for a in previous.apis} if previous else {}
    after = {(a.kind, a.id): a for a in current.apis}
    changes: list[Change] = []
    for key, api in after.items():
        if key not in before:
            changes.append(_api_change("api_added", api, after=api_summary(api)))
        elif api.id not in gaps and region_wide_known:
            changes.extend(api_changes(before[key], api))
    if complete:
        changes += [_api_change("api_removed", a, before=api_summary(a)) for k, a in before.items() if k not in after]
    if region_wide_known:
        changes.extend(domain_changes(previous.domains if previous else [], current.domains, removals=complete))
    changes.extend(function_url_changes(previous.function_urls if previous else [], current))
    changes += [
        Change(type=kind, api_kind=entry.kind, api_id=entry.id, subject=entry.name, before=was, after=now)
        for kind, entry, was, now in entry_point_changes(previous.entry_points if previous else [], current)
    ]
    changes.extend(_finding_changes(previous, current, complete, gaps, region_wide_known, set(before)))
    return changes


FUNCTION_URL_KIND = "FUNCTION_URL"
# What a function URL change is about: who may call it and how it answers.
_FUNCTION_URL_FIELDS = ("url", "auth_type", "invoke_mode", "cors", "resource_policy")


def function_url_summary(url: FunctionUrl) -> dict[str, Any]:
    """A function URL in the shape of an API summary: the same events carry both."""
    verdict = url.exposure.verdict if url.exposure else "unknown"
    return {
        "kind": FUNCTION_URL_KIND,
        "id": url.key,
        "name": url.function_name,
        "endpoint_type": "FUNCTION_URL",
        "stages": [url.qualifier or "$LATEST"],
        "route_count": 1,
        "exposure": {verdict: 1},
    }


def function_url_changes(old: list[FunctionUrl], current: Snapshot) -> Iterator[Change]:
    """URLs added, removed (only by a complete scan) and changed. A function whose read failed says nothing."""
    unread = _unread_functions(current)
    before = {u.key: u for u in old}
    after = {u.key: u for u in current.function_urls}

    def change(kind: ChangeType, url: FunctionUrl, was: dict[str, Any] | None, now: dict[str, Any] | None) -> Change:
        return Change(
            type=kind, api_kind=FUNCTION_URL_KIND, api_id=url.key, subject=url.function_name, before=was, after=now
        )

    for key, url in after.items():
        if key not in before:
            yield change("api_added", url, None, function_url_summary(url))
            continue
        was, now = _pick(before[key], _FUNCTION_URL_FIELDS), _pick(url, _FUNCTION_URL_FIELDS)
        if not url.policy_read or not before[key].policy_read:
            was.pop("resource_policy"), now.pop("resource_policy")  # not read: not known to have changed
        if canonical_json(was) != canonical_json(now):
            changed = {k for k in was if canonical_json(was[k]) != canonical_json(now[k])}
            yield change("function_url_changed", url, {k: was[k] for k in changed}, {k: now[k] for k in changed})
        verdicts = (_url_verdict(before[key]), _url_verdict(url))
        if verdicts[0] != verdicts[1] and "unknown" not in verdicts:
            yield change("route_exposure_changed", url, {"verdict": verdicts[0]}, {"verdict": verdicts[1]})
    if current.status == "complete" and not unread:
        for key, url in before.items():
            if key not in after:
                yield change("api_removed", url, function_url_summary(url), None)


def _unread_functions(snapshot: Snapshot) -> bool:
    """Whether some function's URLs were not read (its list, or the function list itself, refused)."""
    return any(e.operation in ("lambda:ListFunctions", "lambda:ListFunctionUrlConfigs") for e in snapshot.errors)


def _url_verdict(url: FunctionUrl) -> str:
    return url.exposure.verdict if url.exposure else "unknown"


def api_summary(api: Api) -> dict[str, Any]:
    verdicts: dict[str, int] = {}
    for route in api.routes:
        verdict = route.exposure.verdict if route.exposure else "unknown"
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    return {
        "kind": api.kind,
        "id": api.id,
        "name": api.name,
        "endpoint_type": api.endpoint_type,
        "default_endpoint_enabled": api.default_endpoint_enabled,
        "stages": [s.name for s in api.stages],
        "route_count": len(api.routes),
        "exposure": dict(sorted(verdicts.items())),
    }


def api_changes(old: Api, new: Api) -> Iterator[Change]:
    if old.name != new.name:
        yield _api_change("api_renamed", new, {"name": old.name}, {"name": new.name})
    api_fields: tuple[tuple[ChangeType, str], ...] = (
        ("endpoint_type_changed", "endpoint_type"),
        ("default_endpoint_changed", "default_endpoint_enabled"),
        ("resource_policy_changed", "resource_policy"),
    )
    for change_type, field in api_fields:
        was, now = getattr(old, field), getattr(new, field)
        if canonical_json(was) != canonical_json(now):
            yield _api_change(change_type, new, {field: was}, {field: now})
    yield from _route_changes(old, new)
    yield from _stage_changes(old, new)


def _route_changes(old: Api, new: Api) -> Iterator[Change]:
    before = {route_subject(r): r for r in old.routes}
    after = {route_subject(r): r for r in new.routes}
    for subject, route in after.items():
        was = before.get(subject)
        if was is None:
            yield _route_change("route_added", new, subject, None, _route_view(route))
            continue
        for change_type, fields in _ROUTE_PARTS:
            old_part, new_part = _pick(was, fields), _pick(route, fields)
            if change_type == "route_integration_changed":
                old_part, new_part = _known_integration(old_part, new_part)
            if old_part != new_part:
                yield _route_change(change_type, new, subject, old_part, new_part)
        old_verdict, new_verdict = _verdict(was), _verdict(route)
        if old_verdict != new_verdict:
            yield _route_change(
                "route_exposure_changed",
                new,
                subject,
                {"verdict": old_verdict},
                {"verdict": new_verdict, "reasons": route.exposure.reasons if route.exposure else []},
            )
    for subject, route in before.items():
        if subject not in after:
            yield _route_change("route_removed", new, subject, _route_view(route), None)


def _stage_changes(old: Api, new: Api) -> Iterator[Change]:
    before = {s.name: s for s in old.stages}
    after = {s.name: s for s in new.stages}
    for name, stage in after.items():
        was = before.get(name)
        if was is None:
            yield Change(type="stage_added", api_kind=new.kind, api_id=new.id, subject=name, after=_settings(stage))
            continue
        old_settings, new_settings = _settings(was), _settings(stage)
        changed = [k for k in STAGE_SETTINGS if old_settings[k] != new_settings[k]]
        if changed:
            yield Change(
                type="stage_settings_changed",
                api_kind=new.kind,
                api_id=new.id,
                subject=name,
                before={k: old_settings[k] for k in changed},
                after={k: new_settings[k] for k in changed},
            )
    for name, stage in before.items():
        if name not in after:
            yield Change(type="stage_removed", api_kind=new.kind, api_id=new.id, subject=name, before=_settings(stage))


def domain_changes(old: list[Domain], new: list[Domain], *, removals: bool = True) -> Iterator[Change]:
    before = {d.key: d for d in old}
    after = {d.key: d for d in new}
    for name, domain in after.items():
        was = before.get(name)
        if was is None:
            yield _domain_change("domain_added", None, domain, None, _domain_view(domain))
            continue
        tls = ("security_policy", "mutual_tls_truststore_uri", "mutual_tls_truststore_version", "endpoint_type")
        old_tls, new_tls = _pick(was, tls), _pick(domain, tls)
        if old_tls != new_tls:
            yield _domain_change("domain_tls_changed", was, domain, old_tls, new_tls)
        if was.mappings != domain.mappings:
            yield _domain_change(
                "domain_mappings_changed",
                was,
                domain,
                {"mappings": [m.model_dump() for m in was.mappings]},
                {"mappings": [m.model_dump() for m in domain.mappings]},
            )
        for change_type, fields in _DOMAIN_PARTS:
            old_part, new_part = _pick(was, fields), _pick(domain, fields)
            if canonical_json(old_part) != canonical_json(new_part):
                yield _domain_change(change_type, was, domain, old_part, new_part)
    if removals:
        for name, domain in before.items():
            if name not in after:
                yield _domain_change("domain_removed", domain, None, _domain_view(domain), None)


def _finding_changes(
    previous: Snapshot | None,
    current: Snapshot,
    complete: bool,
    gaps: set[str],
    region_wide_known: bool,
    known_apis: set[tuple[str, str]],
) -> Iterator[Change]:
    before = {finding_key(f): f for f in previous.findings} if previous else {}
    after = {finding_key(f): f for f in current.findings}
    new_apis = {a.id for a in current.apis if (a.kind, a.id) not in known_apis}
    kinds = {a.id: a.kind for a in current.apis} | ({a.id: a.kind for a in previous.apis} if previous else {})
    for key, finding in after.items():
        # On a partial scan a finding may come from what could not be read: trust it only where all was read.
        trusted = complete or (finding.api_id not in gaps and (region_wide_known or finding.api_id in new_apis))
        if key not in before and trusted:
            yield Change(
                type="finding_opened",
                api_kind=kinds.get(finding.api_id or ""),
                api_id=finding.api_id,
                subject=key,
                after=finding.model_dump(mode="json"),
            )
    if complete:
        judged = previous.catalogue if previous else current.catalogue
        blind = unjudged(current.errors)
        for key, finding in before.items():
            if key not in after and finding.rule_id not in blind:
                yield Change(
                    type="finding_resolved",
                    api_kind=kinds.get(finding.api_id or ""),
                    api_id=finding.api_id,
                    subject=key,
                    before=finding.model_dump(mode="json"),
                    rule_changed=judged < NARROWED.get(finding.rule_id, 0) <= current.catalogue,
                )


def route_subject(route: Route) -> str:
    return route.path if route.method == "*" else f"{route.method} {route.path}"


def _incomplete_apis(snapshot: Snapshot) -> set[str]:
    """APIs a partial scan read only in part (an error about restapis/<id> or v2/apis/<id>)."""
    found = set()
    for error in essential(snapshot.errors):
        parts = error.resource.split("/")
        if len(parts) >= 2 and parts[-2] in ("restapis", "apis"):
            found.add(parts[-1])
    return found


def _region_wide_gaps(snapshot: Snapshot) -> bool:
    """Whether an error is about something other than one API: an API list, domains, mappings, usage plans."""
    apis = _incomplete_apis(snapshot)
    # A function URL's gap says nothing about the APIs: function URLs are diffed on their own.
    return any(
        e.resource.split("/")[-1] not in apis and not e.operation.startswith("lambda:")
        for e in essential(snapshot.errors)
    )


def _api_change(
    change_type: ChangeType, api: Api, before: dict[str, Any] | None = None, after: dict[str, Any] | None = None
) -> Change:
    return Change(type=change_type, api_kind=api.kind, api_id=api.id, subject=api.name, before=before, after=after)


def _route_change(
    change_type: ChangeType, api: Api, subject: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> Change:
    return Change(type=change_type, api_kind=api.kind, api_id=api.id, subject=subject, before=before, after=after)


def _domain_change(
    change_type: ChangeType,
    old: Domain | None,
    new: Domain | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> Change:
    apis = {m.api_id for d in (old, new) if d for m in d.mappings}
    apis |= {r.api_id for d in (old, new) if d for r in d.routing_rules}
    either = new or old
    name = either.key if either else ""
    return Change(type=change_type, subject=name, before=before, after=after, domain_api_ids=sorted(apis))


def _route_view(route: Route) -> dict[str, Any]:
    view = _pick(route, (*_AUTHORIZATION, "integration"))
    view["verdict"] = _verdict(route)
    return view


def _domain_view(domain: Domain) -> dict[str, Any]:
    return domain.model_dump(mode="json")


def _settings(stage: Stage) -> dict[str, Any]:
    return _pick(stage, STAGE_SETTINGS)


def _known_integration(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The integration's fields the older view knew: one stored before a field was read has it as None, and
    the first scan after an upgrade must not report every route as changed."""
    was, now = old.get("integration"), new.get("integration")
    if not isinstance(was, dict) or not isinstance(now, dict):
        return old, new
    known = [k for k, v in was.items() if v is not None or k in _INTEGRATION_SINCE_V1]
    return {"integration": {k: was[k] for k in known}}, {"integration": {k: now.get(k) for k in known}}


def _pick(model: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    dumped: Mapping[str, Any] = model.model_dump(mode="json", include=set(fields))
    return {k: dumped[k] for k in fields}


def _verdict(route: Route) -> str | None:
    return route.exposure.verdict if route.exposure else None
