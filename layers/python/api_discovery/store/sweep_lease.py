"""One scheduled sweep at a time: the sweep holds a lease in the table from plan until it is announced.

A sweep that fails never announces; its lease then lapses after the workflow's own time limit, so the next
schedule after that starts again. Requests and change events take no lease: they scan what they name, and
the state's conditional writes keep an older read from overwriting a newer one.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from api_discovery.store.state import TTL_ATTRIBUTE, to_item

LEASE_KEY = {"pk": "SWEEP", "sk": "LEASE"}


class SweepLease:
    def __init__(self, client: Any, table_name: str, seconds: int) -> None:
        self.client = client
        self.table = table_name
        self.seconds = seconds

    def take(self, run_id: str, now: datetime | None = None) -> str:
        """Take the lease for this run; returns the run that holds it (this one, or the sweep still running)."""
        moment = int(now.timestamp() if now else time.time())
        item = {**LEASE_KEY, "run_id": run_id, "taken_at": moment, TTL_ATTRIBUTE: moment + self.seconds}
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_item(item),
                # TTL deletes lazily: an expired lease is free even while the item is still there.
                ConditionExpression="attribute_not_exists(pk) OR #expires < :now OR run_id = :run",
                ExpressionAttributeNames={"#expires": TTL_ATTRIBUTE},
                ExpressionAttributeValues=to_item({":now": moment, ":run": run_id}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            held = self.client.get_item(TableName=self.table, Key=to_item(LEASE_KEY), ConsistentRead=True)
            return str(held.get("Item", {}).get("run_id", {}).get("S", "another sweep"))
        return run_id

    def release(self, run_id: str) -> None:
        """Give the lease back, if this run still holds it."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=to_item(LEASE_KEY),
                ConditionExpression="run_id = :run",
                ExpressionAttributeValues=to_item({":run": run_id}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
