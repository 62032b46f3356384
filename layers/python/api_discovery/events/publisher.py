"""PutEvents done right: at most 10 entries and 256 KB per call, only failed entries resent, with backoff.

An entry too large is trimmed to its summary (`Detail.trimmed`); one still too large raises rather than being
dropped. Entries that keep failing after every attempt raise EventDeliveryError naming them, after the ones
that were accepted have been reported to `on_sent`, so that a retry sends only what is missing.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from api_discovery.errors import DiscoveryError
from api_discovery.events.models import Event

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024


class EventDeliveryError(DiscoveryError):
    """Some events could not be delivered; they are named, and none was dropped silently."""

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = failures
        listed = ", ".join(f"{k} ({v})" for k, v in list(failures.items())[:10])
        super().__init__(f"{len(failures)} event(s) not delivered after retries: {listed}")


class EventTooLargeError(DiscoveryError):
    """Even trimmed to its summary, an event exceeds what EventBridge accepts."""


def entry_size(entry: dict[str, Any]) -> int:
    """EventBridge's own formula for an entry's size (AWS documentation, "Calculating PutEvents entry size"),
    plus the bus name, so the estimate never falls short."""
    size = 14 if entry.get("Time") else 0
    for key in ("Source", "DetailType", "Detail", "EventBusName"):
        size += len(str(entry.get(key) or "").encode())
    return size + sum(len(r.encode()) for r in entry.get("Resources") or [])


@dataclass
class Prepared:
    event: Event
    entry: dict[str, Any]
    size: int


class Publisher:
    def __init__(
        self,
        client: Any,
        bus_name: str,
        *,
        max_attempts: int = 6,
        base_delay: float = 0.2,
        max_delay: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.bus_name = bus_name
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep

    def publish(self, events: Sequence[Event], on_sent: Callable[[list[Event]], None] | None = None) -> Counter[str]:
        """Send every event; returns how many of each detail-type were accepted."""
        sent: Counter[str] = Counter()
        failures: dict[str, str] = {}
        for batch in self.batches([self.prepare(e) for e in events]):
            accepted, failed = self._send(batch)
            sent.update(p.event.detail_type for p in accepted)
            if on_sent and accepted:
                on_sent([p.event for p in accepted])
            failures |= failed
        if failures:
            raise EventDeliveryError(failures)
        return sent

    def prepare(self, event: Event) -> Prepared:
        entry = event.entry(self.bus_name)
        size = entry_size(entry)
        if size > MAX_REQUEST_BYTES:
            event = event.trimmed()
            entry = event.entry(self.bus_name)
            size = entry_size(entry)
            if size > MAX_REQUEST_BYTES:
                raise EventTooLargeError(f"{event.detail_type} {event.id} is {size} bytes even trimmed")
        return Prepared(event, entry, size)

    @staticmethod
    def batches(prepared: Sequence[Prepared]) -> Iterator[list[Prepared]]:
        batch: list[Prepared] = []
        size = 0
        for item in prepared:
            if batch and (len(batch) == MAX_ENTRIES or size + item.size > MAX_REQUEST_BYTES):
                yield batch
                batch, size = [], 0
            batch.append(item)
            size += item.size
        if batch:
            yield batch

    def _send(self, batch: list[Prepared]) -> tuple[list[Prepared], dict[str, str]]:
        pending = batch
        accepted: list[Prepared] = []
        errors: dict[str, str] = {}
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(self._delay(attempt))
            response = self.client.put_events(Entries=[p.entry for p in pending])
            retry: list[Prepared] = []
            for item, outcome in zip(pending, response.get("Entries", []), strict=True):
                if outcome.get("EventId") and not outcome.get("ErrorCode"):
                    accepted.append(item)
                else:
                    retry.append(item)
                    errors[item.event.id] = f"{outcome.get('ErrorCode')}: {outcome.get('ErrorMessage', '')}"
            for item in accepted:
                errors.pop(item.event.id, None)
            if not retry:
                break
            pending = retry
        return accepted, errors

    def _delay(self, attempt: int) -> float:
        # Exponential backoff with full jitter, as AWS recommends for retries of throttled calls.
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))
