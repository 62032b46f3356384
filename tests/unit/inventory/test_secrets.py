"""Credential-looking stage variables: caught by format or by name, and only the name and detector kept."""

from __future__ import annotations

import pytest

from api_discovery.inventory import normalise, secrets

CAUGHT = {
    "partnerKey": ("AKIAIOSFODNN7EXAMPLE", "value:aws-access-key-id"),
    "cert": ("-----BEGIN RSA PRIVATE KEY-----\nMIIE...", "value:private-key"),
    "session": ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl", "value:jwt"),
    "ci": ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "value:github-token"),
    "upstream": ("https://svc:hunter2@backend.internal/api", "value:url-credentials"),
    "blob": ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "value:high-entropy"),
    "dbPassword": ("Pr0d-Ledger-2026!", "name:password"),
    "api_key": ("partner-2026", "name:api-key"),
    "clientSecret": ("not-so-random", "name:secret"),
}
QUIET = {
    "backendHost": "orders.internal",
    "tokenUrl": "https://auth.example.com/oauth2/token",  # a credential's name, but a plain URL
    "passwordSecretArn": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db",  # a reference, not a value
    "apiKeyRequired": "true",
    "keyboardLayout": "de-CH",  # 'key' inside another word is not a credential's name
    "featureFlags": "fast-checkout",
    "emptyToken": "",
}


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_a_credential_is_caught_by_its_format_or_its_name(name: str) -> None:
    value, detector = CAUGHT[name]
    assert [(s.name, s.detector) for s in secrets.detect({name: value})] == [(name, detector)]


@pytest.mark.parametrize("name", sorted(QUIET))
def test_ordinary_values_and_references_are_not_secrets(name: str) -> None:
    assert secrets.detect({name: QUIET[name]}) == []


def test_a_stage_keeps_the_name_and_detector_never_the_value() -> None:
    raw = {"stageName": "prod", "variables": {"dbPassword": "Pr0d-Ledger-2026!", "host": "db.internal"}}
    stage = normalise.rest_stage(raw, api_id="a1", region="eu-west-1")
    assert stage.variable_names == ["dbPassword", "host"]
    assert [(s.name, s.detector) for s in stage.secret_variables] == [("dbPassword", "name:password")]
    assert "Pr0d-Ledger-2026!" not in stage.model_dump_json()


def test_canary_overrides_are_judged_too() -> None:
    raw = {
        "stageName": "prod",
        "variables": {"host": "db.internal"},
        "canarySettings": {"percentTraffic": 10.0, "stageVariableOverrides": {"token": "AKIAIOSFODNN7EXAMPLE"}},
    }
    stage = normalise.rest_stage(raw, api_id="a1", region="eu-west-1")
    assert [s.name for s in stage.secret_variables] == ["token"]
    assert stage.canary is not None and stage.canary.variable_names == ["token"]
    assert "AKIAIOSFODNN7EXAMPLE" not in stage.model_dump_json()
