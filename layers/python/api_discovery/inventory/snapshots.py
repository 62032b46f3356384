"""Snapshots as deterministic gzip JSON under Hive-style keys, with a content hash."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from api_discovery.blobs import BlobStore
from api_discovery.errors import SnapshotFormatError
from api_discovery.inventory.model import SCHEMA_VERSION, Api, Snapshot

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


CONTENT_FIELDS = ("apis", "domains", "usage_plans", "vpc_links")


def canonical_chunks(model: BaseModel, fields: Sequence[str] | None = None) -> Iterator[bytes]:
    """canonical_json(model.model_dump(mode="json")) (of `fields` only, if given), one list item at a time: a
    large snapshot is never held as one dict tree and one string besides its models."""
    yield b"{"
    for i, name in enumerate(sorted(fields or type(model).model_fields)):
        yield (b"," if i else b"") + canonical_json(name) + b":"
        value = getattr(model, name)
        if isinstance(value, list) and value and isinstance(value[0], BaseModel):
            for j, item in enumerate(value):
                yield (b"," if j else b"[") + canonical_json(item.model_dump(mode="json"))
            yield b"]"
        else:
            yield canonical_json(model.model_dump(mode="json", include={name})[name])
    yield b"}"


def content_hash(snapshot: Snapshot) -> str:
    """What was found, without when or how: two scans of an unchanged estate hash the same."""
    digest = hashlib.sha256()
    # Function URLs and other entry points count only where there are some: a region hashed before they were
    # read hashes the same.
    extra = tuple(name for name in ("function_urls", "entry_points") if getattr(snapshot, name))
    fields = (*CONTENT_FIELDS, *extra)
    for chunk in canonical_chunks(snapshot, fields):
        digest.update(chunk)
    return digest.hexdigest()


def findings_hash(snapshot: Snapshot) -> str:
    """The findings, which a new catalogue can change even while the content stays the same."""
    digest = hashlib.sha256()
    for finding in snapshot.findings:
        digest.update(canonical_json(finding.model_dump(mode="json")))
    return digest.hexdigest()


def snapshot_key(snapshot: Snapshot) -> str:
    date = snapshot.scanned_at[:10]
    return (
        f"{SNAPSHOT_PREFIX}account={snapshot.account_id}/region={snapshot.region}/"
        f"date={date}/run={snapshot.run_id}.json.gz"
    )


def encode(snapshot: Snapshot) -> bytes:
    out = io.BytesIO()
    # mtime=0 so the same snapshot always gives the same bytes.
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as compressed:
        for chunk in canonical_chunks(snapshot):
            compressed.write(chunk)
    return out.getvalue()


def decode(data: bytes) -> Snapshot:
    """A stored snapshot, or SnapshotFormatError saying why it cannot be one: whatever the bytes, no other
    error escapes, so a caller can treat one unreadable object as unreadable and go on."""
    try:
        raw = json.loads(gzip.decompress(data))
    # OSError covers gzip.BadGzipFile; EOFError a truncated stream; zlib.error corrupt deflate data;
    # ValueError invalid JSON or UTF-8; RecursionError JSON nested deeper than the parser goes.
    except (OSError, EOFError, zlib.error, ValueError, RecursionError) as exc:
        raise SnapshotFormatError(f"not a gzip JSON snapshot: {type(exc).__name__}: {exc}") from exc
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if version != SCHEMA_VERSION:
        raise SnapshotFormatError(f"snapshot schema_version {version!r}, this reader knows {SCHEMA_VERSION}")
    try:
        return Snapshot.model_validate(raw)
    except (ValidationError, RecursionError) as exc:
        raise SnapshotFormatError(f"snapshot does not match schema_version {SCHEMA_VERSION}: {exc}") from exc


def write_snapshot(store: BlobStore, snapshot: Snapshot) -> SnapshotRef:
    data = encode(snapshot)
    key = snapshot_key(snapshot)
    uri = store.put(key, data, content_type="application/gzip")
    return SnapshotRef(key=key, uri=uri, content_hash=content_hash(snapshot), size=len(data))


def read_snapshot(store: BlobStore, key: str) -> Snapshot:
    return decode(store.get(key))
