"""The demo's Lambda function URLs, created through moto's Lambda API as a customer would create them.

A webhook receiver whose URL asks for no authentication and whose policy lets anyone call it (with a signing
secret in its environment, which nothing the product writes may ever contain), a report export behind an IAM
URL, a URL left without the permission that would open it, and a function with no URL at all.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3

# In the webhook function's environment: the demo's test searches every output for it.
WEBHOOK_SECRET = "whsec_DemoOnly9f3b2c71e4a8d6051b"
FUNCTION_ROLE = "demo-function-role"
ROLE_PATH = "/api-discovery-demo/"
# Lambda may assume a function's execution role.
FUNCTION_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@dataclass(frozen=True)
class FunctionSet:
    """Which functions a target holds: (name, URL auth type or None, public permission)."""

    functions: tuple[tuple[str, str | None, bool], ...]

    @property
    def urls(self) -> int:
        return sum(1 for _, auth, _ in self.functions if auth)


WEBHOOKS = FunctionSet(
    (
        ("webhooks", "NONE", True),
        ("reports-export", "AWS_IAM", False),
        ("nightly-batch", None, False),
    )
)
LEGACY = FunctionSet((("legacy-upload", "NONE", False),))


def seed_functions(session: boto3.Session, endpoint_url: str | None, region: str, functions: FunctionSet) -> None:
    client: Any = session.client("lambda", region_name=region, endpoint_url=endpoint_url)
    role = function_role(session, endpoint_url)
    for name, auth, public in functions.functions:
        environment = {"WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET, "LOG_LEVEL": "INFO"} if name == "webhooks" else {}
        client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": function_code()},
            Environment={"Variables": environment},
            Tags={"team": "platform"},
        )
        if auth is None:
            continue
        cors = {"AllowOrigins": ["*"], "AllowMethods": ["POST"]} if name == "webhooks" else None
        client.create_function_url_config(FunctionName=name, AuthType=auth, **({"Cors": cors} if cors else {}))
        if public:
            client.add_permission(
                FunctionName=name,
                StatementId="FunctionURLAllowPublicAccess",
                Action="lambda:InvokeFunctionUrl",
                Principal="*",
                FunctionUrlAuthType="NONE",
            )


def function_role(session: boto3.Session, endpoint_url: str | None) -> str:
    """The execution role moto wants a function to name (it checks the role exists), made once per account."""
    iam: Any = session.client("iam", region_name="us-east-1", endpoint_url=endpoint_url)
    # Listed rather than fetched: a missing role would be a refused request in the emulator's log.
    for role in iam.list_roles(PathPrefix=ROLE_PATH)["Roles"]:
        if role["RoleName"] == FUNCTION_ROLE:
            return str(role["Arn"])
    document = json.dumps(FUNCTION_TRUST)
    created = iam.create_role(RoleName=FUNCTION_ROLE, Path=ROLE_PATH, AssumeRolePolicyDocument=document)
    return str(created["Role"]["Arn"])


def function_code() -> bytes:
    """A deployment package: never run here, but Lambda wants one."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("handler.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return archive.getvalue()
