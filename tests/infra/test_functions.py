"""The four workflow Lambdas: runtime, layers, environment, and exactly the permissions each needs."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Capture, Match, Template

from api_discovery.store.quota_lease import quota_key
from api_discovery.store.registry import REGISTRY_PK
from api_discovery.store.state import api_key, target_key
from infra.discovery_stack import REGISTRY_PARTITION, SCAN_ITEM_PARTITIONS, SCAN_QUOTA_PARTITION
from infra.lambda_factory import PROJECT_ROOT
from tests.infra.synth import TEST_CONTEXT, Synthesized, grants, logical_id, resources_of_type, statements_of_role

STEPS = ("plan", "scan", "finalize", "publish")


def function(synth: Synthesized, step: str) -> lambda_.Function:
    found: lambda_.Function = getattr(synth.built.discovery, step)
    return found


def properties(discovery_json: dict[str, Any], synth: Synthesized, step: str) -> dict[str, Any]:
    props: dict[str, Any] = discovery_json["Resources"][logical_id(function(synth, step))]["Properties"]
    return props


def getatt(construct: Any, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id(construct), attribute]}


def objects(synth: Synthesized, prefix: str) -> str:
    bucket = synth.built.discovery.storage.bucket
    return json.dumps({"Fn::Join": ["", [getatt(bucket), f"/{prefix}*"]]}, sort_keys=True)


def one(resource: object) -> str:
    return json.dumps(resource, sort_keys=True)


TABLE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
}


@pytest.mark.parametrize("step", STEPS)
def test_function_runtime_architecture_tracing_and_handler(
    discovery_json: dict[str, Any], synth: Synthesized, step: str
) -> None:
    props = properties(discovery_json, synth, step)
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "handler.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize(
    ("step", "memory", "timeout"),
    # scan and publish run in EXPRESS child executions, which end after five minutes.
    [("plan", 512, 120), ("scan", 512, 270), ("finalize", 1024, 900), ("publish", 512, 270)],
)
def test_memory_and_timeout_are_tuned_per_step(
    discovery_json: dict[str, Any], synth: Synthesized, step: str, memory: int, timeout: int
) -> None:
    props = properties(discovery_json, synth, step)
    assert (props["MemorySize"], props["Timeout"]) == (memory, timeout)


def staged_asset(synth: Synthesized, code: dict[str, Any]) -> Path:
    """The folder CDK staged for an asset: `asset.<hash>`, the hash being the zip's S3 key."""
    return synth.outdir / f"asset.{code['S3Key'].removesuffix('.zip')}"


@pytest.mark.parametrize("step", STEPS)
def test_function_code_is_its_own_folder(discovery_json: dict[str, Any], synth: Synthesized, step: str) -> None:
    staged = staged_asset(synth, properties(discovery_json, synth, step)["Code"])
    source = PROJECT_ROOT / "functions" / step
    assert sorted(p.name for p in staged.iterdir()) == sorted(
        p.name for p in source.iterdir() if p.name != "__pycache__"
    )
    assert (staged / "handler.py").read_bytes() == (source / "handler.py").read_bytes()


@pytest.mark.parametrize("step", STEPS)
def test_layers_are_public_powertools_and_the_library(
    discovery_json: dict[str, Any], synth: Synthesized, step: str
) -> None:
    layers = properties(discovery_json, synth, step)["Layers"]
    version = TEST_CONTEXT["powertools_layer_version"]
    powertools = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":lambda:",
                {"Ref": "AWS::Region"},
                f":017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:{version}",
            ],
        ]
    }
    library = [{"Ref": key} for key in resources_of_type(discovery_json, "AWS::Lambda::LayerVersion")]
    # The two layers share no package, so their order does not matter.
    assert sorted(map(one, layers)) == sorted(map(one, [powertools, *library]))


