"""Snapshots as deterministic gzip JSON under Hive-style keys, with a content hash."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

from pydantic import BaseModel, ValidationError

from api_discovery.blobs import BlobStore
from api_discovery.errors import SnapshotFormatError
from api_discovery.model import SCHEMA_VERSION, Api, Snapshot

SNAPSHOT_PREFIX = "snapshots/"


class SnapshotRef(BaseModel):
    key: str
    uri: str
    content_hash: str
    size: int


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def api_hash(api: Api) -> str:
    return hashlib.sha256(canonical_json(api.model_dump(mode="json"))).hexdigest()


def content_hash(snapshot: Snapshot) -> str:
    """What was found, without when or how: two scans of an unchanged estate hash the same."""
    body = snapshot.model_dump(mode="json", include={"apis", "domains", "usage_plans", "vpc_links"})
    return hashlib.sha256(canonical_json(body)).hexdigest()


def snapshot_key(snapshot: Snapshot) -> str:
    date = snapshot.scanned_at[:10]
    return (
        f"{SNAPSHOT_PREFIX}account={snapshot.account_id}/region={snapshot.region}/"
        f"date={date}/run={snapshot.run_id}.json.gz"
    )


def encode(snapshot: Snapshot) -> bytes:
    # mtime=0 so the same snapshot always gives the same bytes.
    return gzip.compress(canonical_json(snapshot.model_dump(mode="json")), mtime=0)


def decode(data: bytes) -> Snapshot:
    try:
        raw = json.loads(gzip.decompress(data))
    except (OSError, json.JSONDecodeError) as exc:
        raise SnapshotFormatError(f"not a gzip JSON snapshot: {exc}") from exc
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if version != SCHEMA_VERSION:
        raise SnapshotFormatError(f"snapshot schema_version {version!r}, this reader knows {SCHEMA_VERSION}")
    try:
        return Snapshot.model_validate(raw)
    except ValidationError as exc:
        raise SnapshotFormatError(f"snapshot does not match schema_version {SCHEMA_VERSION}: {exc}") from exc


def write_snapshot(store: BlobStore, snapshot: Snapshot) -> SnapshotRef:
    data = encode(snapshot)
    key = snapshot_key(snapshot)
    uri = store.put(key, data, content_type="application/gzip")
    return SnapshotRef(key=key, uri=uri, content_hash=content_hash(snapshot), size=len(data))


def read_snapshot(store: BlobStore, key: str) -> Snapshot:
    return decode(store.get(key))
