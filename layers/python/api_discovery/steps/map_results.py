"""Reading what the Distributed Map's ResultWriter stored: one summary per target, failures included."""

from __future__ import annotations

import json
from typing import Any

from api_discovery.blobs import BlobStore
from api_discovery.inventory.results import TargetResult


def read_map_results(blobs: BlobStore, manifest_key: str) -> list[TargetResult]:
    """A target whose scan failed in the Map (after its retries) becomes a failed result with the error."""
    manifest = json.loads(blobs.get(manifest_key))
    files = manifest.get("ResultFiles", {})
    results: list[TargetResult] = []
    for status, entries in files.items():
        for entry in entries:
            for execution in json.loads(blobs.get(entry["Key"])):
                results.append(_result(status, execution))
    return results


def _result(status: str, execution: dict[str, Any]) -> TargetResult:
    if status == "SUCCEEDED" and execution.get("Output"):
        return TargetResult.model_validate(json.loads(execution["Output"]))
    target = json.loads(execution.get("Input") or "{}")
    reason = f"{execution.get('Error', status)}: {execution.get('Cause', '')}".strip(": ")
    return TargetResult(
        run_id=str(target.get("run_id", "")),
        account_id=str(target.get("account_id", "")),
        region=str(target.get("region", "")),
        status="failed",
        reason=reason[:500],
    )