def test_library_layer_is_the_layers_folder_for_python_313_arm64(discovery: Template, synth: Synthesized) -> None:
    discovery.resource_count_is("AWS::Lambda::LayerVersion", 1)
    discovery.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.13"], "CompatibleArchitectures": ["arm64"]},
    )
    staged = staged_layer(synth).parent
    assert (staged / "python" / "api_discovery" / "__init__.py").is_file()
    assert (staged / "python" / "policyuniverse" / "__init__.py").is_file()
    assert not list(staged.rglob("__pycache__")), "bytecode caches must not ship in the layer"
    assert not list(staged.rglob("*.egg-info")), "packaging metadata must not ship in the layer"


def test_the_layer_ships_the_pinned_botocore_that_knows_the_2026_fields(synth: Synthesized) -> None:
    """The runtime's own botocore is older and drops what it does not know (a REST JWT authorizer's
    jwtConfiguration, a domain's routingMode): the layer carries requirements.txt's pin."""
    staged = staged_layer(synth)
    pinned = next(
        line.split("==")[1]
        for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith("botocore==")
    )
    assert list(staged.glob(f"botocore-{pinned}.dist-info"))
    model = gzip.decompress(
        (staged / "botocore" / "data" / "apigateway" / "2015-07-09" / "service-2.json.gz").read_bytes()
    )
    shapes = json.loads(model)["shapes"]
    assert "jwtConfiguration" in shapes["Authorizer"]["members"] and "routingMode" in shapes["DomainName"]["members"]


# What a Lambda has besides our layer: the Python runtime's boto3, and AWS's Powertools layer ([all] extras).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
POWERTOOLS_PACKAGES = (
    "aws_lambda_powertools",
    "pydantic",
    "pydantic_core",
    "typing_extensions.py",
    "annotated_types",
    "typing_inspection",
    "aws_xray_sdk",
    "wrapt",
)


LOCAL_TOOLS = ("moto", "typer", "rich", "werkzeug")
# A malformed event, and the error each handler must raise for it: proof that it ran, not only imported.
MALFORMED = {
    "plan": ({"source": 42}, "InvalidScanRequestError"),
    "finalize": ({"run_id": 42}, "InvalidInputError"),
    "publish": ({"run_id": 42}, "InvalidInputError"),
}
MALFORMED_DEFAULT = ({"run_id": "not a run id!"}, "InvalidScanRequestError")

# Runs in an interpreter that has only the layer, the runtime's and Powertools' packages.
LAYER_PROBE = """
import importlib, json, pkgutil, sys
import api_discovery
shipped = sorted(m.name for m in pkgutil.walk_packages(api_discovery.__path__, "api_discovery."))
for name in shipped:
    importlib.import_module(name)
import handler
class Context:
    function_name = "f"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    memory_limit_in_mb = 512
    aws_request_id = "r"
    def get_remaining_time_in_millis(self):
        return 60000
try:
    handler.handler(json.loads(sys.argv[1]), Context())
    raised = None
except Exception as exc:
    raised = type(exc).__name__
tools = sorted(m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[2]))
print(json.dumps({"shipped": shipped, "raised": raised, "tools": tools}))
"""


def staged_layer(synth: Synthesized) -> Path:
    layer = next(iter(resources_of_type(synth.discovery_json, "AWS::Lambda::LayerVersion").values()))
    return staged_asset(synth, layer["Properties"]["Content"]) / "python"


def test_layer_ships_the_library_without_its_local_tools(synth: Synthesized) -> None:
    staged = staged_layer(synth)
    assert (staged / "api_discovery" / "steps" / "scan.py").is_file()
    assert not (staged / "api_discovery" / "local").exists(), "the CLI, emulator and demo must not ship"
    assert not [name for name in LOCAL_TOOLS if (staged / name).exists()]


