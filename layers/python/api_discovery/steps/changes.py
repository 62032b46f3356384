"""Change events: from a customer's CloudTrail record of an API Gateway call to one targeted rescan per burst.

Each event is mapped to the one resource it changed (api_discovery.cloudtrail), counted for that resource
(store/debounce.py) and followed by a check once the quiet period has passed. The check that has the last
word starts the rescan: a run of the workflow for that account, region and resource. A change no single
resource holds (an unknown call, a missing id, the account's settings) rescans the whole region, debounced
the same way. Nothing of the request but the ids is kept, and nothing of it reaches the execution's input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api_discovery.cloudtrail import ENTRY_RESCANS, Unmapped, entry_rescans, resource_of
from api_discovery.errors import InvalidScanRequestError, parse_input
from api_discovery.observability import logger
from api_discovery.store.debounce import REGION_WIDE, Debounce
from api_discovery.targets import Resource, is_account_id

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
API_GATEWAY_SOURCE = "apigateway.amazonaws.com"
LAMBDA_SOURCE = "lambda.amazonaws.com"

# Start a run (in AWS: StartExecution under a name of the burst's, so a check delivered twice starts one run).
StartRun = Callable[[str, dict[str, Any]], None]
# Deliver this check after the quiet period (in AWS: an SQS message with that delay).
SendCheck = Callable[[dict[str, Any], int], None]


class Check(BaseModel):
    """The message that comes back after the quiet period, for one event of a burst."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(pattern=r"^[0-9]{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
    resource: Resource | None = Field(description="None: the whole region")
    version: int = Field(ge=1)
    burst: float = Field(description="When the burst's first event was recorded (epoch seconds)")

    @property
    def key(self) -> str:
        return self.resource.key if self.resource else REGION_WIDE


class _Envelope(BaseModel):
    """The parts of an EventBridge event this step reads; the rest of the record is not kept."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    detail_type: str = Field(alias="detail-type")
    account: str
    region: str
    time: datetime | None = None
    detail: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    what: Literal["ignored", "recorded", "rescan", "later", "done"]
    reason: str = ""
    run: str | None = None  # the run started, for a rescan


def on_event(
    body: Mapping[str, Any], *, debounce: Debounce, send_check: SendCheck, now: datetime | None = None
) -> Outcome:
    """One CloudTrail event: count it for the resource it changed, and ask for its check after the quiet period."""
    event = parse_input(_Envelope, dict(body), "change event", InvalidScanRequestError)
    detail = event.detail
    source = detail.get("eventSource")
    if event.detail_type != CLOUDTRAIL_DETAIL_TYPE or (source != API_GATEWAY_SOURCE and source not in ENTRY_RESCANS):
        return Outcome("ignored", f"not a call of a service with entry points: {event.detail_type[:60]!r}")
    if detail.get("errorCode"):
        return Outcome("ignored", "the call failed: nothing changed")
    if not is_account_id(event.account):
        raise InvalidScanRequestError(f"change event from a malformed account {event.account[:20]!r}")
    name = str(detail.get("eventName") or "")
    try:
        if source != API_GATEWAY_SOURCE:
            if not entry_rescans(str(source), name):
                return Outcome("ignored", f"{name[:64]} changes no entry point")
            raise Unmapped(f"{name[:64]} changes an entry point of {source}: those are read region-wide")
        resource = resource_of(name, detail.get("requestParameters"), detail.get("responseElements"))
    except Unmapped as exc:
        logger.info("change rescans the region", extra={"event_name": name[:64], "why": str(exc)[:200]})
        resource, whole_region = None, True
    else:
        if resource is None:
            return Outcome("ignored", f"{name} changes nothing the inventory reports")
        whole_region = False
    key = REGION_WIDE if whole_region or resource is None else resource.key
    recorded = debounce.record(event.account, event.region, key, now or datetime.now(UTC))
    check = Check(
        account_id=event.account,
        region=event.region,
        resource=resource,
        version=recorded.version,
        burst=recorded.first_at,
    )
    send_check(check.model_dump(mode="json"), int(-(-debounce.quiet // 1)))
    return Outcome("recorded", f"{key} event {recorded.version}")


def on_check(
    body: Mapping[str, Any], *, debounce: Debounce, start_run: StartRun, now: datetime | None = None
) -> Outcome:
    """After the quiet period: rescan if this event has the last word (or the burst hit its bound)."""
    check = parse_input(Check, dict(body), "change check", InvalidScanRequestError)
    decision = debounce.decide(check.account_id, check.region, check.key, check.version, check.burst, now)
    if decision.verdict != "rescan":
        return Outcome(decision.verdict, decision.reason)
    request: dict[str, Any] = {
        "source": "change",
        "accounts": [check.account_id],
        "regions": [check.region],
        "requested_at": datetime.fromtimestamp(decision.first_at, UTC).isoformat(),
    }
    if check.resource is not None:
        request["resources"] = [check.resource.model_dump(mode="json")]
    name = run_name(check, decision.version)
    # Started before the burst is closed: a crash between the two redelivers the check, and the run's name
    # makes the second start the same run.
    start_run(name, request)
    if not debounce.claim(check.account_id, check.region, check.key, decision.version):
        logger.info("an event came in while the rescan started: its own check rescans again", extra={"run": name})
    return Outcome("rescan", decision.reason, run=name)


def run_name(check: Check, version: int) -> str:
    """A Step Functions execution name (80 characters of [A-Za-z0-9_-]) that one burst's rescan always gets,
    and no other burst (a resource's next burst counts from 1 again, from a later first event)."""
    burst = [check.account_id, check.region, check.key, version, check.burst]
    digest = hashlib.sha256(json.dumps(burst).encode()).hexdigest()
    return f"change-{check.account_id}-{digest[:40]}"


def is_check(body: Mapping[str, Any]) -> bool:
    return "version" in body and "detail" not in body
