"""Build precise API Gateway estates in the emulator, one account at a time, for the collection tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

from api_discovery.collect.budget import Rates
from api_discovery.inventory.model import Snapshot
from api_discovery.inventory.results import TargetResult
from api_discovery.local.demo_estate import account_session
from api_discovery.local.demo_functions import function_code, function_role
from api_discovery.steps.scan import scan_account
from api_discovery.steps.target_scan import ScanOptions, scan_target
from api_discovery.targets import AccountTarget, Target

# The emulator enforces no quota here; the budget's own behaviour is tested on its own.
UNLIMITED = Rates(rate=10_000, burst=10_000, get_resources_rate=10_000, get_resources_burst=10_000)


def options(page_size: int = 500) -> ScanOptions:
    return ScanOptions(page_size=page_size, rates=UNLIMITED)


LAMBDA_URI = (
    "arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:{region}:{account}:function:{name}/invocations"
)
PRIVATE_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": "execute-api:/*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}},
        }
    ],
}


@dataclass
class RestApi:
    id: str
    root_id: str
    resources: dict[str, str] = field(default_factory=dict)  # path -> resource id


class Builder:
    def __init__(self, endpoint_url: str, account_id: str, region: str) -> None:
        session = account_session(endpoint_url, account_id)
        self.account_id = account_id
        self.region = region
        self.v1: Any = session.client("apigateway", endpoint_url=endpoint_url, region_name=region)
        self.v2: Any = session.client("apigatewayv2", endpoint_url=endpoint_url, region_name=region)
        self.lambda_: Any = session.client("lambda", endpoint_url=endpoint_url, region_name=region)
        self.session, self.endpoint_url = session, endpoint_url
        self._role: str | None = None

    def rest_api(self, name: str, endpoint: str = "REGIONAL", **extra: Any) -> RestApi:
        api = self.v1.create_rest_api(name=name, endpointConfiguration={"types": [endpoint]}, **extra)
        root = self.v1.get_resources(restApiId=api["id"])["items"][0]["id"]
        return RestApi(id=api["id"], root_id=root, resources={"/": root})

    def resource(self, api: RestApi, path: str) -> str:
        parent_path, _, part = path.rstrip("/").rpartition("/")
        parent = api.resources[parent_path or "/"]
        created = self.v1.create_resource(restApiId=api.id, parentId=parent, pathPart=part)
        api.resources[path] = created["id"]
        return str(created["id"])

    def method(
        self, api: RestApi, path: str, verb: str, *, integration: dict[str, Any] | None = None, **method: Any
    ) -> None:
        resource = api.resources[path]
        self.v1.put_method(
            restApiId=api.id, resourceId=resource, httpMethod=verb, **{"authorizationType": "NONE", **method}
        )
        if integration is not None:
            self.v1.put_integration(restApiId=api.id, resourceId=resource, httpMethod=verb, **integration)

    def lambda_integration(self, name: str) -> dict[str, Any]:
        return {
            "type": "AWS_PROXY",
            "integrationHttpMethod": "POST",
            "uri": LAMBDA_URI.format(region=self.region, account=self.account_id, name=name),
        }

    def http_api(self, name: str, protocol: str = "HTTP", **extra: Any) -> str:
        if protocol == "WEBSOCKET":
            extra.setdefault("RouteSelectionExpression", "$request.body.action")
        return str(self.v2.create_api(Name=name, ProtocolType=protocol, **extra)["ApiId"])

    def route(self, api_id: str, key: str, *, target_uri: str | None = None, **route: Any) -> str:
        if target_uri:
            integration = self.v2.create_integration(
                ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=target_uri, PayloadFormatVersion="2.0"
            )
            route["Target"] = f"integrations/{integration['IntegrationId']}"
        return str(self.v2.create_route(ApiId=api_id, RouteKey=key, **route)["RouteId"])

    def function(self, name: str, *, environment: dict[str, str] | None = None) -> str:
        """A Python function (its code never runs here); returns its ARN."""
        self._role = self._role or function_role(self.session, self.endpoint_url)
        created = self.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self._role,
            Handler="handler.handler",
            Code={"ZipFile": function_code()},
            Environment={"Variables": environment or {}},
        )
        return str(created["FunctionArn"])

    def function_url(
        self, name: str, auth_type: str = "NONE", *, public: bool = True, cors: dict[str, Any] | None = None
    ) -> str:
        """A URL for the function; with `public`, the permission that lets anyone call it."""
        config = self.lambda_.create_function_url_config(
            FunctionName=name, AuthType=auth_type, **({"Cors": cors} if cors else {})
        )
        if public:
            self.lambda_.add_permission(
                FunctionName=name,
                StatementId="FunctionURLAllowPublicAccess",
                Action="lambda:InvokeFunctionUrl",
                Principal="*",
                FunctionUrlAuthType="NONE",
            )
        return str(config["FunctionUrl"])


def scan_in(emulator_url: str, account_id: str, region: str, page_size: int = 500) -> Snapshot:
    """One (account, region) of the emulator scanned through the customer's read-only role, as the scanner reaches
    it. The caller points boto3 at the emulator (AWS_ENDPOINT_URL)."""
    target = Target(
        run_id="run-1",
        account_id=account_id,
        region=region,
        role_arn=f"arn:aws:iam::{account_id}:role/ApiDiscoveryReadOnly",
        external_id="ext-1",
    )
    return scan_target(target, session_factory=boto3.Session, options=options(page_size))


def scan_region(target: Target, **kwargs: Any) -> TargetResult:
    """One (account, region) through the account scan, as the scan Lambda runs it, and its one result."""
    item = AccountTarget(
        run_id=target.run_id,
        account_id=target.account_id,
        regions=[target.region],
        role_arn=target.role_arn,
        global_region=target.region if target.global_services else None,
    )
    (result,) = scan_account(item, external_id=target.external_id, **kwargs).finished()
    return result
