"""Credential-looking stage variables, judged in memory while a stage is read: only the variable's name and the
detector that matched leave this module, never the value."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping

from api_discovery.inventory.model import SecretVariable

# Names people give to credentials. Matched on the name split into words, so "tokenizer" or "keyboard" do not.
_NAME_WORDS = {
    "password": "name:password",
    "passwd": "name:password",
    "pwd": "name:password",
    "secret": "name:secret",
    "token": "name:token",
    "apikey": "name:api-key",
    "credential": "name:credential",
    "credentials": "name:credential",
    "privatekey": "name:private-key",
}
_NAME_PAIRS = {
    ("api", "key"): "name:api-key",
    ("private", "key"): "name:private-key",
    ("access", "key"): "name:access-key",
}

# Formats whose shape alone says "credential", most specific first.
_VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("value:aws-access-key-id", re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("value:private-key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("value:jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("value:github-token", re.compile(r"\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}")),
    ("value:slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("value:stripe-key", re.compile(r"\b[rs]k_live_[A-Za-z0-9]{16,}")),
    ("value:google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("value:url-credentials", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
)
# A long random-looking string (e.g. an AWS secret access key) under a name that does not say what it is.
_MIN_RANDOM_LENGTH = 32
_MIN_BITS_PER_CHAR = 4.0
_RANDOM_CHARS = re.compile(r"^[A-Za-z0-9+/=_-]+$")


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _name_detector(name: str) -> str | None:
    words = _words(name)
    for word in words:
        if word in _NAME_WORDS:
            return _NAME_WORDS[word]
    for pair in itertools.pairwise(words):
        if pair in _NAME_PAIRS:
            return _NAME_PAIRS[pair]
    return None


def _entropy(value: str) -> float:
    counts = {c: value.count(c) for c in set(value)}
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _value_detector(value: str) -> str | None:
    for detector, pattern in _VALUE_PATTERNS:
        if pattern.search(value):
            return detector
    if (
        len(value) >= _MIN_RANDOM_LENGTH
        and _RANDOM_CHARS.match(value)
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and _entropy(value) >= _MIN_BITS_PER_CHAR
    ):
        return "value:high-entropy"
    return None


# Values that point at a secret rather than hold one: an ARN (Secrets Manager, SSM), a plain URL, a placeholder,
# a flag or a number. A credential-sounding name with one of these is not a finding.
_REFERENCE = re.compile(r"^(arn:|\$\{|\{\{resolve:|https?://[^@]*$|true$|false$|\d+$)", re.IGNORECASE)


def detect(variables: Mapping[str, object] | None) -> list[SecretVariable]:
    """The variables that look like credentials: by the value's format first, then by a credential's name on a
    value that is not a reference or a flag."""
    found = []
    for name, raw in sorted((variables or {}).items()):
        value = str(raw or "")
        detector = _value_detector(value) if value else None
        if detector is None and value and not _REFERENCE.match(value):
            detector = _name_detector(name)
        if detector:
            found.append(SecretVariable(name=name, detector=detector))
    return found
