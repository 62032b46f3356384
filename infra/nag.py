"""cdk-nag acknowledgements of the vendor stack: each finding by its own id, on the construct that
causes it, with the reason it is accepted. Anything not listed here fails `cdk synth`."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IConstruct

from infra.storage import (
    CHANGES_PREFIX,
    EXPORTS_PREFIX,
    MANIFESTS_PREFIX,
    PROGRESS_PREFIX,
    RESULTS_PREFIX,
    RUNS_PREFIX,
    SNAPSHOTS_PREFIX,
)
from infra.workflow import Workflow

RUNTIME_REASON = (
    "Pinned to Python 3.13, the runtime the library is tested on and for which the functions use AWS's "
    "public Powertools layer (python313, arm64); moving on is one change to lambda_factory.RUNTIME."
)
NO_RESOURCE_LEVEL_REASON = (
    "X-Ray trace submission (and, for Step Functions, CloudWatch Logs delivery) supports no resource-level "
    "permissions: AWS documents Resource '*' for these actions."
)
PREFIX_REASONS = {
    MANIFESTS_PREFIX: "Manifests are keyed by run id and round (manifests/run=<id>/round=<n>.json), known only at "
    "run time.",
    SNAPSHOTS_PREFIX: "Snapshots are keyed by account, region, date and run, known only at run time.",
    RESULTS_PREFIX: "The Distributed Map writes results under results/<map run id>/, an id Step Functions assigns.",
    RUNS_PREFIX: "Run reports and each round's target files are keyed by run id, known only at run time.",
    CHANGES_PREFIX: "Change sets are keyed by account, region, date and run, known only at run time.",
    PROGRESS_PREFIX: "A continued scan's progress is keyed by run, account and region, known only at run time.",
    EXPORTS_PREFIX: "OpenAPI exports are keyed by account, region, API, stage and deployment, known at run time.",
}


def iam5(resource: str) -> str:
    return f"AwsSolutions-IAM5[Resource::{resource}]"


def arn_token(construct: Construct) -> str:
    """How cdk-nag prints `Fn::GetAtt [<logical id>, Arn]` of a construct's CloudFormation resource."""
    stack = Stack.of(construct)
    child = construct.node.default_child
    assert child is not None, f"{construct.node.path} has no CloudFormation resource"
    logical_id = stack.resolve(stack.get_logical_id(child))  # type: ignore[arg-type]
    return f"<{logical_id}.Arn>"


def _acknowledge_prefixes(scope: IConstruct, bucket_arn: str, *prefixes: str) -> None:
    Validations.of(scope).acknowledge(
        *(Acknowledgment(id=iam5(f"{bucket_arn}/{prefix}*"), reason=PREFIX_REASONS[prefix]) for prefix in prefixes)
    )


def acknowledge_discovery_findings(
    *,
    bucket: s3.Bucket,
    plan: lambda_.Function,
    scan: lambda_.Function,
    finalize: lambda_.Function,
    publish: lambda_.Function,
    changes: lambda_.Function,
    organizations: lambda_.Function,
    workflow: Workflow,
    dead_letters: sqs.IQueue,
    customer_role_name: str,
    reader_role_name: str,
) -> None:
    """Takes the constructs it acknowledges findings on, not the stack, so that it need not import the stack."""
    bucket_arn = arn_token(bucket)
    prefixes = {
        plan: (MANIFESTS_PREFIX,),
        scan: (SNAPSHOTS_PREFIX, PROGRESS_PREFIX, EXPORTS_PREFIX, CHANGES_PREFIX),
        finalize: (MANIFESTS_PREFIX, RESULTS_PREFIX, RUNS_PREFIX),
        publish: (CHANGES_PREFIX, RUNS_PREFIX),
        changes: (),  # no object: its table items and its queue
        organizations: (),  # no object: the registry's items
    }
    for function, function_prefixes in prefixes.items():
        Validations.of(function).acknowledge(Acknowledgment(id="AwsSolutions-L1", reason=RUNTIME_REASON))
        role = function.role
        assert role is not None
        Validations.of(role).acknowledge(Acknowledgment(id=iam5("*"), reason=NO_RESOURCE_LEVEL_REASON))
        _acknowledge_prefixes(role, bucket_arn, *function_prefixes)

    assert scan.role is not None
    Validations.of(scan.role).acknowledge(
        Acknowledgment(
            id=iam5(f"arn:<AWS::Partition>:iam::*:role/{customer_role_name}"),
            reason="The scanner assumes the read-only role of whichever customer account is registered; only "
            "that role name, and each customer's trust policy admits only this role with its ExternalId.",
        )
    )
    assert organizations.role is not None
    Validations.of(organizations.role).acknowledge(
        Acknowledgment(
            id=iam5(f"arn:<AWS::Partition>:iam::*:role/{reader_role_name}"),
            reason="The sync assumes the organization reader role of whichever management account is registered; "
            "only that role name, which may list the organization's accounts and nothing else, and whose trust "
            "policy admits only this role with the organization's ExternalId.",
        )
    )

    Validations.of(workflow.policy).acknowledge(
        Acknowledgment(id=iam5("*"), reason=NO_RESOURCE_LEVEL_REASON),
        *(
            Acknowledgment(
                id=iam5(f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{pattern}"),
                reason="Executions of this state machine and the child executions of its maps, named by Step "
                "Functions at run time.",
            )
            for pattern in workflow.execution_patterns()
        ),
    )
    if workflow.log_level != sfn.LogLevel.ALL:
        Validations.of(workflow.state_machine).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SF1",
                reason="A sweep runs one child execution per customer account (ten thousand): logging ALL of "
                "their events would cost more than the sweep. Errors are logged (cdk.json workflow_log_level), "
                "the parent's history and X-Ray traces keep the rest.",
            )
        )
    _acknowledge_prefixes(workflow.policy, bucket_arn, MANIFESTS_PREFIX, RESULTS_PREFIX)

    Validations.of(dead_letters).acknowledge(
        Acknowledgment(
            id="AwsSolutions-SQS3",
            reason="This queue is the dead-letter queue of the schedule and rule targets; it is drained by "
            "people after the UndeliveredStarts alarm, not redriven into another queue.",
        )
    )
