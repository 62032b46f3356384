"""Optional OpenAPI exports, one object per (API, stage, deployment): redone only when a deployment changes.

An export describes what a deployment serves, so a stage whose deployment id is unchanged has nothing new to
export. Each export goes straight to the blob store, never held with the others.
"""

from __future__ import annotations

import threading
from typing import Any

from api_discovery.blobs import BlobStore
from api_discovery.collect.context import ScanContext
from api_discovery.inventory.model import Stage

EXPORTS_PREFIX = "exports/"


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
            if body is None:
                exported.append(stage)
                continue
            store.put(key, body)
        exported.append(stage.model_copy(update={"export_key": key}))
    return exported


def _fetch(ctx: ScanContext, kind: str, api_id: str, stage: str) -> bytes | None:
    body: Any = None
    if kind == "REST":
        # The API's own resource, so that a failed export marks that API incomplete, as any other of its parts.
        with ctx.part("apigateway:GetExport", f"restapis/{api_id}"):
            body = ctx.apigateway.get_export(
                restApiId=api_id, stageName=stage, exportType="oas30", accepts="application/json"
            )["body"].read()
    else:
        with ctx.part("apigatewayv2:ExportApi", f"v2/apis/{api_id}"):
            body = ctx.apigatewayv2.export_api(ApiId=api_id, Specification="OAS30", OutputType="JSON", StageName=stage)[
                "body"
            ].read()
    return bytes(body) if body is not None else None
