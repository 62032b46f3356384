"""Shared defaults for the workflow Lambdas, so that `plan`, `scan`, `finalize` and `publish` differ only in
what they are, not in how they are built."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
POWERTOOLS_ACCOUNT = "017000801446"
SERVICE_NAME = "api-discovery"
METRICS_NAMESPACE = "ApiDiscovery"

# Retention values accepted by CloudWatch Logs, keyed by days (see infra.config.LOG_RETENTION_DAYS).
RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    return RETENTION[days]


def powertools_layer_arn(stack: Stack, version: int) -> str:
    """AWS's public Powertools for AWS Lambda (Python) V3 layer for arm64 and the runtime above.

    It is built with the `[all]` extras, so it carries pydantic v2 and aws-xray-sdk as well.
    """
    runtime = RUNTIME.name.replace(".", "")  # python3.13 -> python313
    return (
        f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{runtime}-arm64:{version}"
    )


LAYER_EXCLUDE = ["**/__pycache__", "*.pyc", "**/*.egg-info", "**/.pytest_cache", "**/.mypy_cache"]
LIBRARY = PROJECT_ROOT / "layers" / "python" / "api_discovery"
# The library's packages that no Lambda runs: the CLI, reports, the local runner, the emulator and the demo.
NOT_SHIPPED = ("local",)
LAYER_REQUIREMENTS = PROJECT_ROOT / "layers" / "requirements.txt"
PINS = PROJECT_ROOT / "requirements.txt"


@jsii.implements(ILocalBundling)
class PurePythonLayer:
    """Bundles the layer without Docker: the library as it is, plus the pinned pure-Python packages it needs
    beyond the Lambda runtime and the Powertools layer, copied from this environment (which installed them
    from the same pins), so synthesis needs neither Docker nor a network."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: Any) -> bool:
        target = Path(output_dir) / "python"
        shutil.copytree(LIBRARY, target / "api_discovery", ignore=_not_shipped)
        for name, version in layer_requirements().items():
            copy_distribution(name, version, target)
        return True


def _not_shipped(folder: str, names: list[str]) -> set[str]:
    ignored = {n for n in names if n == "__pycache__" or n.endswith(".pyc")}
    if Path(folder).resolve() == LIBRARY:
        ignored |= set(NOT_SHIPPED) & set(names)
    return ignored


def _requirements(path: Path) -> dict[str, str]:
    """name -> pinned version ('' for a name alone), of a requirements file's plain lines."""
    found = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            found[name.split("[", 1)[0].strip().lower()] = version.strip()
    return found


def layer_requirements() -> dict[str, str]:
    """What the layer ships, each at requirements.txt's pin, or as installed when requirements.txt pins none."""
    pins = _requirements(PINS)
    shipped = {}
    for name in _requirements(LAYER_REQUIREMENTS):
        shipped[name] = pins.get(name) or metadata.version(name)
    return shipped


def copy_distribution(name: str, version: str, target: Path) -> None:
    """One installed distribution's files (package and metadata), as pip would lay them out in the layer."""
    try:
        distribution = metadata.distribution(name)
    except metadata.PackageNotFoundError as exc:
        raise RuntimeError(f"{name}=={version} is needed in the Lambda layer: run `make` to install it") from exc
    if distribution.version != version:
        raise RuntimeError(f"the layer pins {name}=={version} but {distribution.version} is installed")
    for file in distribution.files or []:
        source = Path(str(distribution.locate_file(file)))
        if "__pycache__" in file.parts or not source.is_file():
            continue
        destination = target / file
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


def library_layer(scope: Construct, construct_id: str) -> lambda_.LayerVersion:
    """The project's own library (`layers/python/api_discovery`) and its pure-Python dependencies: no Docker."""
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=lambda_.Code.from_asset(
            str(PROJECT_ROOT / "layers"),
            exclude=LAYER_EXCLUDE,
            # Local bundling only: the image is never pulled, since PurePythonLayer always succeeds.
            bundling=BundlingOptions(image=DockerImage.from_registry("unused-local-bundling"), local=PurePythonLayer()),
        ),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="api_discovery library: collect, inventory, analysis, store, events, steps",
    )


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the workflow functions."""

    step: str
    description: str
    memory_mb: int
    timeout: Duration
    environment: dict[str, str] = field(default_factory=dict)
    role_name: str | None = None
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class FunctionDefaults:
    """What every workflow function shares."""

    layers: list[lambda_.ILayerVersion]
    environment: dict[str, str]
    log_retention_days: int


def workflow_function(scope: Construct, spec: FunctionSpec, defaults: FunctionDefaults) -> lambda_.Function:
    """A Lambda for one workflow step, with its own log group and a role that can only write to it.

    The role is created here rather than by `lambda.Function` so that it carries no AWS managed policy
    (AWSLambdaBasicExecutionRole grants logs on every log group of the account).
    """
    construct_id = spec.step.capitalize()
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=retention(defaults.log_retention_days),
        removal_policy=RemovalPolicy.DESTROY,
    )
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        role_name=spec.role_name,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"api-discovery {spec.step} function",
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="WriteOwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        )
    )
    return lambda_.Function(
        scope,
        construct_id,
        description=spec.description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler="handler.handler",
        code=lambda_.Code.from_asset(str(PROJECT_ROOT / "functions" / spec.step), exclude=["**/__pycache__", "*.pyc"]),
        memory_size=spec.memory_mb,
        timeout=spec.timeout,
        layers=defaults.layers,
        role=role,
        log_group=log_group,
        tracing=lambda_.Tracing.ACTIVE,
        environment={**defaults.environment, **spec.environment},
        reserved_concurrent_executions=spec.reserved_concurrency,
    )
