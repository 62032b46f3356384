"""The benchmark's arithmetic: the minimum calls of an estate and the quota bound of a call mix."""

from __future__ import annotations

import pytest

from api_discovery.local.quota_emulator import QuotaRates
from bench.bound import quota_bound, scoped_bound
from bench.estate import EstateSpec
from bench.minimum import api_gateway_calls, minimum_calls, pages


def test_pages_read_every_list_to_its_end_and_an_empty_list_costs_one_call() -> None:
    assert [pages(n) for n in (0, 1, 500, 501, 1000, 1001)] == [1, 1, 1, 2, 2, 3]
    assert pages(26, page_size=25) == 2


def test_minimum_of_the_issue_scenario() -> None:
    spec = EstateSpec(
        rest_apis=200,
        resources_per_api=50,
        methods_per_resource=3,
        stages_per_api=2,
        http_apis=100,
        routes_per_http_api=30,
        domains=4,
        mappings_per_domain=3,
    )
    calls = minimum_calls(spec)
    assert calls["apigateway:GetRestApis"] == 1
    assert calls["apigateway:GetResources"] == 200  # 51 resources with the root: one page each
    assert calls["apigateway:GetStages"] == calls["apigateway:GetAuthorizers"] == 200
    assert calls["apigatewayv2:GetRoutes"] == calls["apigatewayv2:GetIntegrations"] == 100
    assert calls["apigatewayv2:GetAuthorizers"] == calls["apigatewayv2:GetStages"] == 100
    assert calls["apigateway:GetBasePathMappings"] == calls["apigatewayv2:GetApiMappings"] == 4
    # A region with APIs also reads its account settings, client certificates and own VPC endpoint associations:
    # 3 calls, none per API.
    assert calls["apigateway:GetAccount"] == calls["apigateway:GetClientCertificates"] == 1
    assert calls["apigateway:GetDomainNameAccessAssociations"] == 1
    assert sum(calls.values()) == 1 + 600 + 1 + 400 + 2 + 8 + 3 + 3
    assert "GetMethod" not in str(calls)


def test_minimum_pages_large_lists() -> None:
    spec = EstateSpec(
        rest_apis=501, resources_per_api=999, methods_per_resource=1, stages_per_api=1, http_apis=0, domains=0
    )
    calls = minimum_calls(spec)
    assert calls["apigateway:GetRestApis"] == 2
    assert calls["apigateway:GetResources"] == 501 * 2  # 1000 resources with the root
    assert calls["apigatewayv2:GetApis"] == 1 and "apigatewayv2:GetRoutes" not in calls


def test_the_bound_is_the_slowest_bucket_with_its_burst_free() -> None:
    rates = QuotaRates()
    bound = quota_bound({"apigateway:GetResources": 200, "apigateway:GetStages": 800, "sts:AssumeRole": 5}, rates)
    general, resources = bound.buckets
    assert general.calls == 1000 and general.seconds == pytest.approx((1000 - 40) / 10)
    assert resources.calls == 200 and resources.seconds == pytest.approx((200 - 5) / 2.5)
    assert bound.seconds == pytest.approx(96.0) and bound.binding == "general"

    mostly_resources = quota_bound({"apigateway:GetResources": 300}, rates)
    assert mostly_resources.binding == "GetResources"
    assert mostly_resources.seconds == pytest.approx((300 - 5) / 2.5)
    assert quota_bound({"apigateway:GetRestApis": 3}, rates).seconds == 0.0
    assert quota_bound({}, rates.scaled(10)).as_dict()["seconds"] == 0.0


def test_scopes_are_throttled_apart_so_the_slowest_decides() -> None:
    rates = QuotaRates()
    scope, bound = scoped_bound(
        {"a": {"apigateway:GetStages": 140}, "b": {"apigateway:GetStages": 90}, "c": {"sts:AssumeRole": 500}}, rates
    )
    assert scope == "a" and bound.seconds == pytest.approx(10.0)


def test_only_api_gateway_calls_count() -> None:
    mixed = {"sts:AssumeRole": 1, "apigatewayv2:GetApis": 2, "apigateway:GetRestApis": 1, "s3:PutObject": 4}
    assert api_gateway_calls(mixed) == {"apigateway:GetRestApis": 1, "apigatewayv2:GetApis": 2}


def test_estate_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="stages need"):
        EstateSpec(rest_apis=1, resources_per_api=0, stages_per_api=1)
    with pytest.raises(ValueError, match="mappings need"):
        EstateSpec(domains=1, mappings_per_domain=1)
    with pytest.raises(ValueError, match="negative"):
        EstateSpec(rest_apis=-1)
    split = EstateSpec(
        rest_apis=1, resources_per_api=1, methods_per_resource=1, http_apis=1, domains=1, mappings_per_domain=3
    )
    assert (split.rest_mappings_per_domain, split.v2_mappings_per_domain) == (2, 1)
