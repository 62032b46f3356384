"""What IAM would answer to the calls a workflow run made, under the policies the stack synthesizes.

moto enforces no IAM, so an end-to-end run proves nothing about the roles by itself. This evaluates each
recorded call against its principal's Allow statements (actions, resources and the condition operators the
stack uses), in the subset IAM semantics the stack needs: no Deny, no NotAction, no wildcard principals.
An unknown condition operator, or an intrinsic that cannot be resolved, never allows; nor does a
ForAllValues condition on a key the request lacks (where IAM would allow: the stack guards those with Null).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from tests.workflow.harness import AwsCall

# Calls that need no permission of the caller (or none the stack could grant).
NO_PERMISSION_NEEDED = {("sts", "GetCallerIdentity")}


@dataclass(frozen=True)
class Request:
    """One IAM authorization request: an action on a resource, with the condition keys it carries."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]]


def resolve(value: Any, values: Mapping[str, str]) -> str | None:
    """A template value as a string: `values` maps `LogicalId` (Ref) and `LogicalId.Arn` (GetAtt)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return values.get(value["Ref"])
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        logical_id, attribute = value["Fn::GetAtt"]
        return values.get(f"{logical_id}.{attribute}")
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, pieces = value["Fn::Join"]
        parts = [resolve(piece, values) for piece in pieces]
        return None if None in parts else str(separator).join(p for p in parts if p is not None)
    return None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition_holds(operator: str, key: str, patterns: list[str], context: Mapping[str, tuple[str, ...]]) -> bool:
    values = context.get(key)
    if operator == "Null":
        return patterns == [str(values is None).lower()]
    if operator == "StringEqualsIfExists":
        return values is None or (len(values) == 1 and values[0] in patterns)
    if values is None:
        return False
    if operator == "StringLike":
        return len(values) == 1 and any(fnmatchcase(values[0], p) for p in patterns)
    if operator == "StringEquals":
        return len(values) == 1 and values[0] in patterns
    if operator == "ForAllValues:StringLike":
        return all(any(fnmatchcase(v, p) for p in patterns) for v in values)
    if operator == "ForAllValues:StringEquals":
        return all(v in patterns for v in values)
    return False


def allows(statements: Iterable[Mapping[str, Any]], request: Request, values: Mapping[str, str]) -> bool:
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        if not any(fnmatchcase(request.action, a) for a in _listed(statement["Action"])):
            continue
        resources = [resolve(r, values) for r in _listed(statement["Resource"])]
        if not any(r is not None and fnmatchcase(request.resource, r) for r in resources):
            continue
        conditions = statement.get("Condition", {})
        if all(
            _condition_holds(operator, key, _listed(patterns), request.context)
            for operator, by_key in conditions.items()
            for key, patterns in by_key.items()
        ):
            return True
    return False


def _leading_keys(item_keys: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(sorted({str(key["pk"]["S"]) for key in item_keys if "pk" in key}))


def _query_partition(params: Mapping[str, Any]) -> tuple[str, ...]:
    names = params.get("ExpressionAttributeNames", {})
    for name, placeholder in re.findall(r"([#\w]+)\s*=\s*(:\w+)", params.get("KeyConditionExpression", "")):
        if names.get(name, name) == "pk":
            return (str(params["ExpressionAttributeValues"][placeholder]["S"]),)
    return ()


def _projected(params: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """dynamodb:Attributes of a read that names its attributes (none: it reads them all)."""
    expression = params.get("ProjectionExpression")
    if not expression:
        return {}
    names = params.get("ExpressionAttributeNames", {})
    return {"dynamodb:Attributes": tuple(sorted({names.get(n.strip(), n.strip()) for n in expression.split(",")}))}


def _dynamodb(call: AwsCall, table_arn: str) -> list[Request]:
    params = call.params
    if call.operation == "GetItem":
        context = {"dynamodb:LeadingKeys": _leading_keys([params["Key"]]), **_projected(params)}
        return [Request("dynamodb:GetItem", table_arn, context)]
    if call.operation in ("DeleteItem", "UpdateItem"):
        return [
            Request(f"dynamodb:{call.operation}", table_arn, {"dynamodb:LeadingKeys": _leading_keys([params["Key"]])})
        ]
    if call.operation == "PutItem":
        return [Request("dynamodb:PutItem", table_arn, {"dynamodb:LeadingKeys": _leading_keys([params["Item"]])})]
    if call.operation == "Query":
        return [Request("dynamodb:Query", table_arn, {"dynamodb:LeadingKeys": _query_partition(params)})]
    if call.operation == "BatchGetItem":
        keys = [key for request in params["RequestItems"].values() for key in request["Keys"]]
        return [Request("dynamodb:BatchGetItem", table_arn, {"dynamodb:LeadingKeys": _leading_keys(keys)})]
    if call.operation == "BatchWriteItem":
        writes = [w for requests in params["RequestItems"].values() for w in requests]
        keys = [w["PutRequest"]["Item"] if "PutRequest" in w else w["DeleteRequest"]["Key"] for w in writes]
        return [Request("dynamodb:BatchWriteItem", table_arn, {"dynamodb:LeadingKeys": _leading_keys(keys)})]
    if call.operation == "TransactWriteItems":
        actions = {
            "ConditionCheck": "ConditionCheckItem",
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
        }
        requests = []
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            key = body.get("Key") or body.get("Item") or {}
            requests.append(
                Request(f"dynamodb:{actions[kind]}", table_arn, {"dynamodb:LeadingKeys": _leading_keys([key])})
            )
        return requests
    return [Request(f"dynamodb:{call.operation}", table_arn, {})]


def _s3(call: AwsCall) -> list[Request]:
    params = call.params
    bucket = f"arn:aws:s3:::{params['Bucket']}"
    if call.operation in ("ListObjectsV2", "ListObjects"):
        return [Request("s3:ListBucket", bucket, {"s3:prefix": (params.get("Prefix", ""),)})]
    obj = f"{bucket}/{params['Key']}"
    if call.operation in ("GetObject", "HeadObject"):
        return [Request("s3:GetObject", obj, {})]
    if call.operation in ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        return [Request("s3:PutObject", obj, {})]
    if call.operation == "AbortMultipartUpload":
        return [Request("s3:AbortMultipartUpload", obj, {})]
    if call.operation == "ListParts":
        return [Request("s3:ListMultipartUploadParts", obj, {})]
    return [Request(f"s3:{call.operation}", obj, {})]


def requests_for(call: AwsCall, *, region: str, account: str) -> list[Request]:
    """The authorization requests one API call makes."""
    if (call.service, call.operation) in NO_PERMISSION_NEEDED:
        return []
    if call.service == "s3":
        return _s3(call)
    if call.service == "dynamodb":
        tables = call.params.get("RequestItems") or {call.params.get("TableName", ""): None}
        if call.operation == "TransactWriteItems":
            tables = {next(iter(i.values()))["TableName"]: None for i in call.params["TransactItems"]}
        (table,) = tables
        return _dynamodb(call, f"arn:aws:dynamodb:{region}:{account}:table/{table}")
    if call.service == "events" and call.operation == "PutEvents":
        buses = {entry.get("EventBusName", "default") for entry in call.params["Entries"]}
        return [
            Request(
                "events:PutEvents",
                bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}",
                {},
            )
            for bus in sorted(buses)
        ]
    if call.service == "sts" and call.operation == "AssumeRole":
        return [Request("sts:AssumeRole", call.params["RoleArn"], {})]
    if call.service == "lambda" and call.operation == "Invoke":
        return [Request("lambda:InvokeFunction", call.params["FunctionName"], {})]
    return [Request(f"{call.service}:{call.operation}", "*", {})]
