"""An organization's accounts, read through the reader role of its management (or delegated administrator)
account: ListAccounts in pages of 20, the most it returns, and nothing else. The reader role's session is
guarded like a scan's: it sends ListAccounts only.
"""

from __future__ import annotations

from typing import Any

import boto3

from api_discovery.collect.session import CLIENT_CONFIG, assume_account, refuse_all_but

ORGANIZATIONS_PAGE_SIZE = 20
READER_OPERATIONS = frozenset({("organizations", "ListAccounts")})


def reader_client(base: boto3.Session, role_arn: str, external_id: str, run_id: str) -> Any:
    """An Organizations client of the reader role, that refuses every operation but ListAccounts."""
    credentials = assume_account(base, role=role_arn, external_id=external_id, region="us-east-1", run_id=run_id)
    session = boto3.Session(
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    )
    client: Any = session.client("organizations", region_name="us-east-1", config=CLIENT_CONFIG)
    client.meta.events.register("before-parameter-build", refuse_all_but(READER_OPERATIONS))
    return client


def list_accounts(client: Any) -> list[dict[str, Any]]:
    """Every account of the organization: id, name and state (State, or the older Status)."""
    pages = client.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": ORGANIZATIONS_PAGE_SIZE})
    return [
        {"Id": a["Id"], "Name": a.get("Name", ""), "State": a.get("State") or a.get("Status")}
        for page in pages
        for a in page.get("Accounts", [])
    ]
