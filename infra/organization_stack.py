"""What a customer deploys in its AWS Organizations management (or delegated administrator) account: a reader
role that lets the vendor list the organization's accounts, and the read-only role of every member account as a
service-managed StackSet.

The StackSet deploys the customer access template (infra/customer_access_stack.py) to every account of the
chosen organizational units, and, with automatic deployment, to each account that joins them; an account that
leaves loses its stack. The vendor's organizations sync (functions/organizations) reads the account list through
the reader role on the sweep's schedule: new accounts are scanned from the next plan on, closed or removed ones
are no longer scanned, and their history is kept. Service-managed StackSets never deploy to the management
account itself: it gets the customer access template like any single account. The template is standalone (no
assets, no bootstrap parameter), to deploy with `aws cloudformation deploy` or from the console.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk import (
    Acknowledgment,
    App,
    BootstraplessSynthesizer,
    CfnCondition,
    CfnOutput,
    CfnParameter,
    Duration,
    Fn,
    Stack,
    Validations,
)
from aws_cdk import aws_cloudformation as cloudformation
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.customer_access_stack import (
    _ACCOUNT_ID,
    _EXTERNAL_ID,
    _REGION,
    DEFAULT_ROLE_NAME,
    DEFAULT_VENDOR_REGION,
    EXTERNAL_ID_MIN_LENGTH,
    CustomerAccessStack,
    _check,
)

DEFAULT_READER_ROLE_NAME = "ApiDiscoveryOrganizationReader"
DEFAULT_SYNC_ROLE_NAME = "ApiDiscoveryOrganizations"  # the vendor's role that the reader role trusts
MEMBER_STACK_SET_NAME = "ApiDiscoveryMemberAccess"
FORWARDER_STACK_SET_NAME = "ApiDiscoveryMemberChangeEvents"
# CloudFormation takes a template body of 51,200 bytes at most.
MAX_TEMPLATE_BODY = 51_200


def member_template() -> str:
    """The customer access template, without defaults: the StackSet passes this organization's values."""
    app = App(analytics_reporting=False)
    stack = CustomerAccessStack(app, "ApiDiscoveryCustomerAccess")
    body = json.dumps(app.synth().get_stack_by_name(stack.stack_name).template, separators=(",", ":"))
    if len(body.encode()) > MAX_TEMPLATE_BODY:
        raise ValueError(
            f"the member template is {len(body.encode())} bytes, over CloudFormation's {MAX_TEMPLATE_BODY}"
        )
    return body


class OrganizationAccessStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vendor_account_id: str | None = None,
        external_id: str | None = None,
        vendor_region: str = DEFAULT_VENDOR_REGION,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="API Discovery: list this organization's accounts, and the read-only role in each member",
            synthesizer=BootstraplessSynthesizer(),
            analytics_reporting=False,
        )
        vendor = CfnParameter(
            self,
            "VendorAccountId",
            type="String",
            allowed_pattern=_ACCOUNT_ID,
            description="The vendor's account",
            default=vendor_account_id,
        )
        external = CfnParameter(
            self,
            "ExternalId",
            type="String",
            no_echo=True,
            min_length=EXTERNAL_ID_MIN_LENGTH,
            max_length=1224,
            allowed_pattern=_EXTERNAL_ID,
            description="The organization's ExternalId: the reader role's and every member role's",
            default=external_id,
        )
        units = CfnParameter(
            self,
            "OrganizationalUnitIds",
            type="CommaDelimitedList",
            description="The organizational units (or the root, r-...) whose accounts are scanned, new ones included",
        )
        role_region = CfnParameter(
            self,
            "RoleRegion",
            type="String",
            default="us-east-1",
            allowed_pattern=_REGION,
            description="The one region the member stacks create the (global) IAM role from",
        )
        forwarder_regions = CfnParameter(
            self,
            "ForwarderRegions",
            type="CommaDelimitedList",
            default="",
            description="Regions whose API changes each member forwards for prompt rescans (empty: none)",
        )
        bus_region = CfnParameter(
            self,
            "VendorRegion",
            type="String",
            default=vendor_region,
            allowed_pattern=_REGION,
            description="Region of the vendor's discovery event bus",
        )
        sync_arn = f"arn:{self.partition}:iam::{vendor.value_as_string}:role/{DEFAULT_SYNC_ROLE_NAME}"
        self.reader = iam.Role(
            self,
            "ReaderRole",
            role_name=DEFAULT_READER_ROLE_NAME,
            description="Lists this organization's accounts for API Discovery, and nothing else",
            assumed_by=iam.AccountPrincipal(vendor.value_as_string).with_conditions(
                {
                    "StringEquals": {"sts:ExternalId": external.value_as_string},
                    "ArnEquals": {"aws:PrincipalArn": sync_arn},
                }
            ),
            max_session_duration=Duration.hours(1),
            inline_policies={
                "ListAccounts": iam.PolicyDocument(
                    statements=[
                        # ListAccounts has no resource-level permission: "*" is the only resource it takes.
                        iam.PolicyStatement(actions=["organizations:ListAccounts"], resources=["*"])
                    ]
                )
            },
        )
        Validations.of(self.reader).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="organizations:ListAccounts has no resource-level permission: AWS accepts only '*' for it, "
                "and it is the role's one action.",
            )
        )
        body = member_template()
        common = {"VendorAccountId": vendor.value_as_string, "ExternalId": external.value_as_string}
        common["VendorRegion"] = bus_region.value_as_string
        self.members = self._stack_set(
            MEMBER_STACK_SET_NAME,
            "MemberAccess",
            body,
            {**common, "DeployAccessRole": "true", "ForwardChangeEvents": "false"},
            units.value_as_list,
            [role_region.value_as_string],
        )
        has_forwarders = CfnCondition(
            self,
            "ForwardChanges",
            expression=Fn.condition_not(Fn.condition_equals(Fn.join("", forwarder_regions.value_as_list), "")),
        )
        self.forwarders = self._stack_set(
            FORWARDER_STACK_SET_NAME,
            "MemberChangeEvents",
            body,
            {**common, "DeployAccessRole": "false", "ForwardChangeEvents": "true"},
            units.value_as_list,
            forwarder_regions.value_as_list,
        )
        self.forwarders.cfn_options.condition = has_forwarders
        CfnOutput(self, "ReaderRoleArn", value=self.reader.role_arn)

    def _stack_set(
        self, name: str, construct_id: str, body: str, parameters: dict[str, str], units: Any, regions: Any
    ) -> cloudformation.CfnStackSet:
        return cloudformation.CfnStackSet(
            self,
            construct_id,
            stack_set_name=name,
            permission_model="SERVICE_MANAGED",
            # Every account that joins the units gets the stack; one that leaves loses it.
            auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False
            ),
            managed_execution={"Active": True},
            capabilities=["CAPABILITY_NAMED_IAM"],
            template_body=body,
            parameters=[
                cloudformation.CfnStackSet.ParameterProperty(parameter_key=k, parameter_value=v)
                for k, v in parameters.items()
            ],
            operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                failure_tolerance_percentage=10, max_concurrent_percentage=25, region_concurrency_type="PARALLEL"
            ),
            stack_instances_group=[
                cloudformation.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=units
                    ),
                    regions=regions,
                )
            ],
        )


def render_organization_template(
    vendor_account_id: str, external_id: str, vendor_region: str = DEFAULT_VENDOR_REGION
) -> str:
    """The management account's template as JSON, with this vendor's account and this organization's ExternalId
    as parameter defaults."""
    _check(vendor_account_id, _ACCOUNT_ID, "a 12-digit AWS account id")
    _check(vendor_region, _REGION, "an AWS region name")
    if len(external_id) < EXTERNAL_ID_MIN_LENGTH or not re.match(_EXTERNAL_ID, external_id):
        raise ValueError(f"the ExternalId needs at least {EXTERNAL_ID_MIN_LENGTH} of letters, digits and +=,.@:/-_")
    app = App(analytics_reporting=False)
    stack = OrganizationAccessStack(
        app,
        "ApiDiscoveryOrganizationAccess",
        vendor_account_id=vendor_account_id,
        external_id=external_id,
        vendor_region=vendor_region,
    )
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return json.dumps(template, indent=2) + "\n"


__all__ = ["DEFAULT_READER_ROLE_NAME", "DEFAULT_ROLE_NAME", "DEFAULT_SYNC_ROLE_NAME", "OrganizationAccessStack"]
