"""The quota bound: the least wall time any client can take for a mix of calls under API Gateway's quotas.

Each bucket starts full, so its first `burst` calls are free and the rest arrive at `rate`: a bucket needs
max(0, (calls - burst) / rate) seconds, and the slowest bucket decides. Every management call draws on the
general bucket; GetResources also on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from api_discovery.local.quota_emulator import GET_RESOURCES, QuotaRates


@dataclass(frozen=True)
class BucketBound:
    bucket: str
    calls: int
    rate: float
    burst: float

    @property
    def seconds(self) -> float:
        return max(0.0, (self.calls - self.burst) / self.rate)


@dataclass(frozen=True)
class QuotaBound:
    buckets: tuple[BucketBound, ...]

    @property
    def seconds(self) -> float:
        return max((b.seconds for b in self.buckets), default=0.0)

    @property
    def binding(self) -> str:
        """The bucket that decides the bound."""
        return max(self.buckets, key=lambda b: b.seconds).bucket if self.buckets else "none"

    def as_dict(self) -> dict[str, object]:
        return {
            "seconds": round(self.seconds, 3),
            "binding": self.binding,
            "buckets": {b.bucket: {"calls": b.calls, "seconds": round(b.seconds, 3)} for b in self.buckets},
        }


def quota_bound(calls: Mapping[str, int], rates: QuotaRates) -> QuotaBound:
    """The bound for one quota scope's calls, by `service:Operation` (other services are not counted)."""
    general = sum(n for op, n in calls.items() if op.startswith(("apigateway:", "apigatewayv2:")))
    return QuotaBound(
        (
            BucketBound("general", general, rates.rate, rates.burst),
            BucketBound(
                "GetResources", calls.get(GET_RESOURCES, 0), rates.get_resources_rate, rates.get_resources_burst
            ),
        )
    )


def scoped_bound(calls_by_scope: Mapping[str, Mapping[str, int]], rates: QuotaRates) -> tuple[str, QuotaBound]:
    """Scopes are throttled independently, so the slowest scope's bound is the whole run's: (scope, bound)."""
    bounds = {scope: quota_bound(calls, rates) for scope, calls in calls_by_scope.items()}
    if not bounds:
        return "none", quota_bound({}, rates)
    scope = max(bounds, key=lambda s: bounds[s].seconds)
    return scope, bounds[scope]
