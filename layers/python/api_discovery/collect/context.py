"""What every collector shares: clients, page size, and the rule that a failure is 'unknown', never 'empty'."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import (
    ClientError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from api_discovery.errors import ErrorKind, TargetUnavailableError
from api_discovery.inventory.model import ScanError

MAX_PAGE_SIZE = 500  # both apigateway and apigatewayv2 allow 500 at most

_PERMISSION_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}
)
_THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "LimitExceededException"}
)
# The region is not enabled for the account, or the credentials do not work there.
_REGION_CODES = frozenset({"UnrecognizedClientException", "InvalidClientTokenId", "OptInRequired"})


@dataclass
class ScanContext:
    """One target's scan: its clients and the gaps it found so far."""

    apigateway: Any
    apigatewayv2: Any
    region: str
    page_size: int = MAX_PAGE_SIZE
    errors: list[ScanError] = field(default_factory=list)
    exports: Any = None  # an ExportStore when the scan stores OpenAPI exports
    lambda_client: Any = None  # None: the scan reads no function URLs (a targeted API Gateway rescan)
    entry_clients: dict[str, Any] = field(default_factory=dict)  # appsync, elbv2 and, once per account, cloudfront
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def part(self, operation: str, resource: str) -> Iterator[None]:
        """Run one part of the scan. A permission gap or a vanished resource is recorded and the scan goes on;
        anything that makes the whole target unknowable is raised as TargetUnavailableError."""
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Error"))
            message = str(error.get("Message", exc))
            if code in _THROTTLING_CODES:
                raise TargetUnavailableError(
                    "throttling", f"{operation} on {resource} still throttled after retries: {message}"
                ) from exc
            if code in _REGION_CODES:
                raise TargetUnavailableError(
                    "region", f"{operation} refused in {self.region} ({code}): region not enabled?"
                ) from exc
            kind: ErrorKind = "error"
            if code in _PERMISSION_CODES:
                kind = "permission"
            elif code in ("NotFoundException", "ResourceNotFoundException"):
                kind = "not_found"
            self.record(kind, operation, resource, code, message)
        except (ReadTimeoutError, BotoConnectionError) as exc:
            raise TargetUnavailableError("timeout", f"{operation} on {resource}: {exc}") from exc

    def client(self, service: str) -> Any:
        return self.entry_clients[service]

    def record(self, kind: ErrorKind, operation: str, resource: str, code: str, message: str) -> None:
        with self._lock:
            self.errors.append(ScanError(kind=kind, operation=operation, resource=resource, code=code, message=message))

    def pages(self, client: Any, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every page of a paginated list, read to its end with the largest page AWS allows."""
        paginator = client.get_paginator(operation)
        size: Any = self.page_size
        if client.meta.service_model.service_name == "apigatewayv2":
            size = str(size)  # apigatewayv2 spells MaxResults as a string
        yield from paginator.paginate(**params, PaginationConfig={"PageSize": size})

    def items(self, client: Any, operation: str, **params: Any) -> list[dict[str, Any]]:
        key = "Items" if client.meta.service_model.service_name == "apigatewayv2" else "items"
        return [item for page in self.pages(client, operation, **params) for item in page.get(key, [])]

    def v1_unpaginated_items(self, method: Any, **params: Any) -> list[dict[str, Any]]:
        """apigateway list calls that botocore has no paginator for (GetDomainNameAccessAssociations)."""
        items: list[dict[str, Any]] = []
        position: str | None = None
        while True:
            page = method(**params, limit=self.page_size, **({"position": position} if position else {}))
            items.extend(page.get("items", []))
            position = page.get("position")
            if not position:
                return items

    def v2_unpaginated_items(self, method: Any, **params: Any) -> list[dict[str, Any]]:
        """apigatewayv2 list calls that botocore has no paginator for (GetApiMappings, GetVpcLinks)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = method(**params, MaxResults=str(self.page_size), **({"NextToken": token} if token else {}))
            items.extend(page.get("Items", []))
            token = page.get("NextToken")
            if not token:
                return items
