"""Findings: risky exposure and missing safeguards, evaluated on a snapshot (see `catalogue` for the rules)."""

from __future__ import annotations

from api_discovery.analysis.findings import entry_rules as _entry_rules  # registers its checks
from api_discovery.analysis.findings.catalogue import CATALOGUE, CATALOGUE_VERSION, NARROWED, SEVERITIES, Rule, rule
from api_discovery.analysis.findings.rules import CHECKS
from api_discovery.inventory.model import Finding, Snapshot

assert _entry_rules
__all__ = ["CATALOGUE", "CATALOGUE_VERSION", "NARROWED", "SEVERITIES", "Rule", "evaluate", "finding_key", "rule"]


def evaluate(snapshot: Snapshot) -> list[Finding]:
    """Every finding of every rule, in a stable order. Routes must carry their exposure (`analysis.exposure`)."""
    found = [f for rule in CATALOGUE.values() if rule.scope == "snapshot" for f in CHECKS[rule.id](snapshot)]
    return sorted(found, key=lambda f: (SEVERITIES.index(f.severity), f.rule_id, f.resource))


def finding_key(finding: Finding) -> str:
    """What identifies a finding across scans: the rule and what it is about."""
    return f"{finding.rule_id}@{finding.resource}"
