"""Credentials out of customer-configured URIs: user-info and query values go, scheme, host and path stay."""

from __future__ import annotations

import pytest

from api_discovery.inventory.redact import redact_uri


@pytest.mark.parametrize(
    ("raw", "redacted"),
    [
        ("https://user:pass@backend.example.com/orders", "https://***@backend.example.com/orders"),
        (
            "https://backend.example.com/orders?api_key=k&token=t",
            "https://backend.example.com/orders?api_key=***&token=***",
        ),
        ("http://u:p@10.0.0.1:8443/v1/{proxy}?token=t#frag", "http://***@10.0.0.1:8443/v1/{proxy}?token=***#***"),
        # A password holding `?`, `#` or `@` unescaped still ends at the last `@` before the path.
        ("https://svc:p?a#s@s@host/x", "https://***@host/x"),
        ("https://host?sig=abc", "https://host?sig=***"),
        # A bare query item can be the secret itself; an empty value has nothing to hide.
        ("https://host/hook?sk_live_abc&empty=&", "https://host/hook?***&empty=&"),
        ("https://host/path/@me", "https://host/path/@me"),
        (
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:1:function:f/invocations",
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:1:function:f/invocations",
        ),
        ("arn:aws:apigateway:us-east-1:sqs:path/1/q?Auth=secret", "arn:aws:apigateway:us-east-1:sqs:path/1/q?Auth=***"),
        ("", ""),
        (None, None),
    ],
)
def test_user_info_query_values_and_fragments_are_redacted(raw: str | None, redacted: str | None) -> None:
    assert redact_uri(raw) == redacted
    assert redact_uri(redacted) == redacted  # twice is once: a stored value reads back unchanged
