"""The vendor's side of the emulator (S3, DynamoDB, EventBridge) in processes of their own: `python -m
bench.vendor_emulator` starts one and answers commands as JSON lines on stdin and stdout.

moto serves every request under one interpreter lock, and a sweep's DynamoDB updates (moto parses each update
expression) would otherwise take it from the customer side: API Gateway's calls would queue behind them and
no account's wall time would be its quota's. For the same reason DynamoDB has a process of its own beside
S3 and EventBridge: a first sweep writes tens of thousands of items and thousands of snapshots, and one
interpreter serving both answered each scan's writes late, which AWS's services do not. The Lambda
environments reach S3 and EventBridge through AWS_ENDPOINT_URL, DynamoDB through AWS_ENDPOINT_URL_DYNAMODB,
and the customer side through its own service-specific endpoint variables (bench.lambda_pool).

Commands: {"op": "synthetic_round", ...} writes a round of fleet-scale Map results straight into this process's
moto (bench.fleet_results), with change sets copied from those a measured sweep stored here; {"op": "reset"};
{"op": "stop"}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]


def speed_up_moto() -> None:
    """moto's server lists its own package folder (a stat call per service) on every request, to tell a
    service name from a host name; the folder does not change while it runs, so it is listed once. A third of
    the emulator's time per request, which the fleet needs for the scans' own pace to show."""
    from moto import backends  # noqa: PLC0415 - moto is heavy; load on use

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


_PARTITION = threading.local()


def query_one_partition() -> None:
    """moto answers a Query on a table's key by sorting every item of the table and keeping the partition's: a
    fleet's table of ten thousand items makes each Query slower than the sweep's other calls together, and the
    last accounts of a first sweep wait on it. DynamoDB reads one partition; so does this, in the order moto
    would give (by sort key). A Query of an index is left as moto answers it."""
    from moto.dynamodb.models.table import Table  # noqa: PLC0415 - moto is heavy; load on use

    if getattr(Table.query, "_one_partition", False):
        return
    every_item, query = Table.all_items, Table.query

    def all_items(self: Any) -> list[Any]:
        key = getattr(_PARTITION, "key", None)
        if key is None or not self.range_key_attr:
            return every_item(self)
        return sorted(self.items.get(key, {}).values(), key=lambda item: item.range_key)

    def one_partition(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        _PARTITION.key = hash_key if index is None else None
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _PARTITION.key = None

    one_partition._one_partition = True  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = one_partition  # type: ignore[method-assign]


def backend_put(bucket: str) -> Callable[[str, bytes], None]:
    """Objects written straight into moto's S3 in this process: set-up at a scale HTTP would take minutes for."""
    from moto.s3.models import s3_backends  # noqa: PLC0415 - moto is heavy; load on use

    partition, account = s3_backends.bucket_accounts[bucket]
    backend = s3_backends[account][partition]

    def put(key: str, body: bytes) -> None:
        backend.put_object(bucket, key, body)

    return put


def _templates(bucket: str, run_id: str | None) -> list[Any]:
    from moto.s3.models import s3_backends  # noqa: PLC0415

    from bench.fleet_results import ChangeTemplate  # noqa: PLC0415

    if not run_id:
        return []
    partition, account = s3_backends.bucket_accounts[bucket]
    stored = s3_backends[account][partition].get_bucket(bucket).keys
    suffix = f"/run={run_id}.json"
    return [
        ChangeTemplate.parse(stored[k].value.decode())
        for k in list(stored.keys())
        if k.startswith("changes/") and k.endswith(suffix)
    ]


def synthetic_round(command: Mapping[str, Any]) -> dict[str, Any]:
    from bench.fleet_estate import EstateMix, account_ids, build_fleet  # noqa: PLC0415
    from bench.fleet_results import choose_changed, write_round  # noqa: PLC0415

    raw = command["mix"]
    mix = EstateMix(
        empty=float(raw["empty"]),
        small=float(raw["small"]),
        large=float(raw["large"]),
        small_apis=(int(raw["small_apis"][0]), int(raw["small_apis"][1])),
        large_apis=(int(raw["large_apis"][0]), int(raw["large_apis"][1])),
        rest_share=float(raw["rest_share"]),
        seed=int(raw["seed"]),
    )
    fleet = build_fleet(account_ids(command["accounts"], first=command["first_account"]), command["regions"], mix)
    first = bool(command["first_sweep"])
    changed = choose_changed(fleet, first_sweep=first, changed=[tuple(c) for c in command.get("changed", [])])
    templates = _templates(command["templates_bucket"], command.get("templates_run_id"))
    written = write_round(
        fleet,
        run_id=command["run_id"],
        bucket=command["bucket"],
        put=backend_put(command["bucket"]),
        changed=changed,
        first_sweep=first,
        templates=templates,
    )
    return asdict(written)


def main() -> None:
    from bench.lambda_env import die_with_parent  # noqa: PLC0415

    die_with_parent()
    protocol: IO[str] = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # moto and werkzeug may print; the protocol owns stdout
    from api_discovery.local.emulator import Emulator  # noqa: PLC0415

    speed_up_moto()
    query_one_partition()
    emulator = Emulator().start()
    emulator.reset()
    protocol.write(json.dumps({"url": emulator.url}) + "\n")
    for line in sys.stdin:
        command = json.loads(line)
        reply: dict[str, Any] = {"ok": True}
        try:
            if command["op"] == "synthetic_round":
                reply["round"] = synthetic_round(command)
            elif command["op"] == "reset":
                emulator.reset()
            elif command["op"] == "stop":
                break
            else:
                raise ValueError(f"unknown command {command['op']}")
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        protocol.write(json.dumps(reply) + "\n")
    emulator.stop()


class _EmulatorProcess:
    """One emulator process and its command line."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.vendor_emulator"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=dict(env),
        )
        self._lock = threading.Lock()
        self.url = str(self._read()["url"])

    def _read(self) -> dict[str, Any]:
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            raise RuntimeError("the vendor-side emulator stopped")
        message: dict[str, Any] = json.loads(line)
        return message

    def command(self, op: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            if self.process.stdin is None:
                raise RuntimeError("the vendor-side emulator has no stdin")
            self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
            self.process.stdin.flush()
            reply = self._read()
        if not reply.get("ok"):
            raise RuntimeError(f"vendor-side emulator: {reply.get('error')}")
        return reply

    def close(self) -> None:
        try:
            self.command("stop")
        except RuntimeError:
            pass
        finally:
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


class VendorEmulator:
    """The parent's handle on the vendor side: S3 and EventBridge at `url`, DynamoDB at `dynamodb_url`."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._main = _EmulatorProcess(env)
        try:
            self._dynamodb = _EmulatorProcess(env)
        except BaseException:
            self._main.close()
            raise
        self.url = self._main.url
        self.dynamodb_url = self._dynamodb.url

    def command(self, op: str, **fields: Any) -> dict[str, Any]:
        """A command for the S3 side (synthetic rounds are written into its moto); `reset` resets both."""
        if op == "reset":
            self._dynamodb.command(op)
        return self._main.command(op, **fields)

    def close(self) -> None:
        try:
            self._main.close()
        finally:
            self._dynamodb.close()


if __name__ == "__main__":
    main()
