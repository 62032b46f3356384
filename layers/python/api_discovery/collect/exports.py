"""Optional OpenAPI exports, one object per (API, stage, deployment): redone only when a deployment changes.

An export describes what a deployment serves, so a stage whose deployment id is unchanged has nothing new to
export. Each export goes straight to the blob store, never held with the others.

Exports are requested without API Gateway's extensions, and any that come anyway are dropped before storing:
`x-amazon-apigateway-integration` holds each integration's URI, request parameters (static values such as
`'secret'` included), mapping templates and credentials role, and the other extensions hold gateway
responses' static values, policies and the like, which the snapshot already has where it needs them.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from api_discovery.blobs import BlobStore
from api_discovery.collect.context import ScanContext
from api_discovery.inventory.model import Stage
from api_discovery.inventory.snapshots import canonical_json
from api_discovery.observability import logger

EXPORTS_PREFIX = "exports/"
EXTENSION_PREFIX = "x-amazon-apigateway-"
# Not an extension holding values but the ANY method of a path: kept, and scrubbed inside like any method.
ANY_METHOD = "x-amazon-apigateway-any-method"
# GetExport adds extensions only when `parameters` asks for them (extensions=integrations, apigateway,
# authorizers or postman): none is asked for. ExportApi includes them unless told not to.
REST_EXPORT_PARAMETERS: dict[str, str] = {}


class ExportStore:
    def __init__(self, blobs: BlobStore, account_id: str, region: str) -> None:
        self.blobs = blobs
        self.prefix = f"{EXPORTS_PREFIX}account={account_id}/region={region}/"
        self.existing = set(blobs.keys(self.prefix))  # one listing per target, not one check per stage
        self._lock = threading.Lock()

    def key(self, api_id: str, stage: str, deployment_id: str) -> str:
        return f"{self.prefix}api={api_id}/stage={stage}/deployment={deployment_id}.json"

    def has(self, key: str) -> bool:
        with self._lock:
            return key in self.existing

    def put(self, key: str, body: bytes) -> None:
        self.blobs.put(key, body)
        with self._lock:
            self.existing.add(key)


def export_stages(ctx: ScanContext, store: ExportStore, kind: str, api_id: str, stages: list[Stage]) -> list[Stage]:
    """Each stage with the key of its deployment's export, fetched only if that deployment has none yet."""
    exported = []
    for stage in stages:
        if not stage.deployment_id or kind == "WEBSOCKET":  # AWS exports REST and HTTP APIs only
            exported.append(stage)
            continue
        key = store.key(api_id, stage.name, stage.deployment_id)
        if not store.has(key):
            body = _fetch(ctx, kind, api_id, stage.name)
            document = scrub(body, api_id=api_id, stage=stage.name) if body is not None else None
            if document is None:
                exported.append(stage)
                continue
            store.put(key, document)
        exported.append(stage.model_copy(update={"export_key": key}))
    return exported


def _fetch(ctx: ScanContext, kind: str, api_id: str, stage: str) -> bytes | None:
    body: Any = None
    if kind == "REST":
        # The API's own resource, so that a failed export marks that API incomplete, as any other of its parts.
        with ctx.part("apigateway:GetExport", f"restapis/{api_id}"):
            body = ctx.apigateway.get_export(
                restApiId=api_id,
                stageName=stage,
                exportType="oas30",
                accepts="application/json",
                parameters=REST_EXPORT_PARAMETERS,
            )["body"].read()
    else:
        with ctx.part("apigatewayv2:ExportApi", f"v2/apis/{api_id}"):
            body = ctx.apigatewayv2.export_api(
                ApiId=api_id, Specification="OAS30", OutputType="JSON", StageName=stage, IncludeExtensions=False
            )["body"].read()
    return bytes(body) if body is not None else None


def scrub(body: bytes, *, api_id: str, stage: str) -> bytes | None:
    """The export without any API Gateway extension, as canonical JSON; None (nothing stored) for a body that
    is not a JSON object."""
    try:
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError(f"an OpenAPI document is an object, got {type(document).__name__}")
        return canonical_json(_without_extensions(document))
    except (ValueError, RecursionError) as exc:
        logger.warning(
            "OpenAPI export unreadable: not stored", extra={"api_id": api_id, "stage": stage, "error": str(exc)[:300]}
        )
        return None


def _without_extensions(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_extensions(v)
            for k, v in value.items()
            if not (isinstance(k, str) and k.startswith(EXTENSION_PREFIX) and k != ANY_METHOD)
        }
    if isinstance(value, list):
        return [_without_extensions(v) for v in value]
    return value
