"""OpenAPI exports carry no API Gateway extension: not asked for, and dropped if they come anyway.

The emulator ignores the request's parameters, so what is checked here is the request botocore sends, and
what is stored from a response that does carry extensions.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
from botocore.response import StreamingBody
from botocore.stub import Stubber

from api_discovery.blobs import LocalBlobStore
from api_discovery.collect.context import ScanContext
from api_discovery.collect.exports import ExportStore, export_stages
from api_discovery.inventory.model import Stage

ACCOUNT, REGION = "111111111111", "eu-west-1"
SECRETS = ("hunter2", "st4tic", "templ4te", "gw-st4tic")
INTEGRATION = {
    "type": "http",
    "uri": "https://svc:hunter2@backend.example.com/orders",
    "requestParameters": {"integration.request.header.x-api-key": "'st4tic'"},
    "requestTemplates": {"application/json": '{"password": "templ4te"}'},
}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.1",
    "info": {"title": "orders", "version": "1"},
    "paths": {
        "/orders": {
            "get": {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": INTEGRATION},
            "x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": INTEGRATION},
        }
    },
    "components": {"x-amazon-apigateway-integrations": {"shared": INTEGRATION}},
    "x-amazon-apigateway-gateway-responses": {"DEFAULT_4XX": {"responseParameters": {"h": "'gw-st4tic'"}}},
}


def _body(data: bytes) -> dict[str, Any]:
    return {"body": StreamingBody(io.BytesIO(data), len(data))}


def _context() -> ScanContext:
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    return ScanContext(
        apigateway=session.client("apigateway"), apigatewayv2=session.client("apigatewayv2"), region=REGION
    )


def _sent(client: Any, operation: str) -> list[dict[str, Any]]:
    """The parameters of each `operation` the client sends, as botocore is about to serialize them."""
    sent: list[dict[str, Any]] = []
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(
        f"before-parameter-build.{service}.{operation}", lambda params, **_: sent.append(params)
    )
    return sent


def test_exports_are_requested_without_extensions_and_stored_without_any(tmp_path: Path) -> None:
    ctx = _context()
    rest_sent, v2_sent = _sent(ctx.apigateway, "GetExport"), _sent(ctx.apigatewayv2, "ExportApi")
    store = ExportStore(LocalBlobStore(tmp_path), ACCOUNT, REGION)
    with Stubber(ctx.apigateway) as v1, Stubber(ctx.apigatewayv2) as v2:
        v1.add_response("get_export", _body(json.dumps(DOCUMENT).encode()))
        v2.add_response("export_api", _body(json.dumps(DOCUMENT).encode()))
        (rest,) = export_stages(ctx, store, "REST", "r1", [Stage(name="prod", deployment_id="d1")])
        (http,) = export_stages(ctx, store, "HTTP", "h1", [Stage(name="live", deployment_id="d2")])
    # GetExport adds extensions only for `parameters={"extensions": ...}`; ExportApi unless told not to.
    (rest_params,), (v2_params,) = rest_sent, v2_sent
    assert "extensions" not in (rest_params.get("parameters") or {})
    assert v2_params["IncludeExtensions"] is False
    assert rest.export_key and http.export_key
    for key in (rest.export_key, http.export_key):
        stored = store.blobs.get(key).decode()
        assert not [secret for secret in SECRETS if secret in stored]
        document = json.loads(stored)
        assert "x-amazon-apigateway-gateway-responses" not in document and document["components"] == {}
        # The paths and their methods stay, the ANY method with them.
        assert document["paths"] == {
            "/orders": {"get": {"responses": {"200": {"description": "ok"}}}, "x-amazon-apigateway-any-method": {}}
        }


def test_an_export_that_is_not_a_json_document_is_not_stored(tmp_path: Path) -> None:
    ctx = _context()
    store = ExportStore(LocalBlobStore(tmp_path), ACCOUNT, REGION)
    with Stubber(ctx.apigateway) as v1:
        v1.add_response("get_export", _body(b"openapi: 3.0.1\nx-amazon-apigateway-integration: {}\n"))
        v1.add_response("get_export", _body(b"[" * 100_000))
        stages = [Stage(name="prod", deployment_id="d1"), Stage(name="dev", deployment_id="d2")]
        assert export_stages(ctx, store, "REST", "r1", stages) == stages  # no export key, and no error
    assert store.blobs.keys("exports/") == [] and ctx.errors == []
