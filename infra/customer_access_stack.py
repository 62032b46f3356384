"""What a customer deploys to let the vendor scan its API Gateway estate: one read-only role, and
optionally a rule that forwards API Gateway change events to the vendor's discovery bus.

The role comes in two scopes, chosen by the `AccessScope` parameter:
  SecurityAudit   (default) the AWS managed SecurityAudit policy plus apigateway:GET on every API Gateway
                  path: what checks beyond API Gateway (WAF, Lambda, certificates ...) will need.
  ApiGatewayOnly  apigateway:GET on exactly the paths the scanner reads today, and nothing else.
Both deny the API key paths.

The template is standalone (no assets, no bootstrap version parameter, no CDK metadata), so it can be
deployed as a StackSet, from a quick-create link, or with `aws cloudformation deploy`. IAM is global, so
a multi-region StackSet sets `DeployAccessRole=false` everywhere but one region and
`ForwardChangeEvents=true` everywhere.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, get_args

from aws_cdk import (
    Acknowledgment,
    App,
    Aws,
    BootstraplessSynthesizer,
    CfnCondition,
    CfnOutput,
    CfnParameter,
    Duration,
    Fn,
    ICfnConditionExpression,
    Stack,
    Validations,
)
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.triggers import api_gateway_change_pattern

DEFAULT_ROLE_NAME = "ApiDiscoveryReadOnly"
DEFAULT_SCANNER_ROLE_NAME = "ApiDiscoveryScanner"
DEFAULT_EVENT_BUS_NAME = "api-discovery"
DEFAULT_VENDOR_REGION = "us-east-1"
EXTERNAL_ID_MIN_LENGTH = 16
_EXTERNAL_ID = r"^[\w+=,.@:/-]+$"
_ACCOUNT_ID = r"^\d{12}$"
_IAM_NAME = r"^[\w+=,.@-]{1,64}$"
_REGION = r"^[a-z]{2}(-[a-z]+)+-\d$"

# API key values are reachable through these API Gateway paths; denied so that no code path, present or
# future, can read them with this role.
API_KEY_PATHS = ("/apikeys", "/apikeys/*", "/usageplans/*/keys", "/usageplans/*/keys/*")

AccessScope = Literal["SecurityAudit", "ApiGatewayOnly"]
ACCESS_SCOPES: tuple[AccessScope, ...] = get_args(AccessScope)
DEFAULT_ACCESS_SCOPE: AccessScope = "SecurityAudit"
# The API Gateway paths (IAM resources of apigateway:GET) of the operations the scanner sends, one for each
# operation on the customer session's allow-list (api_discovery.collect.session.SCANNER_OPERATIONS); v2
# paths carry no /v2 in IAM. tests/infra/test_least_privilege.py derives this list from that allow-list.
SCANNED_PATHS = (
    "/restapis",  # GetRestApis
    "/restapis/*/resources",  # GetResources (embed=methods)
    "/restapis/*/stages",  # GetStages
    "/restapis/*/authorizers",  # GetAuthorizers
    "/restapis/*/stages/*/exports/*",  # GetExport, when the vendor enables OpenAPI exports
    "/restapis/*/requestvalidators",  # GetRequestValidators, for APIs whose methods reference one
    "/domainnames",  # GetDomainNames, v1 and v2, own and shared private domains
    "/domainnames/*/basepathmappings",  # GetBasePathMappings
    "/domainnames/*/apimappings",  # GetApiMappings
    "/domainnames/*/routingrules",  # ListRoutingRules, for domains that route by rules
    "/domainnameaccessassociations",  # GetDomainNameAccessAssociations, where the region has a private domain
    "/clientcertificates",  # GetClientCertificates (without the PEM), in regions with APIs
    "/account",  # GetAccount (the CloudWatch role), in regions with APIs
    "/vpclinks",  # GetVpcLinks, v1 and v2
    "/usageplans",  # GetUsagePlans (plans only; their keys are denied)
    "/apis",  # GetApis
    "/apis/*/routes",  # GetRoutes
    "/apis/*/integrations",  # GetIntegrations
    "/apis/*/authorizers",  # GetAuthorizers
    "/apis/*/stages",  # GetStages
    "/apis/*/exports/*",  # ExportApi, when the vendor enables OpenAPI exports
)


# A private custom domain's IAM resource names the account that owns it (…:apigateway:<region>:<account>:/domainnames/
# <name>+<id>…), unlike every other API Gateway path: its reads are granted in that form too.
ACCOUNT_SCOPED_PREFIXES = ("/domainnames", "/domainnameaccessassociations", "/*")


def _resources(paths: tuple[str, ...]) -> list[str]:
    found = []
    for path in paths:
        found.append(f"arn:{Aws.PARTITION}:apigateway:*::{path}")
        if path.startswith(ACCOUNT_SCOPED_PREFIXES):
            found.append(f"arn:{Aws.PARTITION}:apigateway:*:{Aws.ACCOUNT_ID}:{path}")
    return found


class CustomerAccessStack(Stack):
    """The customer-side role (and optional event forwarder), parameterised for any vendor account."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vendor_account_id: str | None = None,
        external_id: str | None = None,
        role_name: str = DEFAULT_ROLE_NAME,
        scanner_role_name: str = DEFAULT_SCANNER_ROLE_NAME,
        vendor_region: str = DEFAULT_VENDOR_REGION,
        event_bus_name: str = DEFAULT_EVENT_BUS_NAME,
        forward_change_events: bool = False,
        access_scope: AccessScope = DEFAULT_ACCESS_SCOPE,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="API Discovery: read-only access for the vendor's scanner (SecurityAudit + apigateway:GET, "
            "or apigateway:GET on the scanned paths only)",
            synthesizer=BootstraplessSynthesizer(),
            analytics_reporting=False,
        )
        vendor_account = CfnParameter(
            self,
            "VendorAccountId",
            type="String",
            description="AWS account id of the API Discovery vendor",
            allowed_pattern=_ACCOUNT_ID,
            constraint_description="a 12-digit AWS account id",
            default=vendor_account_id,
        )
        scanner_role = CfnParameter(
            self,
            "VendorScannerRoleName",
            type="String",
            description="Name of the vendor's scanner role, the only principal allowed to assume the role",
            allowed_pattern=_IAM_NAME,
            default=scanner_role_name,
        )
        external = CfnParameter(
            self,
            "ExternalId",
            type="String",
            description="The ExternalId the vendor gave you; it must be presented on every AssumeRole",
            min_length=EXTERNAL_ID_MIN_LENGTH,
            max_length=1224,
            allowed_pattern=_EXTERNAL_ID,
            constraint_description=f"at least {EXTERNAL_ID_MIN_LENGTH} of letters, digits and +=,.@:/-_",
            default=external_id,
        )
        role_name_param = CfnParameter(
            self,
            "RoleName",
            type="String",
            description="Name of the read-only role (the vendor expects this exact name)",
            allowed_pattern=_IAM_NAME,
            default=role_name,
        )
        access = CfnParameter(
            self,
            "AccessScope",
            type="String",
            description="SecurityAudit: AWS's read-only SecurityAudit policy plus apigateway:GET (needed by "
            "checks beyond API Gateway). ApiGatewayOnly: apigateway:GET on the API Gateway paths the scanner "
            "reads, nothing else. API keys are denied either way.",
            allowed_values=list(ACCESS_SCOPES),
            default=access_scope,
        )
        deploy_role = CfnParameter(
            self,
            "DeployAccessRole",
            type="String",
            description="Create the role (IAM is global: 'true' in one region only)",
            allowed_values=["true", "false"],
            default="true",
        )
        forward = CfnParameter(
            self,
            "ForwardChangeEvents",
            type="String",
            description="Forward API Gateway (and function URL) change events of this region so the vendor rescans "
            "promptly",
            allowed_values=["true", "false"],
            default="true" if forward_change_events else "false",
        )
        bus_region = CfnParameter(
            self,
            "VendorRegion",
            type="String",
            description="Region of the vendor's discovery event bus",
            allowed_pattern=_REGION,
            default=vendor_region,
        )
        bus_name = CfnParameter(
            self,
            "VendorEventBusName",
            type="String",
            description="Name of the vendor's discovery event bus",
            default=event_bus_name,
        )
        role_wanted = Fn.condition_equals(deploy_role.value_as_string, "true")
        create_role = CfnCondition(self, "CreateAccessRole", expression=role_wanted)
        forward_events = CfnCondition(
            self, "ForwardEvents", expression=Fn.condition_equals(forward.value_as_string, "true")
        )
        audit_wanted = Fn.condition_equals(access.value_as_string, "SecurityAudit")
        security_audit = CfnCondition(self, "GrantSecurityAudit", expression=audit_wanted)

        scanner_arn = f"arn:{self.partition}:iam::{vendor_account.value_as_string}:role/{scanner_role.value_as_string}"
        self.role = iam.Role(
            self,
            "AccessRole",
            role_name=role_name_param.value_as_string,
            description="Read-only inventory of API Gateway for API Discovery",
            # The account principal plus aws:PrincipalArn keeps trust valid if the vendor recreates its role
            # (a role-ARN principal would be pinned to the old role's unique id) while admitting only that role.
            assumed_by=iam.AccountPrincipal(vendor_account.value_as_string).with_conditions(
                {
                    "StringEquals": {"sts:ExternalId": external.value_as_string},
                    "ArnEquals": {"aws:PrincipalArn": scanner_arn},
                }
            ),
            max_session_duration=Duration.hours(1),
            inline_policies={"NeverReadApiKeys": self._never_read_api_keys()},
        )
        self._only_if(self.role, create_role)
        role_resource = self.role.node.default_child
        assert isinstance(role_resource, iam.CfnRole)
        # SecurityAudit only in that scope: a list entry of AWS::NoValue is dropped.
        audit_policy = Fn.condition_if(
            security_audit.logical_id,
            iam.ManagedPolicy.from_aws_managed_policy_name("SecurityAudit").managed_policy_arn,
            Aws.NO_VALUE,
        )
        role_resource.managed_policy_arns = [audit_policy.to_string()]
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                # cdk-nag names a conditional entry by its JSON.
                id=f"AwsSolutions-IAM4[Policy::{json.dumps(self.resolve(audit_policy), separators=(',', ':'))}]",
                reason="SecurityAudit (in the default SecurityAudit scope only) is the AWS-maintained read-only "
                "audit policy that checks beyond API Gateway build on; AWS keeps it current as services add reads.",
            )
        )
        self._read_policy(
            "ReadAllApiGateway",
            ("/*",),
            Fn.condition_and(role_wanted, audit_wanted),
            "In the SecurityAudit scope the role reads every API Gateway path in every region (key paths "
            "denied), so that later checks need no new grant; the ApiGatewayOnly scope lists its paths.",
        )
        self._read_policy(
            "ReadScannedApiGateway",
            SCANNED_PATHS,
            Fn.condition_and(role_wanted, Fn.condition_not(audit_wanted)),
            "Any region the vendor scans, and ids (API, stage, domain) known only at run time: the path "
            "itself is one the scanner reads, no other.",
        )
        role_output = CfnOutput(self, "AccessRoleArn", value=self.role.role_arn)
        role_output.condition = create_role

        bus_arn = (
            f"arn:{self.partition}:events:{bus_region.value_as_string}:{vendor_account.value_as_string}"
            f":event-bus/{bus_name.value_as_string}"
        )
        forwarder_role = iam.Role(
            self,
            "ForwarderRole",
            description="Lets EventBridge put API Gateway change events on the vendor's discovery bus",
            # Only EventBridge acting for a rule of this account and region (the rule's name is generated).
            assumed_by=iam.ServicePrincipal("events.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/*"},
                }
            ),
            inline_policies={
                "PutOnVendorBus": iam.PolicyDocument(
                    statements=[iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus_arn])]
                )
            },
        )
        self._only_if(forwarder_role, forward_events)
        pattern = api_gateway_change_pattern()
        forwarder = events.CfnRule(
            self,
            "ForwardApiGatewayChanges",
            description="Forward successful API Gateway management calls, and Lambda's function URL changes, to API "
            "Discovery",
            event_pattern=pattern,
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(id="ApiDiscoveryBus", arn=bus_arn, role_arn=forwarder_role.role_arn)
            ],
        )
        forwarder.cfn_options.condition = forward_events

    def _read_policy(
        self, construct_id: str, paths: tuple[str, ...], condition: ICfnConditionExpression, reason: str
    ) -> iam.Policy:
        """apigateway:GET on these paths, attached to the role only under `condition` (a scope of the role)."""
        resources = _resources(paths)
        policy = iam.Policy(
            self,
            construct_id,
            policy_name=construct_id,
            roles=[self.role],
            statements=[iam.PolicyStatement(sid=construct_id, actions=["apigateway:GET"], resources=resources)],
        )
        resource = policy.node.default_child
        assert isinstance(resource, iam.CfnPolicy)
        resource.cfn_options.condition = CfnCondition(self, f"{construct_id}Scope", expression=condition)
        Validations.of(policy).acknowledge(
            *(
                Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::"
                    + resource.replace(Aws.PARTITION, "<AWS::Partition>").replace(Aws.ACCOUNT_ID, "<AWS::AccountId>")
                    + "]",
                    reason=reason,
                )
                for resource in resources
            )
        )
        return policy

    @staticmethod
    def _never_read_api_keys() -> iam.PolicyDocument:
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="NeverReadApiKeys",
                    effect=iam.Effect.DENY,
                    actions=["apigateway:GET"],
                    resources=[f"arn:{Aws.PARTITION}:apigateway:*::{path}" for path in API_KEY_PATHS],
                ),
            ]
        )

    @staticmethod
    def _only_if(construct: Construct, condition: CfnCondition) -> None:
        for child in construct.node.find_all():
            if isinstance(child, iam.CfnRole | iam.CfnPolicy):
                child.cfn_options.condition = condition


