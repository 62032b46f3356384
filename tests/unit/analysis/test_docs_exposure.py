"""The exposure/findings/changes page names every verdict, rule, change type and event the code has."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from api_discovery.analysis.diff import ChangeType
from api_discovery.analysis.exposure import VERDICTS
from api_discovery.analysis.findings import CATALOGUE
from api_discovery.events.models import DETAILS

DOC = Path(__file__).resolve().parents[3] / "docs" / "exposure-findings-changes.md"


def test_the_doc_names_everything_the_code_has() -> None:
    text = DOC.read_text()
    names = [*VERDICTS, *CATALOGUE, *get_args(ChangeType)]
    missing = [n for n in names if f"`{n}`" not in text]
    missing += [d.DETAIL_TYPE for d in DETAILS if f"`{d.DETAIL_TYPE}`" not in text]
    assert missing == []
    for rule in CATALOGUE.values():
        assert f"| `{rule.id}` | {rule.severity} |" in text, rule.id
