"""The bench's vendor DynamoDB answers a Query from the one partition it names, as DynamoDB does, with the same
items in the same order as moto's whole-table answer."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

from bench.vendor_emulator import _PARTITION, query_one_partition


def _items(client: Any, pk: str, **extra: Any) -> list[dict[str, Any]]:
    pages = client.get_paginator("query").paginate(
        TableName="t", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}, **extra
    )
    return [item for page in pages for item in page["Items"]]


def test_a_query_reads_only_its_partition_and_answers_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    # Put back what the patch replaces once the test ends: the rest of the session uses moto as it is.
    monkeypatch.setattr(Table, "query", Table.query)
    monkeypatch.setattr(Table, "all_items", Table.all_items)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for pk in ("API#a#eu-west-1", "API#a#us-east-1", "TARGET#a"):
            for sk in ("c", "a", "b"):
                client.put_item(TableName="t", Item={"pk": {"S": pk}, "sk": {"S": sk}, "v": {"S": pk + sk}})
        before = {pk: _items(client, pk) for pk in ("API#a#eu-west-1", "TARGET#a", "none")}
        reverse = _items(client, "TARGET#a", ScanIndexForward=False, PaginationConfig={"PageSize": 2})

        query_one_partition()
        query_one_partition()  # idempotent

        assert {pk: _items(client, pk) for pk in before} == before
        assert [i["sk"]["S"] for i in before["API#a#eu-west-1"]] == ["a", "b", "c"]
        assert _items(client, "TARGET#a", ScanIndexForward=False, PaginationConfig={"PageSize": 2}) == reverse
        assert client.scan(TableName="t")["Count"] == 9  # a scan still reads the whole table
        table = dynamodb_backends["123456789012"]["us-east-1"].get_table("t")
        monkeypatch.setattr(_PARTITION, "key", DynamoType({"S": "TARGET#a"}), raising=False)
        assert [i.range_key.value if i.range_key else None for i in table.all_items()] == [
            "a",
            "b",
            "c",
        ]  # what a Query goes through
