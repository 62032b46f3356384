"""Sync every registered organization: list its accounts through its reader role and register, stop or resume
its members. An organization that cannot be read leaves its members as they are: no account is stopped
because its list was not read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from api_discovery.collect.organizations import list_accounts
from api_discovery.errors import DiscoveryError
from api_discovery.store.organizations import Organizations, RegisteredOrganization, SyncResult
from api_discovery.store.registry import Registry
from api_discovery.targets import role_arn

# The organization's reader client (api_discovery.collect.organizations.reader_client, or a test's).
Reader = Callable[[RegisteredOrganization, str], Any]


@dataclass(frozen=True)
class OrganizationOutcome:
    organization: str
    result: SyncResult | None
    error: str | None = None


def reader_role_arn(organization: RegisteredOrganization) -> str:
    return role_arn(organization.management_account_id, organization.reader_role_name)


def sync_organizations(organizations: Organizations, registry: Registry, reader: Reader) -> list[OrganizationOutcome]:
    outcomes = []
    for organization in organizations.organizations():
        if not organization.enabled:
            continue
        try:
            listed = list_accounts(reader(organization, reader_role_arn(organization)))
            result = organizations.sync(organization, listed, registry.accounts())
        except (DiscoveryError, ClientError, BotoCoreError) as exc:
            outcomes.append(OrganizationOutcome(organization.management_account_id, None, str(exc)[:300]))
            continue
        outcomes.append(OrganizationOutcome(organization.management_account_id, result))
    return outcomes