@pytest.mark.parametrize("step", STEPS)
def test_each_handler_runs_from_the_layer_the_runtime_and_powertools_alone(
    synth: Synthesized, step: str, tmp_path: Path
) -> None:
    staged = staged_layer(synth)
    provided = tmp_path / "provided"
    provided.mkdir()
    site = Path(boto3.__file__).parents[1]
    for name in RUNTIME_PACKAGES + POWERTOOLS_PACKAGES:
        (provided / name).symlink_to(site / name)
    env = {
        "PATH": os.environ["PATH"],
        # Lambda's order: the function's code, then the layers; nothing from this project's virtualenv.
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "functions" / step), str(staged), str(provided)]),
        "TABLE_NAME": "table",
        "BUCKET_NAME": "bucket",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ApiDiscovery",
    }
    event, expected = MALFORMED.get(step, MALFORMED_DEFAULT)
    # -S: no site-packages, so an import the layer cannot satisfy fails here as it would in Lambda.
    result = subprocess.run(
        [sys.executable, "-S", "-W", "ignore", "-c", LAYER_PROBE, json.dumps(event), json.dumps(LOCAL_TOOLS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert "api_discovery.steps.target_scan" in probe["shipped"]
    assert not [m for m in probe["shipped"] if m.startswith("api_discovery.local")]
    assert probe["tools"] == [], f"the layer imported {probe['tools']}"
    assert probe["raised"] == expected


@pytest.mark.parametrize("step", STEPS)
def test_environment_is_the_handlers_contract(discovery_json: dict[str, Any], synth: Synthesized, step: str) -> None:
    storage = synth.built.discovery.storage
    env = properties(discovery_json, synth, step)["Environment"]["Variables"]
    assert env == {
        "TABLE_NAME": {"Ref": logical_id(storage.table)},
        "BUCKET_NAME": {"Ref": logical_id(storage.bucket)},
        "ROLE_NAME": TEST_CONTEXT["customer_role_name"],
        "DEFAULT_REGIONS": ",".join(TEST_CONTEXT["regions"]),
        "MAX_TARGETS": str(TEST_CONTEXT["max_targets"]),
        "MAX_CONCURRENCY": str(TEST_CONTEXT["map_max_concurrency"]),
        "CHANGE_MAX_CONCURRENCY": str(TEST_CONTEXT["change_max_concurrency"]),
        "OPENAPI_EXPORTS": "false",
        "QUOTA_SHARE": "0.6",
        # A forwarding account every fourth sweep: 24 hours of 6-hourly sweeps.
        "FORWARDING_SWEEP_EVERY": "4",
        "SWEEP_INTERVAL_SECONDS": "21600",
        # The sweep's lease lapses when the workflow would have timed out.
        "SWEEP_LEASE_SECONDS": "7200",
        "EVENT_BUS_NAME": TEST_CONTEXT["event_bus_name"],
        "POWERTOOLS_SERVICE_NAME": "api-discovery",
        "POWERTOOLS_METRICS_NAMESPACE": "ApiDiscovery",
        "LOG_LEVEL": TEST_CONTEXT["log_level"],
    }


@pytest.mark.parametrize("step", STEPS)
def test_each_function_logs_to_its_own_group_with_retention(
    discovery_json: dict[str, Any], synth: Synthesized, step: str
) -> None:
    group = properties(discovery_json, synth, step)["LoggingConfig"]["LogGroup"]
    group_id = group["Ref"]
    assert discovery_json["Resources"][group_id]["Properties"]["RetentionInDays"] == TEST_CONTEXT["log_retention_days"]
    role = logical_id(function(synth, step).role)  # type: ignore[arg-type]
    assert ("logs:PutLogEvents", one({"Fn::GetAtt": [group_id, "Arn"]})) in grants(
        statements_of_role(discovery_json, role)
    )


@pytest.mark.parametrize("step", STEPS)
def test_function_roles_carry_no_managed_policy(discovery_json: dict[str, Any], synth: Synthesized, step: str) -> None:
    role = discovery_json["Resources"][logical_id(function(synth, step).role)]  # type: ignore[arg-type]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]


def _common(synth: Synthesized, step: str, discovery_json: dict[str, Any]) -> set[tuple[str, str]]:
    group = properties(discovery_json, synth, step)["LoggingConfig"]["LogGroup"]["Ref"]
    return {
        (action, one({"Fn::GetAtt": [group, "Arn"]})) for action in ("logs:CreateLogStream", "logs:PutLogEvents")
    } | {(action, '"*"') for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords")}


def _table(synth: Synthesized) -> set[tuple[str, str]]:
    table = one(getatt(synth.built.discovery.storage.table))
    return {(action, table) for action in TABLE_ACTIONS}


def _listing(discovery_json: dict[str, Any], role: str) -> dict[str, Any]:
    (listing,) = [s for s in statements_of_role(discovery_json, role) if s["Action"] == "s3:ListBucket"]
    condition: dict[str, Any] = listing["Condition"]
    return condition


def role_of(synth: Synthesized, step: str) -> str:
    return logical_id(function(synth, step).role)  # type: ignore[arg-type]


def test_plan_may_only_use_the_table_and_write_manifests(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    assert grants(statements_of_role(discovery_json, role_of(synth, "plan"))) == _common(
        synth, "plan", discovery_json
    ) | _table(synth) | {("s3:PutObject", objects(synth, "manifests/"))}


def test_scan_may_only_assume_the_customer_role_and_use_its_snapshots(
    discovery_json: dict[str, Any], synth: Synthesized
) -> None:
    stack = synth.built.discovery
    role = role_of(synth, "scan")
    customer_role = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::*:role/{TEST_CONTEXT['customer_role_name']}"]]
    }
    bucket = one(getatt(stack.storage.bucket))
    snapshots = {
        (action, objects(synth, prefix))
        for action in ("s3:PutObject", "s3:GetObject")
        for prefix in ("snapshots/", "progress/", "exports/", "changes/")
    }
    expected = _common(synth, "scan", discovery_json) | _table(synth) | snapshots
    expected |= {("sts:AssumeRole", one(customer_role)), ("s3:ListBucket", bucket)}
    assert grants(statements_of_role(discovery_json, role)) == expected
    assert _listing(discovery_json, role) == {
        "StringLike": {"s3:prefix": ["snapshots/*", "progress/*", "exports/*", "changes/*"]}
    }


def test_scan_reads_the_registry_but_writes_only_target_state(discovery: Template, synth: Synthesized) -> None:
    """The role customers trust may read one account's registry item (its ExternalId), never change it, and
    may touch no run, window, outbox or sweep lease; of the customer quota's lease, only its places."""
    table = getatt(synth.built.discovery.storage.table)
    statements = Capture()
    discovery.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": role_of(synth, "scan")}],
            "PolicyDocument": {"Statement": statements, "Version": "2012-10-17"},
        },
    )
    table_statements = [s for s in statements.as_array() if s["Resource"] == table]
    assert table_statements == [
        {
            "Sid": "ReadExternalIdOfRegisteredAccount",
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": table,
            "Condition": {
                "ForAllValues:StringEquals": {
                    "dynamodb:LeadingKeys": ["REGISTRY"],
                    "dynamodb:Attributes": ["pk", "sk", "external_id"],
                },
                "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
                "Null": {"dynamodb:LeadingKeys": "false", "dynamodb:Attributes": "false"},
            },
        },
        {
            "Sid": "UseTargetState",
            "Effect": "Allow",
            "Action": sorted(TABLE_ACTIONS),
            "Resource": table,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TARGET#*", "API#*"]}},
        },
        {
            "Sid": "ShareCustomerQuota",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            "Resource": table,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["QUOTA#*"]}},
        },
    ]


