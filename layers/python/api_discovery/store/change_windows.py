"""Bursts of API change events for one (account, region) collapse into one scan per time window.

A deployment pipeline emits many management calls in a few seconds (CreateResource, PutMethod, CreateDeployment
…); each becomes a change event. The workflow waits one window after each event before planning, so the
first event of a window plans after every change of that window: it claims the window with a conditional
put, and the window's later events find it claimed and start nothing. Claims expire through the table's TTL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from api_discovery.store.state import TTL_ATTRIBUTE, to_item
from api_discovery.targets import Target

DEFAULT_WINDOW_SECONDS = 300


class ChangeWindows:
    def __init__(self, client: Any, table_name: str, window_seconds: int = DEFAULT_WINDOW_SECONDS) -> None:
        self.client = client
        self.table = table_name
        self.window = window_seconds

    def claim(self, targets: Sequence[Target], requested_at: datetime | None = None) -> list[Target]:
        """The targets whose window this request is the first to claim."""
        start = self._start(requested_at)
        return [t for t in targets if self._claim(t, start)]

    def release(self, targets: Sequence[Target], requested_at: datetime | None = None) -> None:
        """Give the windows back, when the run that claimed them could not be planned after all."""
        start = self._start(requested_at)
        for target in targets:
            self.client.delete_item(TableName=self.table, Key=to_item(self._key(target, start)))

    def _start(self, requested_at: datetime | None) -> int:
        moment = (requested_at or datetime.now(UTC)).timestamp()
        return int(moment // self.window) * self.window

    @staticmethod
    def _key(target: Target, start: int) -> dict[str, str]:
        return {"pk": f"CHANGE#{target.account_id}#{target.region}", "sk": f"WINDOW#{start}"}

    def _claim(self, target: Target, start: int) -> bool:
        item = {
            **self._key(target, start),
            "run_id": target.run_id,
            TTL_ATTRIBUTE: start + self.window + 86_400,
        }
        try:
            self.client.put_item(
                TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
