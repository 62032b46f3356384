"""Typed errors. Each carries what went wrong; the workflow maps them to Retry/Catch."""

from __future__ import annotations

from typing import Literal

# What kind of failure a scan error records; part of the snapshot contract (inventory.model.ScanError).
ErrorKind = Literal["permission", "throttling", "timeout", "assume_role", "region", "not_found", "error"]


class DiscoveryError(Exception):
    """Base of every error the library raises on purpose."""


class ReadOnlyViolationError(DiscoveryError):
    """A customer session was asked to send an operation that is not a read."""

    def __init__(self, service: str, operation: str, reason: str) -> None:
        self.service = service
        self.operation = operation
        super().__init__(f"refused {service}:{operation} before sending it: {reason}")


class InvalidScanRequestError(DiscoveryError):
    """A scan request names targets that cannot be scanned; nothing was written."""


class TargetUnavailableError(DiscoveryError):
    """The whole target cannot be scanned (role not assumable, region unknown or disabled, throttled out)."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        self.kind = kind
        super().__init__(message)


class SnapshotFormatError(DiscoveryError):
    """A stored snapshot cannot be read as the schema version it claims."""
