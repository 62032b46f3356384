"""The organizations handler, as the schedule invokes it: each registered organization read through its reader
role (assumed with the organization's ExternalId, sending ListAccounts only) and its members registered."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from api_discovery.collect.organizations import READER_OPERATIONS
from api_discovery.collect.session import refuse_all_but
from api_discovery.errors import ReadOnlyViolationError
from api_discovery.steps.settings import AwsClients, LambdaSettings
from api_discovery.store.organizations import Organizations, RegisteredOrganization
from api_discovery.store.registry import Registry
from api_discovery.store.state import create_table

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"


def test_the_schedule_registers_every_member_of_every_organization(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "table")
    monkeypatch.setenv("BUCKET_NAME", "bucket")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ApiDiscovery")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(dynamodb, "table")
        organizations = boto3.client("organizations", region_name="us-east-1")
        management = organizations.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
        organizations.create_account(AccountName="member", Email="member@example.com")
        Organizations(dynamodb, "table").register(
            RegisteredOrganization(management_account_id=management, external_id="org-external-id-0123456789")
        )
        spec = importlib.util.spec_from_file_location(
            "organizations_handler", FUNCTIONS / "organizations" / "handler.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        try:
            settings = LambdaSettings(table_name="table", bucket_name="bucket")
            clients = AwsClients(s3=None, dynamodb=dynamodb, events=None)
            answer: dict[str, Any] = module.run({"source": "schedule"}, settings, clients, boto3.Session())
        finally:
            del sys.modules[spec.name]
        (row,) = answer["organizations"]
        assert row["error"] is None and row["listed"] == 2 and row["added"] == 2
        assert len(Registry(dynamodb, "table").accounts()) == 2


def test_the_reader_session_sends_list_accounts_only() -> None:
    guard = refuse_all_but(READER_OPERATIONS)
    model = boto3.client("organizations", region_name="us-east-1").meta.service_model
    guard(model.operation_model("ListAccounts"))
    for name in ("CreateAccount", "DescribeOrganization", "ListAccountsForParent", "CloseAccount"):
        with pytest.raises(ReadOnlyViolationError):
            guard(model.operation_model(name))
