"""One customer quota, however many executions scan the account: each holds a place in the account's quota
record while it scans, and spends its budget divided by the places that are live.

Key: QUOTA#<budget scope>  HOLDERS   `holders`: {holder id: expiry epoch}

A holder renews its place (`renew`) every few seconds and reads the record in between (`count`). One that
crashed lapses `seconds` after its last renewal: its expiry is in the past, so nobody counts it, and the
next renewal removes it. The item's TTL follows the latest renewal, so a record left by holders that all
crashed goes away on its own.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from api_discovery.store.state import TTL_ATTRIBUTE, from_item, to_item

QUOTA_PREFIX = "QUOTA#"
HOLDERS_SK = "HOLDERS"
LEASE_SECONDS = 60


def quota_key(scope_key: str) -> dict[str, str]:
    return {"pk": f"{QUOTA_PREFIX}{scope_key}", "sk": HOLDERS_SK}


def _conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class QuotaLease:
    """One execution's place in the quota record of one budget scope (an account, or an account's region)."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        scope_key: str,
        *,
        holder: str | None = None,
        seconds: int = LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.table = table_name
        self.key = quota_key(scope_key)
        self.holder = holder or uuid.uuid4().hex
        self.seconds = seconds
        self._clock = clock

    def renew(self) -> int:
        """Take or extend this holder's place; return how many holders are live, this one included."""
        now = self._clock()
        expiry = int(now) + self.seconds
        names = {"#h": self.holder, "#ttl": TTL_ATTRIBUTE}
        try:
            # A map entry can be set only inside an existing map.
            answer = self._update(
                "SET holders.#h = :exp, #ttl = :exp", "attribute_exists(holders)", names, {":exp": expiry}
            )
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise
            try:
                answer = self._update(
                    "SET holders = :first, #ttl = :exp",
                    "attribute_not_exists(holders)",
                    {"#ttl": TTL_ATTRIBUTE},
                    {":first": {self.holder: expiry}, ":exp": expiry},
                )
            except ClientError as again:
                if not _conditional_failure(again):
                    raise
                # Another holder created the map in between: now the first form applies.
                answer = self._update(
                    "SET holders.#h = :exp, #ttl = :exp", "attribute_exists(holders)", names, {":exp": expiry}
                )
        holders = from_item(answer["Attributes"]).get("holders", {})
        self._remove_lapsed(holders, now)
        return self._live(holders, now)

    def count(self) -> int:
        """How many holders are live now, this one included (it renews before it lapses)."""
        now = self._clock()
        item = self.client.get_item(TableName=self.table, Key=to_item(self.key), ConsistentRead=True).get("Item")
        holders = from_item(item).get("holders", {}) if item else {}
        return self._live(holders, now)

    def leave(self) -> None:
        """Give the place back: the others take its part at their next read."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=to_item(self.key),
                UpdateExpression="REMOVE holders.#h",
                ConditionExpression="attribute_exists(holders)",  # else the update would create the item
                ExpressionAttributeNames={"#h": self.holder},
            )
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise

    def _live(self, holders: Mapping[str, Decimal | int], now: float) -> int:
        return 1 + sum(1 for holder, expiry in holders.items() if holder != self.holder and expiry > now)

    def _remove_lapsed(self, holders: Mapping[str, Decimal | int], now: float) -> None:
        """Drop holders that crashed, so the record stays small; only while they are still lapsed."""
        lapsed = [holder for holder, expiry in holders.items() if expiry <= now and holder != self.holder]
        if not lapsed:
            return
        names = {f"#d{i}": holder for i, holder in enumerate(lapsed)}
        # Housekeeping: a holder that renewed in between keeps its place, and the next renewal tries again.
        with contextlib.suppress(ClientError):
            self.client.update_item(
                TableName=self.table,
                Key=to_item(self.key),
                UpdateExpression="REMOVE " + ", ".join(f"holders.{n}" for n in names),
                ConditionExpression=" AND ".join(f"holders.{n} <= :now" for n in names),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item({":now": int(now)}),
            )

    def _update(self, expression: str, condition: str, names: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.client.update_item(
            TableName=self.table,
            Key=to_item(self.key),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
            ReturnValues="ALL_NEW",
        )
        return answer
