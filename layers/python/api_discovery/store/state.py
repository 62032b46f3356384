"""Current state in DynamoDB: one small item per API and per target, never overwritten by an older scan.

Keys (one table, string pk/sk):
  API#<account>#<region>     <kind>#<api id>     current state of one API
  TARGET#<account>#<region>  STATE               last scan of a target, and its last complete one
  REGISTRY                   ACCOUNT#<account>   a registered customer account
  RUN#<run id>               SUMMARY             run summaries (expire through TTL; targets are in S3)
  QUOTA#<account>            HOLDERS             executions sharing an account's quota (store/quota_lease.py)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from api_discovery.inventory.model import Api, Snapshot, essential
from api_discovery.inventory.snapshots import SnapshotRef, api_hash, findings_hash

TTL_ATTRIBUTE = "expires_at"
RUN_RECORD_DAYS = 400
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def api_key(account_id: str, region: str, kind: str, api_id: str) -> dict[str, str]:
    return {"pk": f"API#{account_id}#{region}", "sk": f"{kind}#{api_id}"}


def target_key(account_id: str, region: str) -> dict[str, str]:
    return {"pk": f"TARGET#{account_id}#{region}", "sk": "STATE"}


def create_table(client: Any, name: str) -> None:
    """The table as the CDK stack defines it, for the demo and the tests (the stack owns the real one)."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass
class StateWrite:
    """What applying one snapshot did to the current state."""

    written: int = 0
    removed: int = 0
    stale: int = 0  # a newer scan had already written: left alone
    behind: bool = False  # a newer scan of the target, complete if this one is, was already recorded
    # An older scan moved the last complete snapshot since this one read it: diff again from `moved_to`.
    rebase: bool = False
    moved_to: str | None = None


UNREAD = object()  # apply() without a compare-and-swap on the last complete snapshot


class StateStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def apply(
        self,
        snapshot: Snapshot,
        ref: SnapshotRef | None,
        *,
        read_complete: object = UNREAD,
        only: set[tuple[str, str]] | None = None,
    ) -> StateWrite:
        """Record a scan. A failed scan only updates its target's record; a partial one leaves APIs it saw only
        in part as they were; only a complete scan marks APIs that are gone as removed.

        The pointer to the last complete snapshot moves last: a write that fails before it leaves the next
        scan diffing against the same baseline, so this scan's changes are reported then rather than never.
        Every item write is conditional on its age, so a scan behind a newer one changes nothing it saw.

        `read_complete` is the last complete snapshot key the caller diffed against (None: there was none).
        The pointer moves only from that one, so two racing scans of a target cannot both announce the same
        change: the later one learns where an older one moved it (`moved_to`) and diffs again from there."""
        result = StateWrite()
        recorded = self._update_target(snapshot, ref)
        if not recorded:
            result.stale += 1
        if snapshot.status == "complete":
            # Only a newer complete scan, not a newer failed or partial one, overtakes a complete one.
            current = self.target(snapshot.account_id, snapshot.region, consistent=True) or {}
            result.behind = str(current.get("complete_scanned_at") or "") > snapshot.scanned_at
        else:
            result.behind = not recorded
        if snapshot.status == "failed" or result.behind:
            # Behind a newer view, its APIs are old news, and one it saw that the newer view did not is gone.
            return result
        incomplete = {e.resource.rsplit("/", 1)[-1] for e in essential(snapshot.errors)}
        for api in snapshot.apis:
            if api.id in incomplete or (only is not None and (api.kind, api.id) not in only):
                continue
            if self._update_api(snapshot, api, ref):
                result.written += 1
            else:
                result.stale += 1
        if snapshot.status == "complete" and ref:
            present = {(a.kind, a.id) for a in snapshot.apis}
            for item in self.apis(snapshot.account_id, snapshot.region):
                named = only is None or (item["kind"], item["api_id"]) in only
                if named and item.get("state") == "present" and (item["kind"], item["api_id"]) not in present:
                    result.removed += self._mark_removed(snapshot, item)
            self._move_pointer(snapshot, ref, read_complete, result)
        return result

    def _move_pointer(self, snapshot: Snapshot, ref: SnapshotRef, read_complete: object, result: StateWrite) -> None:
        if self._update_complete(snapshot, ref, read_complete):
            return
        current = self.target(snapshot.account_id, snapshot.region, consistent=True) or {}
        if str(current.get("complete_scanned_at") or "") > snapshot.scanned_at:
            result.behind = True  # a newer one landed meanwhile
        else:
            result.rebase = True
            result.moved_to = str(current.get("complete_snapshot_key") or "") or None

    def mark_seen(self, snapshot: Snapshot, findings_hash: str) -> bool:
        """Record a complete scan whose content is the same as the target's last complete snapshot: when it
        was seen, and by which run. The pointer to that snapshot stays; nothing about its APIs changed."""
        values: dict[str, Any] = {
            "run_id": snapshot.run_id,
            "scanned_at": snapshot.scanned_at,
            "status": snapshot.status,
            "error_count": 0,
            "api_count": len(snapshot.apis),
            "last_seen": snapshot.scanned_at,
            "findings_hash": findings_hash,
        }
        return self._conditional_update(
            target_key(snapshot.account_id, snapshot.region), values, ["reason"], snapshot.scanned_at
        )

    def apis(self, account_id: str, region: str) -> list[dict[str, Any]]:
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"API#{account_id}#{region}"}},
        )
        return [from_item(i) for page in pages for i in page.get("Items", [])]

    def target(self, account_id: str, region: str, *, consistent: bool = False) -> dict[str, Any] | None:
        key = to_item(target_key(account_id, region))
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=consistent).get("Item")
        return from_item(item) if item else None

    def record_run(self, summary: dict[str, Any]) -> None:
        """The run's summary, as an item that expires on its own. Each target's status is in the run's target
        file in S3: one item per target would cost a fleet's sweep 170,000 writes."""
        expires = int(time.time()) + RUN_RECORD_DAYS * 86400
        item = {"pk": f"RUN#{summary['run_id']}", "sk": "SUMMARY", **summary, TTL_ATTRIBUTE: expires}
        self.client.put_item(TableName=self.table, Item=to_item(item))

    def _update_target(self, snapshot: Snapshot, ref: SnapshotRef | None) -> bool:
        values: dict[str, Any] = {
            "account_id": snapshot.account_id,
            "region": snapshot.region,
            "run_id": snapshot.run_id,
            "scanned_at": snapshot.scanned_at,
            "status": snapshot.status,
            "error_count": len(snapshot.errors),
            "reason": snapshot.errors[0].message if snapshot.status == "failed" and snapshot.errors else None,
            "snapshot_key": ref.key if ref else None,
        }
        remove = ["reason"]
        if snapshot.status != "failed":
            values["api_count"] = len(snapshot.apis)
        return self._conditional_update(
            target_key(snapshot.account_id, snapshot.region), values, remove, snapshot.scanned_at
        )

    def _update_complete(self, snapshot: Snapshot, ref: SnapshotRef, read_complete: object = UNREAD) -> bool:
        values = {
            "complete_run_id": snapshot.run_id,
            "complete_snapshot_key": ref.key,
            "complete_scanned_at": snapshot.scanned_at,
            "content_hash": ref.content_hash,
            "findings_hash": findings_hash(snapshot),
            "last_seen": snapshot.scanned_at,
        }
        swap: tuple[str, dict[str, Any]] | None = None
        if read_complete is None:
            swap = ("attribute_not_exists(complete_snapshot_key)", {})
        elif isinstance(read_complete, str):
            swap = ("complete_snapshot_key = :read_complete", {":read_complete": read_complete})
        return self._conditional_update(
            target_key(snapshot.account_id, snapshot.region),
            values,
            [],
            snapshot.scanned_at,
            age="complete_scanned_at",
            also=swap,
        )

    def _update_api(self, snapshot: Snapshot, api: Api, ref: SnapshotRef | None) -> bool:
        values = {
            "account_id": snapshot.account_id,
            "region": snapshot.region,
            "kind": api.kind,
            "api_id": api.id,
            "name": api.name,
            "endpoint_type": api.endpoint_type,
            "route_count": len(api.routes),
            "stage_names": [s.name for s in api.stages],
            "content_hash": api_hash(api),
            "run_id": snapshot.run_id,
            "scanned_at": snapshot.scanned_at,
            "last_seen": snapshot.scanned_at,
            "state": "present",
            "snapshot_key": ref.key if ref else None,
        }
        return self._conditional_update(
            api_key(snapshot.account_id, snapshot.region, api.kind, api.id),
            values,
            ["removed_at"],
            snapshot.scanned_at,
            first_seen=snapshot.scanned_at,
        )

    def _mark_removed(self, snapshot: Snapshot, item: dict[str, Any]) -> int:
        values = {
            "state": "removed",
            "removed_at": snapshot.scanned_at,
            "run_id": snapshot.run_id,
            "scanned_at": snapshot.scanned_at,
        }
        key = api_key(snapshot.account_id, snapshot.region, item["kind"], item["api_id"])
        return int(self._conditional_update(key, values, [], snapshot.scanned_at))

    def _conditional_update(
        self,
        key: dict[str, str],
        values: dict[str, Any],
        remove: list[str],
        scanned_at: str,
        first_seen: str | None = None,
        age: str = "scanned_at",
        also: tuple[str, dict[str, Any]] | None = None,
    ) -> bool:
        names = {f"#{i}": k for i, k in enumerate(values) if values[k] is not None}
        attr_values = {f":{i}": values[k] for i, k in enumerate(values) if values[k] is not None}
        sets = [f"#{i} = :{i}" for i, k in enumerate(values) if values[k] is not None]
        if first_seen:
            names["#first"] = "first_seen"
            attr_values[":first"] = first_seen
            sets.append("#first = if_not_exists(#first, :first)")
        attr_values[":scanned_at"] = scanned_at
        names["#age"] = age
        expression = "SET " + ", ".join(sets)
        dropped = [k for k in remove if k not in values or values[k] is None]
        if dropped:
            names |= {f"#r{i}": k for i, k in enumerate(dropped)}
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(dropped)))
        condition = "(attribute_not_exists(#age) OR #age <= :scanned_at)"
        if also:
            condition += f" AND {also[0]}"
            attr_values |= also[1]
        try:
            self.client.update_item(
                TableName=self.table,
                Key=to_item(key),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(attr_values),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
