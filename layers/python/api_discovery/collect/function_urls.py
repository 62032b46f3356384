"""Lambda function URLs: ListFunctions, then per function ListFunctionUrlConfigs, and GetPolicy only for a URL
that asks for no authentication (its policy alone decides who may call it).

No call lists URLs region-wide, so every function costs one call. ListFunctions answers with each function's
environment variables: they are customer data and often secrets, so the client drops them as soon as the answer
is parsed (`drop_environment`), before this module, a log line or a count can see them.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from api_discovery.collect.context import ScanContext
from api_discovery.inventory import normalise
from api_discovery.inventory.model import FunctionUrl

LAMBDA_PAGE_SIZE = 50  # ListFunctions and ListFunctionUrlConfigs allow 50 at most


def drop_environment(parsed: dict[str, Any] | None = None, **_: Any) -> None:
    """botocore `after-call.lambda.ListFunctions` hook: the answer loses every function's environment in place."""
    for function in (parsed or {}).get("Functions") or []:
        if isinstance(function, dict):
            function.pop("Environment", None)


def list_functions(ctx: ScanContext) -> list[dict[str, Any]] | None:
    """Name, ARN and runtime of every function; None when the list could not be read (unknown, not 'none')."""
    functions: list[dict[str, Any]] | None = None
    with ctx.part("lambda:ListFunctions", "functions"):
        paginator = ctx.lambda_client.get_paginator("list_functions")
        pages = paginator.paginate(PaginationConfig={"PageSize": LAMBDA_PAGE_SIZE})
        functions = [
            {"FunctionName": f["FunctionName"], "FunctionArn": f.get("FunctionArn"), "Runtime": f.get("Runtime")}
            for page in pages
            for f in page.get("Functions", [])
        ]
    return functions


def url_configs(ctx: ScanContext, function_name: str) -> list[dict[str, Any]]:
    """The URLs of one function: its $LATEST's and its aliases'."""
    configs: list[dict[str, Any]] = []
    with ctx.part("lambda:ListFunctionUrlConfigs", f"functions/{function_name}"):
        paginator = ctx.lambda_client.get_paginator("list_function_url_configs")
        pages = paginator.paginate(FunctionName=function_name, PaginationConfig={"PageSize": LAMBDA_PAGE_SIZE})
        configs = [config for page in pages for config in page.get("FunctionUrlConfigs", [])]
    return configs


def resource_policy(ctx: ScanContext, function_name: str, qualifier: str | None) -> tuple[dict[str, Any] | None, bool]:
    """(the parsed policy, whether it was read). A function without a policy answers ResourceNotFound: read, none."""
    extra = {"Qualifier": qualifier} if qualifier else {}
    policy: dict[str, Any] | None = None
    read = False
    with ctx.part("lambda:GetPolicy", f"functions/{function_name}{':' + qualifier if qualifier else ''}/policy"):
        try:
            raw = ctx.lambda_client.get_policy(FunctionName=function_name, **extra).get("Policy")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            raw = None
        policy = normalise.lambda_policy(raw)
        read = True
    return policy, read


def urls_of(ctx: ScanContext, function: dict[str, Any]) -> list[FunctionUrl]:
    """One function's URLs, each with its policy when it asks for no authentication."""
    name = str(function["FunctionName"])
    found = []
    for config in url_configs(ctx, name):
        qualifier = normalise.function_qualifier(str(config.get("FunctionArn", "")), name)
        policy, read = (None, False)
        if config.get("AuthType") == "NONE":
            policy, read = resource_policy(ctx, name, qualifier)
        found.append(normalise.function_url(config, function, qualifier, policy, policy_read=read))
    return found
