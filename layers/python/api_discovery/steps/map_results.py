"""Reading what the Distributed Map's ResultWriter stored, one account's result at a time.

The Map writes JSON lines with only each child's output (WriterConfig JSONL + COMPACT), so a sweep's results
are read as a stream, never loaded whole. A child execution that failed is written as AWS's execution record
(its input, error and cause); it becomes a failed result for every region it was given.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from api_discovery.blobs import BlobStore, read_lines
from api_discovery.inventory.results import AccountResult
from api_discovery.observability import logger


def read_map_results(blobs: BlobStore, manifest_key: str) -> Iterator[AccountResult]:
    """Every account result of one Map run. A line that is not a result is logged and skipped: one bad item
    must not stop the run's other results (its account then counts as having returned nothing)."""
    manifest = json.loads(blobs.get(manifest_key))
    for status, entries in (manifest.get("ResultFiles") or {}).items():
        for entry in entries:
            for line in _records(blobs, entry["Key"]):
                try:
                    yield _result(status, line)
                except (ValidationError, ValueError, TypeError, AttributeError) as exc:
                    logger.warning("map result skipped", extra={"file": entry["Key"], "error": str(exc)[:300]})


def _records(blobs: BlobStore, key: str) -> Iterator[Any]:
    if key.endswith(".jsonl"):
        for line in read_lines(blobs.open(key)):
            yield json.loads(line)
    else:  # a JSON array (ResultWriter without WriterConfig): small runs only
        yield from json.loads(blobs.get(key))


def _result(status: str, record: Any) -> AccountResult:
    if not isinstance(record, dict):
        raise TypeError(f"a map result is an object, got {type(record).__name__}")
    if "ExecutionArn" not in record:
        return AccountResult.model_validate(record)
    if status == "SUCCEEDED" and record.get("Output"):
        return AccountResult.model_validate(json.loads(record["Output"]))
    item = json.loads(record.get("Input") or "{}")
    reason = f"{record.get('Error', status)}: {record.get('Cause', '')}".strip(": ")
    return AccountResult(
        run_id=str(item.get("run_id", "")),
        account_id=str(item.get("account_id", "")),
        regions=list(item.get("regions") or []),
        status="failed",
        reason=reason[:500],
    )
