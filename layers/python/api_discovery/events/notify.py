"""Finalize's publishing: the run's events, each sent once even when finalize runs again for the same run.

Every event has a deterministic id. After each PutEvents call the ids EventBridge accepted are recorded in a
ledger (DynamoDB items `EVENTS#<run id>` / `<event id>`, expiring with the run records); a finalize that runs
again reads the ledger first and sends only what is missing. The window for a duplicate is one batch of at
most 10 events between an accepted call and its record; subscribers can close it by deduplicating on
`detail.event_id`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from api_discovery.blobs import BlobStore
from api_discovery.events.models import Event, run_events
from api_discovery.events.publisher import Publisher
from api_discovery.observability import logger
from api_discovery.store.state import RUN_RECORD_DAYS, TTL_ATTRIBUTE, to_item
from api_discovery.store.tracking import ChangeSet, read_change_set

if TYPE_CHECKING:
    from api_discovery.inventory.results import RunSummary, TargetResult


class Ledger(Protocol):
    def sent(self, run_id: str) -> set[str]: ...

    def record(self, run_id: str, event_ids: Sequence[str]) -> None: ...


class MemoryLedger:
    """For runs without a table (a local scan into a folder): idempotent within the process only."""

    def __init__(self) -> None:
        self.ids: dict[str, set[str]] = {}

    def sent(self, run_id: str) -> set[str]:
        return set(self.ids.get(run_id, set()))

    def record(self, run_id: str, event_ids: Sequence[str]) -> None:
        self.ids.setdefault(run_id, set()).update(event_ids)


class TableLedger:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def sent(self, run_id: str) -> set[str]:
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": _pk(run_id)}},
            ProjectionExpression="sk",
        )
        return {item["sk"]["S"] for page in pages for item in page.get("Items", [])}

    def record(self, run_id: str, event_ids: Sequence[str]) -> None:
        expires = int(time.time()) + RUN_RECORD_DAYS * 86400
        items = [{"pk": _pk(run_id), "sk": i, TTL_ATTRIBUTE: expires} for i in event_ids]
        for start in range(0, len(items), 25):
            pending: dict[str, Any] = {
                self.table: [{"PutRequest": {"Item": to_item(i)}} for i in items[start : start + 25]]
            }
            while pending:
                pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _pk(run_id: str) -> str:
    return f"EVENTS#{run_id}"


def change_sets(blobs: BlobStore, results: Sequence[TargetResult]) -> list[tuple[ChangeSet, str]]:
    """The change sets the run's scans stored, with their URIs, in target order."""
    keys = sorted((r.account_id, r.region, r.changes_key) for r in results if r.changes_key)
    return [(read_change_set(blobs, key), blobs.uri(key)) for _, _, key in keys]


def emit_run(
    summary: RunSummary,
    results: Sequence[TargetResult],
    *,
    blobs: BlobStore,
    publisher: Publisher,
    ledger: Ledger,
    run_record_uri: str | None = None,
) -> dict[str, int]:
    """Send the run's events that were not sent before; returns how many of each detail-type this call sent."""
    events: list[Event] = run_events(summary, results, change_sets(blobs, results), run_record_uri)
    done = ledger.sent(summary.run_id)
    todo = [e for e in events if e.id not in done]
    if len(todo) < len(events):
        logger.info("events already sent for this run are skipped", extra={"skipped": len(events) - len(todo)})
    sent = publisher.publish(todo, on_sent=lambda batch: ledger.record(summary.run_id, [e.id for e in batch]))
    return dict(sorted(sent.items()))
