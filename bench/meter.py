"""What one Lambda invocation costs its vendor, counted as it happens: every S3, DynamoDB and EventBridge request
its clients send (botocore event hooks), the DynamoDB request units they consume, and the bytes it logs.

DynamoDB capacity: moto reports fixed units, so they are computed as DynamoDB bills them, from item sizes
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html): a read is
one unit per 4 KB of the items it returns (half for an eventually consistent one; a projection reads the whole
item, so the size of what came back is a lower bound that rounds to the same unit for these small items),
a write one unit per 1 KB of the item written (UpdateItem: its key and new values, unless the response holds
the item), at least one unit each, transactions twice. EventBridge: one event per 64 KB chunk of each entry
that was accepted. S3: PUT, COPY, POST and LIST requests in one tier, GET and the rest in the other, DELETE
free. Logs: each line a log event of its bytes plus the 26 bytes CloudWatch Logs counts per event.
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

LOG_EVENT_OVERHEAD = 26  # bytes CloudWatch Logs adds to each event's message (PutLogEvents batch size rules)
EVENT_CHUNK = 64 * 1024
_S3_FREE = ("Delete", "AbortMultipartUpload")
_S3_PUT_LIST = ("Put", "Copy", "Post", "List", "Create", "Complete", "Upload", "Restore")


def attribute_bytes(value: Mapping[str, Any]) -> int:
    """The size DynamoDB bills for one attribute value (AttributeValue wire shape)."""
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        digits = str(raw).lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(_binary(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode()) for v in raw)
    if kind == "NS":
        return sum(attribute_bytes({"N": v}) for v in raw)
    if kind == "BS":
        return sum(len(_binary(v)) for v in raw)
    if kind == "L":
        return 3 + sum(1 + attribute_bytes(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_bytes(v) for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind}")


def _binary(raw: Any) -> bytes:
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    return base64.b64decode(raw)


def item_bytes(item: Mapping[str, Any] | None) -> int:
    return sum(len(name.encode()) + attribute_bytes(value) for name, value in (item or {}).items())


def read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def event_chunks(entry: Mapping[str, Any]) -> int:
    """The 64 KB chunks EventBridge bills for one PutEvents entry (its documented size calculation)."""
    size = 14 if entry.get("Time") is not None else 0
    size += sum(len(str(entry.get(k) or "").encode()) for k in ("Source", "DetailType", "Detail"))
    size += sum(len(str(r).encode()) for r in entry.get("Resources") or [])
    return max(1, math.ceil(size / EVENT_CHUNK))


def s3_tier(operation: str) -> str:
    if operation.startswith(_S3_FREE):
        return "free"
    return "put_list" if operation.startswith(_S3_PUT_LIST) else "get"


@dataclass
class Usage:
    """One invocation's requests and units, as the price table's meters need them."""

    requests: Counter[str] = field(default_factory=Counter)  # "s3:PutObject" -> calls
    attempts: int = 0  # HTTP requests sent, retries included
    s3_put_list: int = 0
    s3_get: int = 0
    ddb_rru: float = 0.0
    ddb_wru: float = 0.0
    ddb_largest_item: int = 0
    events: int = 0  # billed 64 KB chunks of accepted entries
    events_failed: int = 0
    log_bytes: int = 0
    log_events: int = 0
    log_levels: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["requests"] = dict(sorted(self.requests.items()))
        data["log_levels"] = dict(sorted(self.log_levels.items()))
        return data

    def add(self, other: Mapping[str, Any]) -> None:
        """Add a usage that came back as a dict (from another process)."""
        self.requests.update(other.get("requests", {}))
        self.log_levels.update(other.get("log_levels", {}))
        for name in (
            "attempts",
            "s3_put_list",
            "s3_get",
            "ddb_rru",
            "ddb_wru",
            "events",
            "events_failed",
            "log_bytes",
            "log_events",
        ):
            setattr(self, name, getattr(self, name) + other.get(name, 0))
        self.ddb_largest_item = max(self.ddb_largest_item, int(other.get("ddb_largest_item", 0)))


class Meter:
    """Counts for whatever runs in this process now (one invocation at a time, as in a Lambda environment);
    `take()` returns what was counted since the last take and starts again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = Usage()

    def take(self) -> Usage:
        with self._lock:
            usage, self._usage = self._usage, Usage()
            return usage

    def attach(self, client: Any) -> Any:
        """Count every call `client` makes from now on. Returns the client."""
        events = client.meta.events
        service = client.meta.service_model.service_name
        events.register(f"before-parameter-build.{service}", _keep_params)
        events.register(f"before-send.{service}", self._attempt)
        events.register(f"after-call.{service}", self._called)
        events.register(f"after-call-error.{service}", self._failed)
        return client

    def _attempt(self, **_: Any) -> None:
        with self._lock:
            self._usage.attempts += 1

    def _failed(self, model: Any, context: Mapping[str, Any], **_: Any) -> None:
        self._count(model.service_model.service_name, model.name, context.get("bench_params", {}), {})

    def _called(self, parsed: Mapping[str, Any], model: Any, context: Mapping[str, Any], **_: Any) -> None:
        self._count(model.service_model.service_name, model.name, context.get("bench_params", {}), parsed)

    def _count(self, service: str, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> None:
        with self._lock:
            usage = self._usage
            usage.requests[f"{service}:{operation}"] += 1
            if service == "s3":
                tier = s3_tier(operation)
                usage.s3_put_list += tier == "put_list"
                usage.s3_get += tier == "get"
            elif service == "dynamodb":
                rru, wru, largest = dynamodb_units(operation, params, parsed)
                usage.ddb_rru += rru
                usage.ddb_wru += wru
                usage.ddb_largest_item = max(usage.ddb_largest_item, largest)
            elif service == "events" and operation == "PutEvents":
                entries = list(params.get("Entries", []))
                results = list(parsed.get("Entries", [])) or [{}] * len(entries)
                for entry, result in zip(entries, results, strict=False):
                    if result.get("ErrorCode"):
                        usage.events_failed += 1
                    else:
                        usage.events += event_chunks(entry)

    def log_line(self, line: str) -> None:
        level = _level(line)
        with self._lock:
            self._usage.log_bytes += len(line.encode()) + LOG_EVENT_OVERHEAD
            self._usage.log_events += 1
            self._usage.log_levels[level] += 1


def _keep_params(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["bench_params"] = dict(params)


def _level(line: str) -> str:
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            return "text"
        if isinstance(record, dict):
            if "_aws" in record:
                return "metrics"
            return str(record.get("level", "json"))
    return "text"


def dynamodb_units(operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> tuple[float, float, int]:
    """(read units, write units, largest item seen) of one DynamoDB call."""
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        size = item_bytes(parsed.get("Item"))
        return read_units(size, consistent), 0.0, size
    if operation in ("Query", "Scan"):
        sizes = [item_bytes(i) for i in parsed.get("Items", [])]
        return read_units(sum(sizes), consistent), 0.0, max(sizes, default=0)
    if operation == "BatchGetItem":
        rru, largest = 0.0, 0
        for table, items in parsed.get("Responses", {}).items():
            strong = bool(params.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
            for item in items:
                size = item_bytes(item)
                rru, largest = rru + read_units(size, strong), max(largest, size)
        return rru, 0.0, largest
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        size = _written_size(operation, params, parsed)
        return 0.0, float(write_units(size)), size
    if operation == "BatchWriteItem":
        return 0.0, float(sum(_batch_write_units(params, parsed))), 0
    if operation == "TransactWriteItems":
        units = 0
        for entry in params.get("TransactItems", []):
            (kind, request), *_ = entry.items()
            units += 2 * write_units(item_bytes(request.get("Item")) if kind == "Put" else _update_size(request))
        return 0.0, float(units), 0
    if operation == "TransactGetItems":
        sizes = [item_bytes(r.get("Item")) for r in parsed.get("Responses", [])]
        return sum(2 * read_units(s, True) for s in sizes), 0.0, max(sizes, default=0)
    return 0.0, 0.0, 0


def _written_size(operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> int:
    if parsed.get("Attributes"):
        return item_bytes(parsed["Attributes"])
    if operation == "PutItem":
        return item_bytes(params.get("Item"))
    if operation == "UpdateItem":
        return _update_size(params)
    return item_bytes(params.get("Key"))


def _update_size(request: Mapping[str, Any]) -> int:
    names = request.get("ExpressionAttributeNames") or {}
    values = request.get("ExpressionAttributeValues") or {}
    return item_bytes(request.get("Key")) + sum(len(n.encode()) for n in names.values()) + item_bytes(values)


def _batch_write_units(params: Mapping[str, Any], parsed: Mapping[str, Any]) -> Iterable[int]:
    unprocessed = parsed.get("UnprocessedItems") or {}
    for table, requests in params.get("RequestItems", {}).items():
        left = len(unprocessed.get(table, []))
        for request in requests[: len(requests) - left]:
            put = request.get("PutRequest")
            yield write_units(item_bytes(put["Item"])) if put else 1


class LogStream(io.TextIOBase):
    """Stands in for stdout or stderr in a Lambda environment: what CloudWatch Logs would ingest is counted line
    by line, and the last lines are kept for a crash report; nothing is printed."""

    def __init__(self, meter: Meter, keep: int = 40) -> None:
        super().__init__()
        self.meter = meter
        self.last: deque[str] = deque(maxlen=keep)
        self._partial = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
        for line in lines:
            if line:
                self.meter.log_line(line)
                self.last.append(line[:2000])
        return len(text)

    def flush(self) -> None:
        with self._lock:
            line, self._partial = self._partial, ""
        if line:
            self.meter.log_line(line)
            self.last.append(line[:2000])


def platform_lines(
    request_id: str, seconds: float, memory_mb: int, max_memory_mb: float, init_seconds: float | None, traced: bool
) -> list[str]:
    """The START, END and REPORT lines the Lambda service writes for an invocation (text log format), as the
    service formats them; a model, since no Lambda service runs here."""
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {seconds * 1000:.2f} ms\t"
        f"Billed Duration: {math.ceil(seconds * 1000 + (init_seconds or 0) * 1000)} ms\t"
        f"Memory Size: {memory_mb} MB\tMax Memory Used: {round(max_memory_mb)} MB\t"
    )
    if init_seconds is not None:
        report += f"Init Duration: {init_seconds * 1000:.2f} ms\t"
    if traced:
        report += "\nXRAY TraceId: 1-6756a1b2-0123456789abcdef01234567\tSegmentId: 0123456789abcdef\tSampled: true\t"
    return [f"START RequestId: {request_id} Version: $LATEST", f"END RequestId: {request_id}", report]


def platform_log_bytes(lines: Iterable[str]) -> tuple[int, int]:
    """(bytes, events) of lines as CloudWatch Logs counts them."""
    counted = [len(line.encode()) + LOG_EVENT_OVERHEAD for line in lines]
    return sum(counted), len(counted)
