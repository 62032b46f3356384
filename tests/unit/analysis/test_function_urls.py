"""Lambda function URLs: one exposure verdict each, in the routes' vocabulary, their finding, and their changes."""

from __future__ import annotations

from typing import Any

import pytest

from api_discovery.analysis.diff import compute_changes
from api_discovery.events.models import target_events
from api_discovery.inventory import normalise
from api_discovery.store.tracking import ChangeSet
from tests.unit.estate_factory import ACCOUNT, REGION, error, function_url, snapshot

# The statement AWS's console adds for a URL with AuthType NONE.
OPEN_STATEMENT: dict[str, Any] = {
    "Sid": "FunctionURLAllowPublicAccess",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "lambda:InvokeFunctionUrl",
    "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hooks",
    "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
}


def _policy(**statement: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{**OPEN_STATEMENT, **statement}]}


PUBLIC = _policy()


@pytest.mark.parametrize(
    ("auth", "policy", "verdict"),
    [
        ("AWS_IAM", None, "public-authenticated"),
        ("NONE", PUBLIC, "public-unauthenticated"),
        ("NONE", None, "unreachable"),
        ("NONE", _policy(Principal={"AWS": "arn:aws:iam::123456789012:root"}), "unreachable"),
        ("NONE", _policy(Action="lambda:InvokeFunction"), "unreachable"),
        ("NONE", _policy(Action="lambda:*"), "public-unauthenticated"),
        ("NONE", _policy(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), "network-restricted"),
        ("NONE", _policy(Effect="Deny", Condition=None), "unreachable"),
    ],
)
def test_a_function_url_gets_one_verdict(auth: str, policy: dict[str, Any] | None, verdict: str) -> None:
    url = function_url(auth=auth, policy=policy)
    assert url.exposure is not None
    assert url.exposure.verdict == verdict, url.exposure.reasons


def test_an_unread_policy_leaves_the_verdict_unknown_and_raises_nothing() -> None:
    url = function_url(policy=None, policy_read=False)
    assert url.exposure and url.exposure.verdict == "unknown"
    assert [f for f in snapshot([], function_urls=[url]).findings if f.rule_id == "function-url-public"] == []


def test_an_open_url_is_a_finding_and_an_iam_one_is_not() -> None:
    found = snapshot([], function_urls=[function_url(policy=PUBLIC), function_url("reports", "AWS_IAM")]).findings
    (public,) = [f for f in found if f.rule_id == "function-url-public"]
    assert public.resource == "function/hooks"
    assert public.evidence["open_statements"] == ["FunctionURLAllowPublicAccess"]


def test_an_alias_url_is_told_apart_from_the_functions_own() -> None:
    assert normalise.function_qualifier(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hooks:live", "hooks") == "live"
    assert normalise.function_qualifier(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hooks", "hooks") is None
    assert function_url(qualifier="live").key == "hooks:live"


def test_function_urls_are_added_changed_and_removed_like_apis() -> None:
    first = snapshot([], function_urls=[function_url(policy=PUBLIC), function_url("old", "AWS_IAM")])
    added = compute_changes(None, first)
    assert sorted((c.type, c.api_id) for c in added if c.api_kind == "FUNCTION_URL") == [
        ("api_added", "hooks"),
        ("api_added", "old"),
    ]
    # The URL now asks for IAM: its auth type changed and it is no longer open to anyone.
    later = snapshot(
        [],
        run="20260102T000000Z-bbbb",
        at="2026-01-02T00:00:00.000000Z",
        function_urls=[function_url("hooks", "AWS_IAM", policy_read=False)],
    )
    changes = compute_changes(first, later)
    kinds = sorted((c.type, c.api_id) for c in changes)
    assert ("function_url_changed", "hooks") in kinds
    assert ("route_exposure_changed", "hooks") in kinds
    assert ("api_removed", "old") in kinds
    assert ("finding_resolved", None) in kinds
    changed = next(c for c in changes if c.type == "function_url_changed")
    # The policy was not read the second time: not reported as changed.
    assert changed.before == {"auth_type": "NONE"} and changed.after == {"auth_type": "AWS_IAM"}


def test_a_partial_scan_reports_no_url_gone() -> None:
    first = snapshot([], function_urls=[function_url(policy=PUBLIC)])
    partial = snapshot(
        [],
        run="20260102T000000Z-bbbb",
        at="2026-01-02T00:00:00.000000Z",
        status="partial",
        errors=[error("functions/hooks", "lambda:ListFunctionUrlConfigs")],
    )
    assert [c for c in compute_changes(first, partial) if c.type in ("api_removed", "finding_resolved")] == []


def test_an_unchanged_url_reports_nothing() -> None:
    first = snapshot([], function_urls=[function_url(policy=PUBLIC)])
    again = snapshot(
        [], run="20260102T000000Z-bbbb", at="2026-01-02T00:00:00.000000Z", function_urls=first.function_urls
    )
    assert compute_changes(first, again) == []


def test_a_discovered_url_is_an_api_discovered_event_about_its_function() -> None:
    first = snapshot([], function_urls=[function_url(policy=PUBLIC)])
    changes = compute_changes(None, first)
    change_set = ChangeSet(
        account_id=ACCOUNT,
        region=REGION,
        run_id=first.run_id,
        scanned_at=first.scanned_at,
        status="complete",
        snapshot_key="k",
        snapshot_uri="s3://b/k",
        baseline="first-scan",
        changes=changes,
    )
    events = target_events(change_set)
    discovered = [e for e in events if e.detail_type == "API Discovered"]
    assert [e.resources for e in discovered] == [[f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hooks"]]
    assert discovered[0].detail.model_dump()["api"]["kind"] == "FUNCTION_URL"
    assert any(e.detail_type == "Finding Opened" for e in events)
