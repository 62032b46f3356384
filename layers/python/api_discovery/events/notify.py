"""Publishing a run's events in batches, each event once even when a batch or the whole run is published again.

Finalize splits a run's events into batches (`PublishItem`: change sets with changes, failed targets) that the
workflow publishes in parallel. Events are built from the change sets as they are sent, in a fixed order, so
a batch holds one change set's events in memory at a time. After each PutEvents call a cursor records how
many of the batch's events are out (DynamoDB item `EVENTS#<run id>#<n>` / `CURSOR`, expiring with the run
records); a batch published again skips that many. The window for a duplicate is one call of at most 10
events between its acceptance and its record; subscribers can close it by deduplicating on `detail.event_id`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from typing import Any, Protocol

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from api_discovery.blobs import BlobStore
from api_discovery.events.models import Event, completed_event, failed_event, target_events
from api_discovery.events.publisher import MAX_ENTRIES, Publisher
from api_discovery.inventory.results import RunSummary, TargetResult
from api_discovery.observability import logger
from api_discovery.store.state import RUN_RECORD_DAYS, TTL_ATTRIBUTE, to_item
from api_discovery.store.tracking import read_change_set

COMPLETED_BATCH = "completed"


class FailedTarget(BaseModel):
    account_id: str
    region: str
    reason: str | None = None


class PublishItem(BaseModel):
    """One batch of a run's events: an item of the workflow's publishing Map."""

    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    batch: int = Field(ge=0)
    change_sets: list[str] = Field(default_factory=list, description="Keys of change sets that have changes")
    failed: list[FailedTarget] = Field(default_factory=list)


class Ledger(Protocol):
    def sent(self, run_id: str, batch: str) -> int: ...

    def record(self, run_id: str, batch: str, count: int) -> None: ...


class MemoryLedger:
    """For runs without a table (a local scan into a folder): idempotent within the process only."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def sent(self, run_id: str, batch: str) -> int:
        return self.counts.get((run_id, batch), 0)

    def record(self, run_id: str, batch: str, count: int) -> None:
        self.counts[run_id, batch] = count


class TableLedger:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def sent(self, run_id: str, batch: str) -> int:
        item = self.client.get_item(TableName=self.table, Key=to_item(_key(run_id, batch)), ConsistentRead=True)
        return int(item.get("Item", {}).get("sent", {}).get("N", 0))

    def record(self, run_id: str, batch: str, count: int) -> None:
        expires = int(time.time()) + RUN_RECORD_DAYS * 86400
        item = {**_key(run_id, batch), "sent": count, TTL_ATTRIBUTE: expires}
        try:
            # Forward only: a slower copy of the same batch never moves the cursor back.
            self.client.put_item(
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(sent) OR sent < :sent",
                ExpressionAttributeValues=to_item({":sent": count}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


def _key(run_id: str, batch: str) -> dict[str, str]:
    # A partition per batch: the publishing Map's batches write their cursors in parallel.
    return {"pk": f"EVENTS#{run_id}#{batch}", "sk": "CURSOR"}


def batch_events(item: PublishItem, blobs: BlobStore) -> Iterator[Event]:
    """The batch's events in their fixed order, built one change set at a time."""
    for key in item.change_sets:
        yield from target_events(read_change_set(blobs, key), blobs.uri(key))
    for failed in item.failed:
        yield failed_event(
            TargetResult(
                run_id=item.run_id,
                account_id=failed.account_id,
                region=failed.region,
                status="failed",
                reason=failed.reason,
            )
        )


def publish_batch(item: PublishItem, *, blobs: BlobStore, publisher: Publisher, ledger: Ledger) -> dict[str, int]:
    """Send the batch's events that were not sent before; returns how many of each detail-type this call sent."""
    batch = str(item.batch)
    done = ledger.sent(item.run_id, batch)
    if done:
        logger.info("events already sent for this batch are skipped", extra={"batch": batch, "skipped": done})
    events = islice(batch_events(item, blobs), done, None)
    sent: Counter[str] = Counter()
    while chunk := list(islice(events, MAX_ENTRIES)):
        sent.update(publisher.publish(chunk))
        done += len(chunk)
        ledger.record(item.run_id, batch, done)
    return dict(sorted(sent.items()))


def announce(
    summary: RunSummary, *, publisher: Publisher, ledger: Ledger, run_record_uri: str | None = None
) -> dict[str, int]:
    """`Scan Completed`, once, after every batch of the run is out."""
    event: Event = completed_event(summary, run_record_uri)
    if ledger.sent(summary.run_id, COMPLETED_BATCH):
        return {}
    sent = publisher.publish([event])
    ledger.record(summary.run_id, COMPLETED_BATCH, 1)
    return dict(sent)
