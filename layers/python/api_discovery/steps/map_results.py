"""Reading what the Distributed Map's ResultWriter stored, one account's result at a time.

The Map writes JSON lines with only each child's output (WriterConfig JSONL + COMPACT), so a sweep's results
are read as a stream, never loaded whole. A child execution that failed is written as AWS's execution record
(its input, error and cause); it becomes a failed result for every region it was given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from api_discovery.blobs import BlobStore, read_lines
from api_discovery.inventory.results import AccountResult
from api_discovery.observability import logger

# Unreadable lines logged one by one; past this, only counted.
MAX_LOGGED = 10
# An account id in a line too broken to parse: a truncated result, or the Input of an execution record
# (a JSON string inside the record, so its quotes are escaped).
_ACCOUNT = re.compile(rb'\\?"account_id\\?"\s*:\s*\\?"([0-9]{12})\\?"')
_ACCOUNT_ID = re.compile(r"[0-9]{12}")


@dataclass(frozen=True)
class UnreadableResult:
    """A line that is not an account's result, with the account it names when that can be told."""

    account_id: str | None
    reason: str


def read_map_results(blobs: BlobStore, manifest_key: str) -> Iterator[AccountResult | UnreadableResult]:
    """Every account result of one Map run. A line that is not a result is yielded as UnreadableResult, and
    reading goes on: one bad item must not stop the run's other results."""
    manifest = json.loads(blobs.get(manifest_key))
    bad = 0
    for status, entries in (manifest.get("ResultFiles") or {}).items():
        for entry in entries:
            for line in _lines(blobs, entry["Key"]):
                result = _parse(status, line)
                if isinstance(result, UnreadableResult):
                    bad += 1
                    if bad <= MAX_LOGGED:
                        extra = {"file": entry["Key"], "account_id": result.account_id, "error": result.reason}
                        logger.warning("map result unreadable", extra=extra)
                yield result
    if bad > MAX_LOGGED:
        logger.warning("map results unreadable", extra={"count": bad, "logged": MAX_LOGGED})


def _parse(status: str, line: Any) -> AccountResult | UnreadableResult:
    try:
        return _result(status, json.loads(line) if isinstance(line, bytes) else line)
    except (ValidationError, ValueError, TypeError, AttributeError, RecursionError) as exc:
        return UnreadableResult(_account_in(line), f"{type(exc).__name__}: {str(exc)[:300]}")


def _lines(blobs: BlobStore, key: str) -> Iterator[Any]:
    """A JSONL file's lines unparsed, so that a bad one fails alone; a JSON array's items (ResultWriter
    without WriterConfig: small runs only), or the whole file as one bad line if it does not parse."""
    if key.endswith(".jsonl"):
        yield from read_lines(blobs.open(key))
        return
    data = blobs.get(key)
    try:
        items = json.loads(data)
    except (ValueError, RecursionError):
        yield data
        return
    yield from items if isinstance(items, list) else [items]


def _account_in(line: Any) -> str | None:
    """The account a bad line is about, if it names one."""
    if isinstance(line, dict):
        account = line.get("account_id")
        if isinstance(account, str) and _ACCOUNT_ID.fullmatch(account):
            return account
        line = str(line.get("Input") or "").encode()
    found = _ACCOUNT.search(line) if isinstance(line, bytes) else None
    return found.group(1).decode() if found else None


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
