"""The price table (bench/prices.json) and what a bill of usage costs at it.

Usage is a mapping of meter id to quantity, with the same ids as the table (`lambda.gb_seconds`, `s3.get`, ...),
so that every dollar in a report is a quantity a reader can find and a price a reader can look up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PRICES = Path(__file__).resolve().parent / "prices.json"
# The services of a report, in the order its rows list them.
SERVICES = ("Lambda", "Step Functions", "S3", "DynamoDB", "EventBridge", "CloudWatch Logs", "X-Ray")
HOURS_PER_MONTH = 730  # AWS's own convention in its pricing examples


@dataclass(frozen=True)
class Price:
    id: str
    service: str
    item: str
    unit: str
    usd: float
    quoted: str
    source: str
    checked: str


@dataclass(frozen=True)
class PriceTable:
    region: str
    prices: Mapping[str, Price]

    def usd(self, meter: str) -> float:
        return self.prices[meter].usd

    def cost(self, usage: Mapping[str, float]) -> dict[str, float]:
        """Dollars by service, every service of the table listed (0.0 when unused). An unknown meter is an error:
        a quantity nobody prices would vanish from the total."""
        unknown = sorted(set(usage) - set(self.prices))
        if unknown:
            raise KeyError(f"no price for {', '.join(unknown)}")
        by_service = dict.fromkeys(SERVICES, 0.0)
        for meter, quantity in usage.items():
            price = self.prices[meter]
            by_service[price.service] = by_service.get(price.service, 0.0) + quantity * price.usd
        return by_service


def load_prices(path: Path = PRICES) -> PriceTable:
    raw = json.loads(path.read_text())
    prices: dict[str, Price] = {}
    for entry in raw["prices"]:
        price = Price(**entry)
        if price.id in prices:
            raise ValueError(f"price {price.id} listed twice in {path}")
        if price.usd < 0 or not price.source.startswith("https://") or not price.checked:
            raise ValueError(f"price {price.id} needs a non-negative USD amount, an https source and a date")
        prices[price.id] = price
    return PriceTable(region=str(raw["region"]), prices=prices)


def monthly(per_sweep_usd: float, sweep_every_hours: float) -> float:
    """A month of sweeps at a fixed interval."""
    return per_sweep_usd * HOURS_PER_MONTH / sweep_every_hours
