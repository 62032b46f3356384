"""Typed errors. Each carries what went wrong; the workflow maps them to Retry/Catch. Input errors say what
is wrong in a few words and a count, never by repeating the input."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypeVar

from pydantic import BaseModel, ValidationError

# What kind of failure a scan error records; part of the snapshot contract (inventory.model.ScanError).
ErrorKind = Literal["permission", "throttling", "timeout", "assume_role", "region", "not_found", "error"]

# An input error ends up in a log line, an execution's cause, a terminal: a hostile request of a million bad
# ids must not make it a megabyte. A few examples and a count name the problem as well.
MAX_MESSAGE = 1000
MAX_LISTED = 5
MAX_VALUE = 40
MAX_PROBLEMS = 3
MAX_PROBLEM = 200

M = TypeVar("M", bound=BaseModel)


class DiscoveryError(Exception):
    """Base of every error the library raises on purpose."""


class ReadOnlyViolationError(DiscoveryError):
    """A customer session was asked to send an operation that is not a read."""

    def __init__(self, service: str, operation: str, reason: str) -> None:
        self.service = service
        self.operation = operation
        super().__init__(f"refused {service}:{operation} before sending it: {reason}")


class InvalidInputError(DiscoveryError):
    """An event, request or argument is malformed; it was refused before anything was written. The message
    names the problem and stays small, whatever the input."""

    def __init__(self, message: str) -> None:
        super().__init__(message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "...")


class InvalidScanRequestError(InvalidInputError):
    """A scan request names targets that cannot be scanned; nothing was written."""


class TargetUnavailableError(DiscoveryError):
    """The whole target cannot be scanned (role not assumable, region unknown or disabled, throttled out)."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        self.kind = kind
        super().__init__(message)


class SnapshotFormatError(DiscoveryError):
    """A stored snapshot cannot be read as the schema version it claims."""


def shorten(value: object, limit: int = MAX_VALUE, *, quoted: bool = True) -> str:
    """A value as a message shows it: a string as its repr (a newline or a quote stays visible), cut short."""
    text = repr(value) if quoted and isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def listing(values: Iterable[object], limit: int = MAX_LISTED, *, quoted: bool = True, width: int = MAX_VALUE) -> str:
    """The first few of many values, each shortened, and how many there are in all."""
    items = list(values)
    shown = ", ".join(shorten(v, width, quoted=quoted) for v in items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more ({len(items)} in all)"


def validation_problems(exc: ValidationError, limit: int = MAX_PROBLEMS) -> str:
    """The first few problems pydantic found, each by where it is, and how many there are: never the input."""
    errors = exc.errors(include_url=False, include_input=False)
    shown = "; ".join(_problem(e["loc"], e["msg"]) for e in errors[:limit])
    return shown if len(errors) <= limit else f"{shown}; and {len(errors) - limit} more problem(s)"


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    where = ".".join(map(str, loc))
    text = message.removeprefix("Value error, ")[:MAX_PROBLEM]
    return f"{where}: {text}" if where else text


def json_type(value: object) -> str:
    """How a JSON document calls the type of a value: what a caller sent instead of an object."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    if value is None:
        return "null"
    return next((name for kind, name in names.items() if isinstance(value, kind)), type(value).__name__)


def parse_input(model: type[M], payload: object, what: str, error: type[InvalidInputError] = InvalidInputError) -> M:
    """A step's event or a request as its model, or `error` naming what is wrong with it."""
    if not isinstance(payload, dict):
        raise error(f"invalid {what}: expected a JSON object, got {json_type(payload)}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise error(f"invalid {what}: {validation_problems(exc)}") from exc
