"""Executions scanning the same account at once (a sweep beside a change-event run, two runs) spend one
budget between them, not one each: each takes a place in the account's quota lease for as long as its regions
scan, and its budget spends 1 / (live places) of the share.

The place is renewed every RENEW_SECONDS and the record read in between, every POLL_SECONDS, so a scan that
joins or leaves changes the others' pace within seconds. The lease coordinates; it never decides whether a
scan runs: a lease call that fails is logged and the budget keeps its last share.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType

from api_discovery.collect.budget import CallBudget
from api_discovery.observability import logger
from api_discovery.store.quota_lease import QuotaLease
from api_discovery.store.state import StateStore

POLL_SECONDS = 2.0
RENEW_SECONDS = 10.0  # well inside the lease's 60 s, so a few failed renewals do not drop a live scan
LEAVE_WAIT_SECONDS = 5.0


class SharedQuota:
    """This execution's places in the quota leases of its budgets, held from a daemon thread."""

    def __init__(
        self,
        leases: Mapping[str, tuple[QuotaLease, CallBudget]],
        *,
        poll_seconds: float = POLL_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        self.leases = leases
        self.poll_seconds = poll_seconds
        self.renew_seconds = renew_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._hold, name="quota-lease", daemon=True)
        self._renewed_at = 0.0
        self.holders: dict[str, int] = {}  # the last count read, by budget scope

    def __enter__(self) -> SharedQuota:
        for scope, (lease, budget) in self.leases.items():
            holders = self._ask(scope, "join", lease.renew)
            if holders is not None:
                # The others' bursts are already spent from the quota's own: this one starts at its pace.
                budget.set_share(1 / holders, drain=holders > 1)
        self._renewed_at = time.monotonic()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        # A lease call that hangs must not hold the scan's end; a renewal landing after the leave only lapses.
        self._thread.join(timeout=LEAVE_WAIT_SECONDS)
        for scope, (lease, budget) in self.leases.items():
            try:
                lease.leave()
            except Exception as error:  # the place lapses on its own
                _warn(scope, "leave", error)
            budget.set_share(1.0)

    def _hold(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            renew = time.monotonic() - self._renewed_at >= self.renew_seconds
            renewed = True
            for scope, (lease, budget) in self.leases.items():
                holders = self._ask(scope, "renew" if renew else "read", lease.renew if renew else lease.count)
                if holders is None:
                    renewed = False
                else:
                    budget.set_share(1 / holders)
            if renew and renewed:
                self._renewed_at = time.monotonic()

    def _ask(self, scope: str, what: str, call: Callable[[], int]) -> int | None:
        try:
            holders = call()
        except Exception as error:  # never fail a scan: keep the last share, and try again at the next beat
            _warn(scope, what, error)
            return None
        self.holders[scope] = holders
        return holders


def _warn(scope: str, call: str, error: Exception) -> None:
    logger.warning(
        "quota lease call failed", extra={"scope": scope, "call": call, "error": f"{type(error).__name__}: {error}"}
    )


def shared_quota(
    state: StateStore | None, budgets: Mapping[str, CallBudget]
) -> AbstractContextManager[SharedQuota | None]:
    """The account's budgets shared through the vendor's table; without a table (the local CLI), as they are."""
    if state is None:
        return nullcontext()
    return SharedQuota({scope: (QuotaLease(state.client, state.table, scope), b) for scope, b in budgets.items()})
