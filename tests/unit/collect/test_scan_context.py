"""How one failed call is judged: a gap to record, or a target that cannot be known."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from api_discovery.collect.context import ScanContext
from api_discovery.collect.session import CLIENT_CONFIG
from api_discovery.errors import TargetUnavailableError


def _ctx() -> ScanContext:
    return ScanContext(apigateway=None, apigatewayv2=None, region="eu-west-1")


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} happened"}}, "GetStages")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("AccessDeniedException", "permission"),
        ("AccessDenied", "permission"),
        ("NotFoundException", "not_found"),
        ("BadRequestException", "error"),
    ],
)
def test_gaps_are_recorded_and_the_scan_goes_on(code: str, kind: str) -> None:
    ctx = _ctx()
    with ctx.part("apigateway:GetStages", "restapis/a1"):
        raise _error(code)
    (gap,) = ctx.errors
    assert (gap.kind, gap.operation, gap.resource, gap.code) == (kind, "apigateway:GetStages", "restapis/a1", code)
    assert gap.message == f"{code} happened"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("TooManyRequestsException", "throttling"),
        ("ThrottlingException", "throttling"),
        ("UnrecognizedClientException", "region"),
        ("InvalidClientTokenId", "region"),
    ],
)
def test_what_makes_the_whole_target_unknowable_fails_it(code: str, kind: str) -> None:
    ctx = _ctx()
    with pytest.raises(TargetUnavailableError) as caught, ctx.part("apigateway:GetStages", "restapis/a1"):
        raise _error(code)
    assert caught.value.kind == kind and ctx.errors == []


def test_timeouts_fail_the_target() -> None:
    ctx = _ctx()
    with pytest.raises(TargetUnavailableError, match="GetRestApis") as caught, ctx.part("apigateway:GetRestApis", "x"):
        raise ReadTimeoutError(endpoint_url="https://apigateway.eu-west-1.amazonaws.com")
    assert caught.value.kind == "timeout"


def test_standard_retry_mode_is_configured_on_customer_clients() -> None:
    client = boto3.client("apigateway", region_name="eu-west-1", config=CLIENT_CONFIG)
    retries = client.meta.config.retries  # type: ignore[attr-defined]
    assert retries["mode"] == "standard"
    assert retries["total_max_attempts"] >= 5
