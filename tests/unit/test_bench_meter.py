"""What the benchmark counts for each request: DynamoDB request units from item sizes, EventBridge chunks,
S3 tiers, log bytes; and the price table it multiplies them with."""

from __future__ import annotations

import json

import pytest

from bench.meter import (
    LOG_EVENT_OVERHEAD,
    LogStream,
    Meter,
    attribute_bytes,
    dynamodb_units,
    event_chunks,
    item_bytes,
    platform_lines,
    s3_tier,
)
from bench.prices import SERVICES, load_prices


def test_item_sizes_follow_dynamodbs_rules() -> None:
    assert attribute_bytes({"S": "héllo"}) == 6
    assert attribute_bytes({"N": "12345"}) == 4  # 5 significant digits: 3 bytes, plus 1
    assert attribute_bytes({"BOOL": True}) == attribute_bytes({"NULL": True}) == 1
    assert attribute_bytes({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (1 + 2) + (1 + 2)
    assert attribute_bytes({"M": {"k": {"S": "v"}}}) == 3 + 1 + 1 + 1
    assert item_bytes({"pk": {"S": "TARGET#1"}, "n": {"N": "7"}}) == 2 + 8 + 1 + 2


def test_request_units() -> None:
    small = {"pk": {"S": "x" * 100}}
    big = {"pk": {"S": "x" * 5000}}
    assert dynamodb_units("GetItem", {}, {"Item": small}) == (0.5, 0.0, 102)
    assert dynamodb_units("GetItem", {"ConsistentRead": True}, {"Item": big})[0] == 2.0
    assert dynamodb_units("GetItem", {}, {})[0] == 0.5  # nothing found still costs a read
    assert dynamodb_units("Query", {}, {"Items": [big, big]})[0] == 1.5  # 10 KB eventually consistent
    assert dynamodb_units("PutItem", {"Item": big}, {})[1] == 5.0
    update = {"Key": {"pk": {"S": "a"}}, "ExpressionAttributeValues": {":v": {"S": "b" * 2000}}}
    assert dynamodb_units("UpdateItem", update, {})[1] == 2.0
    assert dynamodb_units("DeleteItem", {"Key": {"pk": {"S": "a"}}}, {})[1] == 1.0
    batch = {
        "RequestItems": {
            "t": [{"PutRequest": {"Item": small}}, {"DeleteRequest": {"Key": small}}, {"PutRequest": {"Item": big}}]
        }
    }
    assert dynamodb_units("BatchWriteItem", batch, {"UnprocessedItems": {"t": [{}]}})[1] == 2.0  # the last one left
    assert dynamodb_units("TransactWriteItems", {"TransactItems": [{"Put": {"Item": small}}]}, {})[1] == 2.0
    assert dynamodb_units("DescribeTable", {}, {}) == (0.0, 0.0, 0)


def test_event_chunks_and_s3_tiers() -> None:
    assert event_chunks({"Source": "s", "DetailType": "d", "Detail": "x" * 100}) == 1
    assert event_chunks({"Source": "s", "DetailType": "d", "Detail": "x" * 70_000}) == 2
    assert [s3_tier(op) for op in ("PutObject", "ListObjectsV2", "GetObject", "HeadObject", "DeleteObject")] == [
        "put_list",
        "put_list",
        "get",
        "get",
        "free",
    ]


def test_logs_are_counted_line_by_line_with_cloudwatchs_overhead() -> None:
    meter = Meter()
    stream = LogStream(meter)
    stream.write(json.dumps({"level": "INFO", "message": "scanned"}) + "\n" + '{"_aws": {}}\npartial')
    stream.flush()
    usage = meter.take()
    assert usage.log_events == 3
    assert usage.log_levels == {"INFO": 1, "metrics": 1, "text": 1}
    assert (
        usage.log_bytes
        == len('{"level": "INFO", "message": "scanned"}') + len('{"_aws": {}}') + 7 + 3 * LOG_EVENT_OVERHEAD
    )
    assert meter.take().log_events == 0


def test_the_lambda_services_own_lines() -> None:
    warm = platform_lines("id", 1.5, 512, 100.0, None, traced=True)
    cold = platform_lines("id", 1.5, 512, 100.0, 0.8, traced=True)
    assert warm[0].startswith("START RequestId: id") and warm[1] == "END RequestId: id"
    assert "Billed Duration: 1500 ms" in warm[2] and "Init Duration" not in warm[2] and "XRAY TraceId" in warm[2]
    assert "Billed Duration: 2300 ms" in cold[2] and "Init Duration: 800.00 ms" in cold[2]


def test_the_price_table_has_a_source_and_date_for_every_meter_the_model_uses() -> None:
    table = load_prices()
    meters = {
        "lambda.requests",
        "lambda.gb_seconds",
        "states.transitions",
        "states.express_requests",
        "states.express_gb_seconds",
        "s3.put_list",
        "s3.get",
        "dynamodb.rru",
        "dynamodb.wru",
        "events.entries",
        "logs.ingested_gb",
        "xray.traces",
    }
    assert set(table.prices) == meters
    assert all(p.source.startswith("https://") and p.checked for p in table.prices.values())
    costs = table.cost({"lambda.requests": 1_000_000, "s3.put_list": 1000, "dynamodb.wru": 1_000_000})
    assert list(costs) == list(SERVICES)
    assert costs["Lambda"] == pytest.approx(0.20) and costs["S3"] == pytest.approx(0.005)
    assert costs["DynamoDB"] == pytest.approx(0.625)
    with pytest.raises(KeyError, match="no price"):
        table.cost({"ec2.hours": 1})
