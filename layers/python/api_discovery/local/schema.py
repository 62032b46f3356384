"""Published JSON Schemas, generated from the models so they cannot drift apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from api_discovery.events.models import DETAILS, EVENT_SCHEMA_VERSION
from api_discovery.inventory.model import SCHEMA_VERSION, Snapshot


def snapshot_schema() -> dict[str, Any]:
    schema = Snapshot.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://api-discovery/schemas/snapshot.v{SCHEMA_VERSION}.json"
    return schema


def event_schemas() -> dict[str, dict[str, Any]]:
    """One schema per event detail-type, under events/ (e.g. events/api-changed.v1.json)."""
    files = {}
    for detail in DETAILS:
        name = f"events/{detail.DETAIL_TYPE.lower().replace(' ', '-')}.v{EVENT_SCHEMA_VERSION}.json"
        schema = detail.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://api-discovery/schemas/{name}"
        schema["title"] = f"{detail.DETAIL_TYPE} (source api-discovery)"
        files[name] = schema
    return files


def schema_files() -> dict[str, dict[str, Any]]:
    return {f"snapshot.v{SCHEMA_VERSION}.json": snapshot_schema(), **event_schemas()}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schema_files().items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(schema))
        written.append(path)
    return written
