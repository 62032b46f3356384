"""Builds the CDK app from `cdk.json` context, for `app.py` and for the tests alike."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import DiscoveryConfig
from infra.customer_access_stack import CustomerAccessStack
from infra.discovery_stack import DiscoveryStack
from infra.lambda_factory import PROJECT_ROOT
from infra.organization_stack import OrganizationAccessStack

DISCOVERY_STACK_NAME = "ApiDiscovery"
CUSTOMER_STACK_NAME = "ApiDiscoveryCustomerAccess"
ORGANIZATION_STACK_NAME = "ApiDiscoveryOrganizationAccess"


@dataclass(frozen=True)
class DiscoveryApp:
    app: App
    config: DiscoveryConfig
    discovery: DiscoveryStack
    customer: CustomerAccessStack
    organization: OrganizationAccessStack


def cdk_json_context(path: Path = PROJECT_ROOT / "cdk.json") -> dict[str, Any]:
    context: dict[str, Any] = json.loads(path.read_text())["context"]
    return context


def build_app(
    context: Mapping[str, Any] | None = None, *, outdir: str | None = None, with_nag: bool = True
) -> DiscoveryApp:
    """The app with its three stacks, configured by `context` over `cdk.json` (so `python app.py` works without
    the CLI). Context from the CDK CLI (`-c key=value`) still wins: `App` gives it precedence.
    `with_nag` registers cdk-nag so that synthesis fails on any unacknowledged finding."""
    app = App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    config = DiscoveryConfig.from_context({key: app.node.try_get_context(key) for key in DiscoveryConfig.model_fields})
    discovery = DiscoveryStack(
        app,
        DISCOVERY_STACK_NAME,
        config=config,
        description="API Discovery: inventory of API Gateway APIs across accounts and regions",
    )
    customer = CustomerAccessStack(app, CUSTOMER_STACK_NAME, scanner_role_name=config.scanner_role_name)
    organization = OrganizationAccessStack(app, ORGANIZATION_STACK_NAME)
    if with_nag:
        # Acknowledgements are also written into the templates' Metadata, for auditors of the stacks.
        Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    return DiscoveryApp(app=app, config=config, discovery=discovery, customer=customer, organization=organization)
