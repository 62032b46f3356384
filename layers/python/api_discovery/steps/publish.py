"""Publish: one batch of a run's events (an item of the workflow's publishing Map), and the announcement that
closes the run: `Scan Completed`, the run's outbox records, and a sweep's lease."""

from __future__ import annotations

from api_discovery.blobs import BlobStore
from api_discovery.events.notify import Ledger, PublishItem, announce, publish_batch
from api_discovery.events.publisher import Publisher
from api_discovery.inventory.results import RunSummary
from api_discovery.steps.finalize import Announcement, read_run_summary, run_record_key
from api_discovery.store.outbox import Outbox
from api_discovery.store.sweep_lease import SweepLease


def publish(item: PublishItem, *, blobs: BlobStore, publisher: Publisher, ledger: Ledger) -> dict[str, int]:
    return publish_batch(item, blobs=blobs, publisher=publisher, ledger=ledger)


def announce_run(
    announcement: Announcement,
    *,
    blobs: BlobStore,
    publisher: Publisher | None,
    ledger: Ledger,
    outbox: Outbox | None = None,
    lease: SweepLease | None = None,
) -> RunSummary:
    """Every batch is out: say so once, then forget the runs whose publishing this run finished."""
    summary = read_run_summary(blobs, announcement.run_id)
    if publisher is not None:
        uri = blobs.uri(run_record_key(announcement.run_id))
        sent = announce(summary, publisher=publisher, ledger=ledger, run_record_uri=uri)
        summary = summary.model_copy(update={"events": sent})
    if outbox:
        outbox.close(announcement.runs)
    if lease:
        lease.release(announcement.run_id)
    return summary
