"""What the finalize and publish handlers receive, parsed: a malformed event is refused with a small error that
names the problem, before anything is read or written. (plan and scan parse theirs in their own modules.)"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from api_discovery.errors import parse_input
from api_discovery.events.notify import PublishItem
from api_discovery.steps.finalize import Announcement
from api_discovery.steps.plan import PlanResult


class WriterDetails(BaseModel):
    model_config = ConfigDict(extra="ignore")

    Bucket: str | None = None
    Key: str


class MapOutput(BaseModel):
    """What the Distributed Map puts at `$.results`: where its ResultWriter wrote the round's results."""

    model_config = ConfigDict(extra="ignore")

    ResultWriterDetails: WriterDetails | None = None


class FinalizeEvent(PlanResult):
    """The run's state as plan (or the previous finalize) left it, with the Map round's results."""

    results: MapOutput | None = None

    def plan_result(self) -> PlanResult:
        return PlanResult.model_validate(self.model_dump(exclude={"results"}))

    @property
    def results_key(self) -> str | None:
        details = self.results.ResultWriterDetails if self.results else None
        return details.Key if details else None


class AnnounceEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    announce: Announcement


def parse_finalize_event(event: object) -> tuple[PlanResult, str | None]:
    """The run's state and the key of the Map's results manifest (None: the round had no result)."""
    parsed = parse_input(FinalizeEvent, event, "finalize event")
    return parsed.plan_result(), parsed.results_key


def parse_publish_event(event: object) -> PublishItem | Announcement:
    """One batch of events to publish, or (with `announce`) the announcement that closes the run."""
    if isinstance(event, dict) and "announce" in event:
        return parse_input(AnnounceEvent, event, "publish event").announce
    return parse_input(PublishItem, event, "publish event")
