"""When a scan's time runs short, API work that has not begun is handed back whole; begun work completes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from api_discovery.inventory.model import Api
from api_discovery.steps.target_scan import _Job


def _api(results: list[object]) -> Api:
    return Api(kind="REST", id=str(results), name="n", endpoint_type="REGIONAL", default_endpoint_enabled=True)


def test_a_job_whose_calls_have_not_begun_is_withdrawn_whole() -> None:
    gate = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as lane:
        blocker = lane.submit(gate.wait, 10)  # the only worker is busy: the job's calls stay queued
        job = _Job({"id": "a"}, True, [(lane, lambda: 1, ()), (lane, lambda: 2, ())], _api).start()
        assert job.withdraw() is True
        assert all(part.cancelled() for part in job.parts)
        gate.set()
        blocker.result()


def test_a_job_with_a_call_under_way_keeps_going_and_loses_nothing() -> None:
    started, gate = threading.Event(), threading.Event()

    def first() -> int:
        started.set()
        gate.wait(10)
        return 1

    with ThreadPoolExecutor(max_workers=1) as lane:
        job = _Job({"id": "a"}, True, [(lane, first, ()), (lane, lambda: 2, ())], _api).start()
        started.wait(10)
        assert job.withdraw() is False  # the first call is under way; the second was cancelled and sent again
        gate.set()
        assert [part.result(timeout=10) for part in job.parts] == [1, 2]
        assert job.build([part.result() for part in job.parts]).id == "[1, 2]"
