"""Credentials out of the URIs a customer configured: user-info and query values never reach a snapshot.

An integration URI such as `https://user:pass@backend/orders?api_key=k` names where requests go, which the
inventory needs, and how they authenticate there, which it must not keep: snapshots, state, change sets and
the events sent to subscribers all derive from what normalisation stores.
"""

from __future__ import annotations

REDACTED = "***"


def redact_uri(value: str | None) -> str | None:
    """`https://user:pass@host/path?api_key=k&token=t#f` -> `https://***@host/path?api_key=***&token=***#***`.

    Scheme, host, port and path stay; user-info, every query value and the fragment go. A query item without
    `=` is redacted whole: it can be the secret itself. ARNs and other URIs without `://` keep everything but
    their query and fragment. Redacting twice changes nothing, so what was stored redacted reads back the same.
    """
    if not value:
        return value
    prefix, tail = "", value
    scheme, sep, rest = value.partition("://")
    if sep:
        # User-info ends at the last `@` before the path: a password may hold `?`, `#` or `@` unescaped.
        authority = rest.split("/", 1)[0]
        at = authority.rfind("@")
        prefix = f"{scheme}://{REDACTED}@" if at >= 0 else f"{scheme}://"
        tail = rest[at + 1 :]
    tail, hash_sign, fragment = tail.partition("#")
    tail, question, query = tail.partition("?")
    redacted = prefix + tail
    if question:
        redacted += "?" + "&".join(_redact_item(item) for item in query.split("&"))
    if hash_sign:
        redacted += "#" + (REDACTED if fragment else "")
    return redacted


def _redact_item(item: str) -> str:
    key, equals, value = item.partition("=")
    if equals:
        return f"{key}={REDACTED if value else ''}"
    return REDACTED if item else item
