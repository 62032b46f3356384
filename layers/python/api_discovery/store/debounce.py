"""Bursts of change events collapse into one rescan per resource: after a quiet period, or at a hard bound.

A deployment pipeline makes dozens of management calls to one API in seconds. Each event adds one to its
resource's count (`record`) and asks to be checked once the quiet period has passed. At its check an event
whose resource has heard nothing newer has the last word: it rescans. One with newer events behind it leaves
the rescan to them, unless the burst began longer than the bound ago: then it rescans now, so a resource that
is never quiet is still rescanned every bound. The rescan's claim deletes the record only if no event came
in meanwhile; a later event opens a new record, and a new rescan reads after it.

Keys: CHANGE#<account>#<region> / RESOURCE#<key>, expiring through the table's TTL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from api_discovery.store.state import TTL_ATTRIBUTE, from_item, to_item

DEFAULT_QUIET_SECONDS = 25
DEFAULT_BOUND_SECONDS = 90
_KEEP_SECONDS = 86_400  # a record no check ever claimed (every check lost) expires on its own
REGION_WIDE = "region"  # the key of a change no single resource holds: the whole region is rescanned

Verdict = Literal["rescan", "later", "done"]


@dataclass(frozen=True)
class Recorded:
    version: int  # this event's place in its resource's burst
    first_at: float  # when the burst's first event happened (epoch seconds)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    version: int = 0  # the version claimed, for a rescan
    first_at: float = 0.0
    reason: str = ""


class Debounce:
    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        quiet_seconds: float = DEFAULT_QUIET_SECONDS,
        bound_seconds: float = DEFAULT_BOUND_SECONDS,
    ) -> None:
        if not 0 < quiet_seconds <= bound_seconds:
            raise ValueError(f"the quiet period ({quiet_seconds} s) must be positive and within the bound")
        self.client = client
        self.table = table_name
        self.quiet = quiet_seconds
        self.bound = bound_seconds

    def record(self, account_id: str, region: str, key: str, at: datetime) -> Recorded:
        """Count one event for the resource; the burst starts at its first event."""
        moment = at.timestamp()
        answer = self.client.update_item(
            TableName=self.table,
            Key=to_item(_key(account_id, region, key)),
            UpdateExpression="ADD #version :one SET #first = if_not_exists(#first, :at), #last = :at, #ttl = :ttl",
            ExpressionAttributeNames={
                "#version": "version",
                "#first": "first_at",
                "#last": "last_at",
                "#ttl": TTL_ATTRIBUTE,
            },
            ExpressionAttributeValues=to_item({":one": 1, ":at": str(moment), ":ttl": int(moment) + _KEEP_SECONDS}),
            ReturnValues="ALL_NEW",
        )
        item = from_item(answer["Attributes"])
        return Recorded(version=int(item["version"]), first_at=float(item["first_at"]))

    def decide(
        self, account_id: str, region: str, key: str, version: int, burst: float, now: datetime | None = None
    ) -> Decision:
        """At an event's check: rescan now, leave it to a later event's check, or nothing left to do. `burst` is
        the first event's time the event was recorded under: a later burst counts its events from 1 again."""
        item = self._read(account_id, region, key)
        current, first_at = (int(item["version"]), float(item["first_at"])) if item else (0, 0.0)
        if item is None or first_at != burst:
            return Decision("done", reason="an earlier check already rescanned this burst")
        waited = (now or datetime.now(UTC)).timestamp() - first_at
        if current > version and waited < self.bound:
            return Decision("later", reason=f"{current - version} newer event(s): the last one's check rescans")
        reason = "quiet" if current == version else f"bound: the burst began {waited:.0f} s ago"
        return Decision("rescan", version=current, first_at=first_at, reason=reason)

    def claim(self, account_id: str, region: str, key: str, version: int) -> bool:
        """Close the burst once its rescan has started. False: an event came in since, whose check rescans
        again (the rescan that started may have read before that event's change)."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=to_item(_key(account_id, region, key)),
                ConditionExpression="#version = :version",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues=to_item({":version": version}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _read(self, account_id: str, region: str, key: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key=to_item(_key(account_id, region, key)), ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None


def _key(account_id: str, region: str, key: str) -> dict[str, str]:
    return {"pk": f"CHANGE#{account_id}#{region}", "sk": f"RESOURCE#{key}"}