def _check(value: str, pattern: str, what: str) -> str:
    if not re.match(pattern, value):
        raise ValueError(f"{value!r} is not {what}")
    return value


def render_customer_template(
    vendor_account_id: str,
    external_id: str,
    role_name: str = DEFAULT_ROLE_NAME,
    *,
    scanner_role_name: str = DEFAULT_SCANNER_ROLE_NAME,
    vendor_region: str = DEFAULT_VENDOR_REGION,
    event_bus_name: str = DEFAULT_EVENT_BUS_NAME,
    forward_change_events: bool = False,
    access_scope: str = DEFAULT_ACCESS_SCOPE,
) -> str:
    """The customer template as JSON, with this vendor's account and this customer's ExternalId as
    parameter defaults (the customer can still review and change every value before deploying)."""
    if access_scope not in ACCESS_SCOPES:
        raise ValueError(f"the access scope is one of {', '.join(ACCESS_SCOPES)}, not {access_scope!r}")
    _check(vendor_account_id, _ACCOUNT_ID, "a 12-digit AWS account id")
    _check(role_name, _IAM_NAME, "a valid IAM role name")
    _check(scanner_role_name, _IAM_NAME, "a valid IAM role name")
    _check(vendor_region, _REGION, "an AWS region name")
    if len(external_id) < EXTERNAL_ID_MIN_LENGTH or not re.match(_EXTERNAL_ID, external_id):
        raise ValueError(f"the ExternalId needs at least {EXTERNAL_ID_MIN_LENGTH} of letters, digits and +=,.@:/-_")
    app = App(analytics_reporting=False)
    stack = CustomerAccessStack(
        app,
        "ApiDiscoveryCustomerAccess",
        vendor_account_id=vendor_account_id,
        external_id=external_id,
        role_name=role_name,
        scanner_role_name=scanner_role_name,
        vendor_region=vendor_region,
        event_bus_name=event_bus_name,
        forward_change_events=forward_change_events,
        access_scope=access_scope,  # one of ACCESS_SCOPES, checked above
    )
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return json.dumps(template, indent=2, sort_keys=False) + "\n"
