"""Snapshot serialization: deterministic bytes, a content hash of what was found, a schema that cannot drift."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from api_discovery.analysis.diff import compute_changes
from api_discovery.blobs import LocalBlobStore
from api_discovery.errors import SnapshotFormatError
from api_discovery.inventory.model import Api, Integration, Route, Snapshot, Stage
from api_discovery.inventory.snapshots import (
    canonical_json,
    content_hash,
    decode,
    encode,
    read_snapshot,
    snapshot_key,
    write_snapshot,
)
from api_discovery.local.schema import render, schema_files

SCHEMAS = Path(__file__).parents[3] / "schemas"


def _snapshot(run_id: str = "r1", scanned_at: str = "2026-03-04T05:06:07.000000Z", name: str = "pets") -> Snapshot:
    api = Api(
        kind="REST",
        id="abc",
        name=name,
        endpoint_type="EDGE",
        default_endpoint_enabled=True,
        tags={"b": "2", "a": "1"},
        stages=[Stage(name="prod", variable_names=["x"])],
        routes=[Route(method="GET", path="/", authorization_type="NONE")],
    )
    return Snapshot(
        run_id=run_id,
        account_id="111111111111",
        region="eu-west-1",
        scanned_at=scanned_at,
        status="complete",
        api_calls={"apigateway:GetRestApis": 1},
        apis=[api],
    )


def test_streamed_encoding_is_the_canonical_json_of_the_whole_snapshot() -> None:
    snapshot = _snapshot()
    whole = canonical_json(snapshot.model_dump(mode="json"))
    assert gzip.decompress(encode(snapshot)) == whole
    content = canonical_json(snapshot.model_dump(mode="json", include={"apis", "domains", "usage_plans", "vpc_links"}))
    assert content_hash(snapshot) == hashlib.sha256(content).hexdigest()


def test_encoding_is_deterministic_and_round_trips() -> None:
    snapshot = _snapshot()
    assert encode(snapshot) == encode(_snapshot())
    assert decode(encode(snapshot)) == snapshot


def test_content_hash_ignores_when_and_by_which_run_but_not_what() -> None:
    assert content_hash(_snapshot()) == content_hash(_snapshot(run_id="r2", scanned_at="2027-01-01T00:00:00.000000Z"))
    assert content_hash(_snapshot()) != content_hash(_snapshot(name="pets-v2"))


def test_key_is_hive_style_for_athena() -> None:
    assert snapshot_key(_snapshot()) == "snapshots/account=111111111111/region=eu-west-1/date=2026-03-04/run=r1.json.gz"


def test_written_snapshot_reads_back(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    ref = write_snapshot(store, _snapshot())
    assert ref.key.endswith(".json.gz") and Path(ref.uri).exists()
    assert read_snapshot(store, ref.key) == _snapshot()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"plain text", "not a gzip JSON snapshot"),
        (gzip.compress(b'{"schema_version": 2}'), "schema_version 2"),
        (gzip.compress(b'{"schema_version": 1, "run_id": "r"}'), "does not match schema_version 1"),
    ],
)
def test_unreadable_snapshots_say_why(payload: bytes, message: str) -> None:
    with pytest.raises(SnapshotFormatError, match=message):
        decode(payload)


def _corrupt(data: bytes) -> bytes:
    flipped = bytearray(data)
    flipped[20] ^= 0xFF  # inside the deflate stream, past the gzip header
    return bytes(flipped)


def _deep_policy(depth: int) -> bytes:
    api = _snapshot().apis[0].model_dump(mode="json")
    raw = _snapshot().model_dump(mode="json") | {"apis": [api | {"resource_policy": {"x": 1}}]}
    text = json.dumps(raw).replace('{"x": 1}', '{"a": ' * depth + "1" + "}" * depth)
    return gzip.compress(text.encode())


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(encode(_snapshot())[:-8], id="truncated (EOFError)"),
        pytest.param(_corrupt(encode(_snapshot())), id="corrupt deflate data (zlib.error)"),
        pytest.param(b"\x1f\x8b\x08\x00garbage", id="a gzip header and no stream (EOFError)"),
        pytest.param(b"\x1f\x8cnot gzip", id="not gzip (BadGzipFile)"),
        pytest.param(gzip.compress(b'{"run_id": "\xff"}'), id="not UTF-8 (UnicodeDecodeError)"),
        pytest.param(gzip.compress(b'{"schema_version": 1, "apis": ' + b"[" * 100_000), id="deeper than the parser"),
        # Readable, but deeper than the serializers go: every later diff against it would fail.
        pytest.param(_deep_policy(300), id="policy nested 300 deep"),
    ],
)
def test_corrupt_or_truncated_snapshots_raise_the_format_error(payload: bytes) -> None:
    with pytest.raises(SnapshotFormatError):
        decode(payload)


def test_a_snapshot_stored_before_redaction_reads_back_redacted_and_diffs_as_unchanged() -> None:
    secret = "https://svc:hunter2@backend.example.com/orders?api_key=k3y"
    routed = Route(
        method="GET", path="/", authorization_type="NONE", integration=Integration(type="HTTP", target=secret)
    )
    new = _snapshot("r2", "2026-03-05T05:06:07.000000Z").model_copy(
        update={"apis": [_snapshot().apis[0].model_copy(update={"routes": [routed]})]}
    )
    stored = new.model_copy(update={"run_id": "r1"}).model_dump(mode="json")
    stored["apis"][0]["routes"][0]["integration"]["target"] = secret  # as written before redaction existed
    old = decode(gzip.compress(json.dumps(stored).encode()))
    target = old.apis[0].routes[0].integration
    assert target is not None and target.target == "https://***@backend.example.com/orders?api_key=***"
    changes = compute_changes(old, new)
    assert not changes and "hunter2" not in json.dumps([c.model_dump() for c in changes])


def test_committed_schemas_match_the_models() -> None:
    for name, schema in schema_files().items():
        committed = SCHEMAS / name
        assert committed.exists(), f"{name} is not committed: run `make schema`"
        assert committed.read_text() == render(schema), f"{name} is out of date: run `make schema`"


def test_snapshots_validate_against_the_committed_schema() -> None:
    schema = json.loads((SCHEMAS / "snapshot.v1.json").read_text())
    jsonschema.validate(json.loads(gzip.decompress(encode(_snapshot()))), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema_version": 1, "status": "bogus"}, schema)