def test_scan_keys_are_the_ones_the_library_writes() -> None:
    assert REGISTRY_PARTITION == REGISTRY_PK
    keys = [target_key("111111111111", "us-east-1")["pk"], api_key("111111111111", "us-east-1", "REST", "a")["pk"]]
    assert [pattern.rstrip("*") for pattern in SCAN_ITEM_PARTITIONS] == [key.split("#", 1)[0] + "#" for key in keys]
    assert SCAN_QUOTA_PARTITION.rstrip("*") == quota_key("111111111111")["pk"].split("#", 1)[0] + "#"


def test_scan_has_reserved_concurrency_and_the_fixed_role_name(discovery: Template, synth: Synthesized) -> None:
    discovery.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.handler",
            "Timeout": 270,
            "MemorySize": 512,
            "ReservedConcurrentExecutions": TEST_CONTEXT["scan_reserved_concurrency"],
            "Role": {"Fn::GetAtt": [role_of(synth, "scan"), "Arn"]},
        },
    )
    role = synth.discovery_json["Resources"][role_of(synth, "scan")]
    assert role["Properties"]["RoleName"] == TEST_CONTEXT["scanner_role_name"]
    assert TEST_CONTEXT["scan_reserved_concurrency"] >= TEST_CONTEXT["map_max_concurrency"]


