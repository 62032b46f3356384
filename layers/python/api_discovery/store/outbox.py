"""Runs whose events are not all published yet: nothing a run found is lost when its publishing stops.

Finalize records each run's publish manifest here before any of its events is sent, and the announce step
deletes the record once every batch is out. A run that finalize finds here (its publishing crashed or timed
out) has its batches published again by the next run; each batch's cursor (`events.notify`) skips what was
already sent, so every event still goes out once, under its own run's id.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from api_discovery.store.state import RUN_RECORD_DAYS, TTL_ATTRIBUTE, from_item, to_item

OUTBOX_PK = "OUTBOX"


class Outbox:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def add(self, run_id: str, manifest_key: str) -> None:
        expires = int(time.time()) + RUN_RECORD_DAYS * 86400
        item = {
            "pk": OUTBOX_PK,
            "sk": f"RUN#{run_id}",
            "run_id": run_id,
            "manifest_key": manifest_key,
            "added_at": int(time.time()),
        }
        self.client.put_item(TableName=self.table, Item=to_item({**item, TTL_ATTRIBUTE: expires}))

    def pending(self, older_than: int = 0) -> dict[str, str]:
        """Run id -> publish manifest key, for every run not yet announced that was recorded more than
        `older_than` seconds ago."""
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": OUTBOX_PK}},
            ConsistentRead=True,
        )
        items = (from_item(raw) for page in pages for raw in page.get("Items", []))
        cutoff = time.time() - older_than
        return {str(i["run_id"]): str(i["manifest_key"]) for i in items if int(i.get("added_at", 0)) <= cutoff}

    def close(self, run_ids: Sequence[str]) -> None:
        for run_id in run_ids:
            self.client.delete_item(TableName=self.table, Key=to_item({"pk": OUTBOX_PK, "sk": f"RUN#{run_id}"}))
