"""How IAM authorizes an API Gateway management call: apigateway:<HTTP verb> on the request path."""

from __future__ import annotations

import re
from functools import cache

import botocore.session
from botocore.model import ServiceModel


@cache
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def iam_action_and_resource(operation: str) -> tuple[str, str]:
    """`service:Operation` as IAM sees it: the action and the resource, each path parameter as `*`, with no
    `/v2` prefix for apigatewayv2 (IAM names both APIs' resources by the same paths)."""
    service, name = operation.split(":")
    http = service_model(service).operation_model(name).http
    path = re.sub(r"\{[^}]+\}", "*", http["requestUri"].split("?")[0]).removeprefix("/v2")
    return f"apigateway:{http['method']}", f"arn:aws:apigateway:*::{path}"


def iam_path(service: str, name: str) -> str:
    """The API Gateway path alone, as the customer role's policies name it after `arn:<partition>:apigateway:*::`."""
    return iam_action_and_resource(f"{service}:{name}")[1].removeprefix("arn:aws:apigateway:*::")