def test_only_scan_reserves_concurrency(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    reserved = {step: properties(discovery_json, synth, step).get("ReservedConcurrentExecutions") for step in STEPS}
    assert reserved == {"plan": None, "scan": 850, "finalize": None, "publish": None}


def test_finalize_reads_results_manifests_and_rounds_never_change_sets_and_writes_reports_and_manifests(
    discovery_json: dict[str, Any], synth: Synthesized
) -> None:
    stack = synth.built.discovery
    role = role_of(synth, "finalize")
    reads = {("s3:GetObject", objects(synth, prefix)) for prefix in ("manifests/", "results/", "runs/")}
    writes = {("s3:PutObject", objects(synth, prefix)) for prefix in ("runs/", "manifests/")}
    expected = _common(synth, "finalize", discovery_json) | _table(synth) | reads | writes
    expected.add(("s3:ListBucket", one(getatt(stack.storage.bucket))))
    assert grants(statements_of_role(discovery_json, role)) == expected
    assert _listing(discovery_json, role) == {"StringLike": {"s3:prefix": ["manifests/*", "results/*", "runs/*"]}}


def test_publish_reads_change_sets_and_run_reports_and_puts_events_on_the_bus(
    discovery_json: dict[str, Any], synth: Synthesized
) -> None:
    stack = synth.built.discovery
    role = role_of(synth, "publish")
    reads = {("s3:GetObject", objects(synth, prefix)) for prefix in ("changes/", "runs/")}
    expected = _common(synth, "publish", discovery_json) | _table(synth) | reads
    expected |= {
        ("s3:ListBucket", one(getatt(stack.storage.bucket))),
        ("events:PutEvents", one(getatt(stack.triggers.bus))),
    }
    assert grants(statements_of_role(discovery_json, role)) == expected
    assert _listing(discovery_json, role) == {"StringLike": {"s3:prefix": ["changes/*", "runs/*"]}}


def test_publish_is_its_own_function_with_its_own_role_and_log_group(discovery: Template, synth: Synthesized) -> None:
    log_group = Capture()
    discovery.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Description": Match.string_like_regexp("batch of change and finding events"),
            "Handler": "handler.handler",
            "Role": {"Fn::GetAtt": [role_of(synth, "publish"), "Arn"]},
            "LoggingConfig": {"LogGroup": {"Ref": log_group}},
        },
    )
    others = {role_of(synth, step) for step in STEPS if step != "publish"}
    assert role_of(synth, "publish") not in others
    groups = {
        properties(synth.discovery_json, synth, step)["LoggingConfig"]["LogGroup"]["Ref"]
        for step in STEPS
        if step != "publish"
    }
    assert log_group.as_string() not in groups


def test_only_publish_may_put_events(discovery_json: dict[str, Any], synth: Synthesized) -> None:
    putting = {
        step
        for step in STEPS
        if any(
            action == "events:PutEvents"
            for action, _ in grants(statements_of_role(discovery_json, role_of(synth, step)))
        )
    }
    assert putting == {"publish"}


def test_no_function_may_touch_another_prefix_or_delete_objects(discovery_json: dict[str, Any]) -> None:
    for policy in resources_of_type(discovery_json, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(action.startswith("s3:Delete") or action in ("s3:*", "dynamodb:*") for action in actions)
