"""Every handler refuses a malformed event with a small error that names the problem (never an AttributeError
or TypeError from deep inside), before it reads or writes anything."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from api_discovery.errors import MAX_MESSAGE, InvalidInputError
from api_discovery.steps.settings import AwsClients, LambdaSettings

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"
SETTINGS = LambdaSettings(table_name="table", bucket_name="bucket", event_bus_name="bus")
RUN = "20260101T000000.000000Z-aaaa"
PLANNED = {"run_id": RUN, "started_at": "t", "count": 1, "manifest": {"key": f"manifests/run={RUN}.json"}}


class Untouchable:
    """A client a refused event must never use."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, operation: str) -> Any:
        raise AssertionError(f"{self.name}.{operation} called for a refused event")


CLIENTS = AwsClients(s3=Untouchable("s3"), dynamodb=Untouchable("dynamodb"), events=Untouchable("events"))


def _handler(step: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("TABLE_NAME", "table")
    monkeypatch.setenv("BUCKET_NAME", "bucket")
    spec = importlib.util.spec_from_file_location(f"handler_input_{step}", FUNCTIONS / step / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MALFORMED: list[tuple[str, object, str]] = [
    ("plan", [], "expected a JSON object, got a list"),
    ("plan", {"accounts": None}, "accounts is null"),
    ("plan", {"accounts": ["111111111111"], "region": ["us-east-1"]}, "region: Extra inputs are not permitted"),
    ("scan", None, "expected a JSON object, got null"),
    ("scan", {"run_id": RUN, "account_id": "111111111111", "regions": "us-east-1"}, "regions: Input should be"),
    ("finalize", [PLANNED], "expected a JSON object, got a list"),
    ("finalize", {"run_id": 42}, "run_id: Input should be a valid string"),
    ("finalize", {**PLANNED, "results": []}, "results: Input should be"),
    ("finalize", {**PLANNED, "results": {"ResultWriterDetails": "key"}}, "results.ResultWriterDetails: Input"),
    ("finalize", {**PLANNED, "run_id": "../runs/x"}, "run_id: String should match pattern"),
    ("publish", None, "expected a JSON object, got null"),
    ("publish", "announce", "expected a JSON object, got a string"),
    ("publish", {"announce": ["r"]}, "announce: Input should be"),
    ("publish", {"announce": {"run_id": RUN, "runs": [RUN]}, "batch": 1}, "batch: Extra inputs are not permitted"),
    ("publish", {"run_id": RUN, "batch": "first"}, "batch: Input should be a valid integer"),
]


@pytest.mark.parametrize(("step", "event", "match"), MALFORMED)
def test_a_malformed_event_is_refused_by_name_and_touches_nothing(
    step: str, event: object, match: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = _handler(step, monkeypatch)
    with pytest.raises(InvalidInputError, match=match) as caught:
        handler.run(event, SETTINGS, CLIENTS)
    assert len(str(caught.value)) <= MAX_MESSAGE


def test_a_huge_malformed_event_gets_a_small_error(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = _handler("finalize", monkeypatch)
    event = {**PLANNED, "rounds": [{"key": "x" * 1000}] * 20_000}
    with pytest.raises(InvalidInputError, match="and 19997 more problem") as caught:
        handler.run(event, SETTINGS, CLIENTS)
    assert len(str(caught.value)) <= MAX_MESSAGE
