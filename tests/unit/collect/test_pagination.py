"""Every list is read to its end: v1 position/limit, v2 NextToken/MaxResults, and the v2 lists with no paginator."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from api_discovery.collect.context import MAX_PAGE_SIZE, ScanContext


def _context(**clients: Any) -> ScanContext:
    session = boto3.Session(region_name="eu-west-1")
    return ScanContext(
        apigateway=clients.get("apigateway") or session.client("apigateway"),
        apigatewayv2=clients.get("apigatewayv2") or session.client("apigatewayv2"),
        region="eu-west-1",
        page_size=clients.get("page_size", MAX_PAGE_SIZE),
    )


def test_v1_lists_follow_position_to_the_last_page() -> None:
    client = boto3.client("apigateway", region_name="eu-west-1")
    with Stubber(client) as stub:
        stub.add_response("get_rest_apis", {"items": [{"id": "a"}, {"id": "b"}], "position": "p1"}, {"limit": 500})
        stub.add_response("get_rest_apis", {"items": [{"id": "c"}], "position": "p2"}, {"limit": 500, "position": "p1"})
        stub.add_response("get_rest_apis", {"items": [{"id": "d"}]}, {"limit": 500, "position": "p2"})
        items = _context(apigateway=client).items(client, "get_rest_apis")
        stub.assert_no_pending_responses()
    assert [i["id"] for i in items] == ["a", "b", "c", "d"]


def test_get_resources_asks_for_embedded_methods_with_the_largest_page() -> None:
    client = boto3.client("apigateway", region_name="eu-west-1")
    expected = {"restApiId": "api1", "embed": ["methods"], "limit": 500}
    with Stubber(client) as stub:
        stub.add_response("get_resources", {"items": [{"id": "r1", "path": "/"}], "position": "x"}, expected)
        stub.add_response("get_resources", {"items": [{"id": "r2", "path": "/a"}]}, {**expected, "position": "x"})
        items = _context(apigateway=client).items(client, "get_resources", restApiId="api1", embed=["methods"])
        stub.assert_no_pending_responses()
    assert [i["path"] for i in items] == ["/", "/a"]


def test_v2_lists_follow_next_token_with_max_results_as_a_string() -> None:
    client = boto3.client("apigatewayv2", region_name="eu-west-1")
    with Stubber(client) as stub:
        stub.add_response(
            "get_routes",
            {"Items": [{"RouteId": "1", "RouteKey": "GET /"}], "NextToken": "t"},
            {"ApiId": "h", "MaxResults": "500"},
        )
        stub.add_response(
            "get_routes",
            {"Items": [{"RouteId": "2", "RouteKey": "$default"}]},
            {"ApiId": "h", "MaxResults": "500", "NextToken": "t"},
        )
        items = _context(apigatewayv2=client).items(client, "get_routes", ApiId="h")
        stub.assert_no_pending_responses()
    assert [i["RouteId"] for i in items] == ["1", "2"]


@pytest.mark.parametrize("operation", ["get_api_mappings", "get_vpc_links"])
def test_v2_lists_without_a_paginator_are_paged_by_hand(operation: str) -> None:
    client = boto3.client("apigatewayv2", region_name="eu-west-1")
    params = {"DomainName": "api.example.com"} if operation == "get_api_mappings" else {}
    item = (
        {"ApiId": "h", "ApiMappingId": "m", "Stage": "s"}
        if operation == "get_api_mappings"
        else {"VpcLinkId": "v", "Name": "n", "SubnetIds": [], "SecurityGroupIds": []}
    )
    with Stubber(client) as stub:
        stub.add_response(operation, {"Items": [item], "NextToken": "n1"}, {**params, "MaxResults": "3"})
        stub.add_response(
            operation, {"Items": [item], "NextToken": "n2"}, {**params, "MaxResults": "3", "NextToken": "n1"}
        )
        stub.add_response(operation, {"Items": [item]}, {**params, "MaxResults": "3", "NextToken": "n2"})
        ctx = _context(apigatewayv2=client, page_size=3)
        items = ctx.v2_unpaginated_items(getattr(client, operation), **params)
        stub.assert_no_pending_responses()
    assert len(items) == 3
