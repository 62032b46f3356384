"""`api-discovery`: the demo against an embedded emulator, and scans with the caller's own credentials."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import boto3
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from api_discovery.analysis import entry_map
from api_discovery.blobs import BlobStore, LocalBlobStore, S3BlobStore
from api_discovery.collect.organizations import reader_client
from api_discovery.errors import InvalidInputError, validation_problems
from api_discovery.inventory.results import TargetResult
from api_discovery.inventory.snapshots import SNAPSHOT_PREFIX, read_snapshot
from api_discovery.local.cli_reports import diff_command, report_command, write_html
from api_discovery.local.runner import LocalRun, run_local
from api_discovery.local.schema import write_schemas
from api_discovery.steps.organizations import sync_organizations
from api_discovery.steps.plan import PlanResult, PlanSettings, ScanRequest
from api_discovery.store.organizations import Organizations, RegisteredOrganization
from api_discovery.store.registry import (
    ConcurrentRegistrationError,
    DuplicateExternalIdError,
    RegisteredAccount,
    Registry,
)
from api_discovery.store.state import StateStore
from api_discovery.targets import known_regions

app = typer.Typer(
    help="Discover every API Gateway API across AWS accounts and regions, read-only.",
    no_args_is_help=True,
    add_completion=False,
)
# Wide enough for the inventory when output is not a terminal (CI logs, pipes).
console = Console(width=None if sys.stdout.isatty() else 160)


def main() -> None:
    app()


app.command("report")(report_command)
app.command("diff")(diff_command)


def _run_with_progress(**kwargs: object) -> LocalRun:
    progress = Progress(
        TextColumn("[bold]scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}", markup=False),  # names a target: never read as markup
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task("planning", total=None)

    def on_plan(planned: PlanResult) -> None:
        progress.update(task, total=planned.count, description=f"run {planned.run_id}")

    def on_result(result: TargetResult) -> None:
        progress.update(task, advance=1, description=f"{result.account_id}/{result.region} {result.status}")

    with progress:
        return run_local(on_plan=on_plan, on_result=on_result, **kwargs)  # type: ignore[arg-type]


def _cells(*values: str) -> list[Text]:
    """Table cells of customer-controlled text (names, paths, reasons): shown as they are, never read as Rich
    markup (an API named `[/bold]` would end the output; `[link=...]` would make a link) or as emoji codes."""
    return [Text(v) for v in values]


def print_inventory(blobs: BlobStore, run: LocalRun) -> None:
    table = Table(title=Text(f"Inventory, run {run.plan.run_id}"), show_lines=False)
    for column in ("account", "region", "kind", "API", "endpoint", "stages", "routes", "custom domains"):
        table.add_column(column)
    for result in run.results:
        if not result.snapshot_key or result.status == "failed":
            continue
        snapshot = read_snapshot(blobs, result.snapshot_key)
        for api in sorted(snapshot.apis, key=lambda a: (a.kind, a.name, a.id)):
            domains = sorted({d.name for d in snapshot.domains for m in d.mappings if m.api_id == api.id})
            endpoint = api.endpoint_type + ("" if api.default_endpoint_enabled else " (default off)")
            table.add_row(
                *_cells(
                    snapshot.account_id,
                    snapshot.region,
                    api.kind,
                    f"{api.name} ({api.id})",
                    endpoint,
                    ", ".join(s.name for s in api.stages),
                    str(len(api.routes)),
                    ", ".join(domains),
                )
            )
    console.print(table)
    print_function_urls(blobs, run)
    print_entry_map(blobs, run)


def print_function_urls(blobs: BlobStore, run: LocalRun) -> None:
    table = Table(title=Text(f"Lambda function URLs, run {run.plan.run_id}"), show_lines=False)
    for column in ("account", "region", "function", "auth type", "exposure", "URL"):
        table.add_column(column)
    for result in run.results:
        if not result.snapshot_key or result.status == "failed" or not result.function_url_count:
            continue
        snapshot = read_snapshot(blobs, result.snapshot_key)
        for url in snapshot.function_urls:
            verdict = url.exposure.verdict if url.exposure else "unknown"
            table.add_row(*_cells(snapshot.account_id, snapshot.region, url.key, url.auth_type, verdict, url.url))
    if table.row_count:
        console.print(table)


def print_entry_map(blobs: BlobStore, run: LocalRun) -> None:
    """The map's entries beyond plain API Gateway APIs: other services' hosts, and what CloudFront fronts."""
    snapshots = [read_snapshot(blobs, r.snapshot_key) for r in run.results if r.snapshot_key and r.status != "failed"]
    built = entry_map.build(snapshots)
    table = Table(title=Text(f"Entry points beside API Gateway, run {run.plan.run_id}"), show_lines=False)
    for column in ("host", "kind", "exposure", "fronted by", "fronts", "note"):
        table.add_column(column)
    for row in built.rows():
        linked = row["fronted_by"] or row["fronts"]
        if not linked and all(k.startswith("API_GATEWAY_") for k in row["kinds"]):
            continue
        table.add_row(
            *_cells(
                row["host"],
                ", ".join(row["kinds"]),
                row["exposure"],
                ", ".join(row["fronted_by"]),
                ", ".join(row["fronts"]),
                row["note"] or "",
            )
        )
    if table.row_count:
        console.print(table)
    for _, _, finding in built.findings:
        console.print(Text(f"{finding.severity}: {finding.title}: {finding.resource} -> {finding.evidence['origin']}"))


def print_targets(run: LocalRun, expected_failures: set[str]) -> None:
    table = Table(title="Targets")
    for column in ("account", "region", "status", "APIs", "routes", "calls", "note"):
        table.add_column(column)
    colours = {"complete": "green", "partial": "yellow", "failed": "red"}
    for r in run.results:
        note = r.reason or ""
        if r.account_id in expected_failures and r.status == "failed":
            note = f"expected: {note}"
        account, region = _cells(r.account_id, r.region)
        table.add_row(
            account,
            region,
            Text(r.status, style=colours[r.status]),
            *_cells(str(r.api_count), str(r.route_count), str(r.api_calls), note),
        )
    console.print(table)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder the demo's snapshots are copied to")] = Path("demo-output"),
    workers: Annotated[int, typer.Option(min=1, max=64, help="Targets scanned at once")] = 4,
) -> None:
    """Seed a demo estate into an embedded AWS emulator and discover it end to end."""
    from api_discovery.local.demo import run_demo  # noqa: PLC0415 - the emulator (moto) is only needed here

    started = time.monotonic()
    outcome = run_demo(out=out, workers=workers, run=_run_with_progress, console=console)
    print_targets(outcome.run, outcome.expected_failures)
    print_inventory(outcome.blobs, outcome.run)
    sent = outcome.run.summary.events
    console.print(
        f"Events on the emulator's bus: {sum(sent.values())} ({', '.join(f'{k} {v}' for k, v in sent.items())})"
    )
    # Paths and reasons are text, never markup: a folder or an error message may hold `[` or `:`.
    report = write_html(outcome.blobs, out, outcome.run.plan.run_id)
    console.print(Text.assemble("HTML report: ", (str(report), "bold")))
    copied = f"{out}/{SNAPSHOT_PREFIX}"
    console.print(Text.assemble(f"Snapshots: {outcome.bucket_uri} (emulator), copied to ", (copied, "bold")))
    console.print(Text(f"Run record: {out}/runs/run={outcome.run.plan.run_id}.json"))
    console.print(f"Demo finished in {time.monotonic() - started:.1f} s")
    if outcome.unexpected:
        console.print(Text.assemble(("Discovery failed unexpectedly: ", "red"), "; ".join(outcome.unexpected)))
        raise typer.Exit(1)


@app.command()
def scan(
    account: Annotated[list[str] | None, typer.Option(help="Account to scan (repeat); default: your own")] = None,
    region: Annotated[list[str] | None, typer.Option(help="Region to scan (repeat); default: your profile's")] = None,
    role_name: Annotated[str | None, typer.Option(help="Role to assume in each account")] = None,
    external_id: Annotated[str | None, typer.Option(help="ExternalId the role requires")] = None,
    out: Annotated[Path, typer.Option(help="Local folder for snapshots")] = Path("discovery-output"),
    bucket: Annotated[str | None, typer.Option(help="Write snapshots to this S3 bucket instead")] = None,
    table: Annotated[str | None, typer.Option(help="Write current state to this DynamoDB table")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 4,
) -> None:
    """Scan real AWS (or any endpoint AWS_ENDPOINT_URL names) with your own credentials."""
    session = boto3.Session()
    regions = region or ([session.region_name] if session.region_name else [])
    if not regions:
        raise typer.BadParameter("no region: pass --region or configure a default region", param_hint="--region")
    unknown = [r for r in regions if r not in known_regions()]
    if unknown:
        raise typer.BadParameter(f"unknown region(s): {', '.join(map(repr, unknown[:5]))}", param_hint="--region")
    if role_name and not external_id:
        raise typer.BadParameter("a customer role is assumed with its ExternalId", param_hint="--external-id")
    accounts = account or [session.client("sts").get_caller_identity()["Account"]]
    try:
        registered = [
            RegisteredAccount(account_id=a, role_name=role_name, external_id=external_id, regions=regions)
            for a in accounts
        ]
    except ValidationError as exc:
        raise typer.BadParameter(validation_problems(exc), param_hint="--account") from exc
    blobs: BlobStore = S3BlobStore(session.client("s3"), bucket) if bucket else LocalBlobStore(out)
    state = StateStore(session.client("dynamodb"), table) if table else None
    try:
        run = _run_with_progress(
            request=ScanRequest(source="cli"),
            registered=registered,
            settings=PlanSettings(default_regions=regions),
            blobs=blobs,
            state=state,
            session_factory=boto3.Session,
            max_workers=workers,
        )
    except InvalidInputError as exc:  # refused by plan, before anything was written
        raise typer.BadParameter(str(exc)) from exc
    print_targets(run, set())
    print_inventory(blobs, run)
    console.print(Text(f"Snapshots: {blobs.uri(SNAPSHOT_PREFIX)}"))
    if run.summary.failed:
        raise typer.Exit(1)


@app.command("customer-template")
def customer_template(
    vendor_account: Annotated[str, typer.Option(help="The vendor's AWS account id (where the scanner runs)")],
    external_id: Annotated[str, typer.Option(help="This customer's ExternalId")],
    role_name: Annotated[str, typer.Option(help="Name of the read-only role to create")] = "ApiDiscoveryReadOnly",
    vendor_region: Annotated[str, typer.Option(help="Region of the vendor's event bus")] = "us-east-1",
    forward_change_events: Annotated[bool, typer.Option(help="Also forward API Gateway change events")] = False,
    access: Annotated[
        str,
        typer.Option(
            help="Default of the role's AccessScope: SecurityAudit (SecurityAudit + apigateway:GET) or "
            "ApiGatewayOnly (apigateway:GET on the paths the scanner reads)"
        ),
    ] = "SecurityAudit",
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output")] = None,
) -> None:
    """Print the CloudFormation template a customer deploys to grant read-only access."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # the CDK's Node banner
    from infra.customer_access_stack import render_customer_template  # noqa: PLC0415 - loads the CDK (jsii)

    try:
        template = render_customer_template(
            vendor_account,
            external_id,
            role_name,
            vendor_region=vendor_region,
            forward_change_events=forward_change_events,
            access_scope=access,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if out:
        out.write_text(template)
        console.print(f"wrote {out}")
    else:
        typer.echo(template)


@app.command()
def register(
    account: Annotated[str, typer.Option(help="The customer's AWS account id")],
    table: Annotated[str, typer.Option(help="The deployment's DynamoDB table (its TableName output)")],
    region: Annotated[list[str] | None, typer.Option(help="Region to scan (repeat); default: the deployment's")] = None,
    name: Annotated[str, typer.Option(help="The customer's name, for reports")] = "",
    external_id: Annotated[
        str | None,
        typer.Option(help="The ExternalId the customer's role requires; default: the account's own, or a new one"),
    ] = None,
    forwards_events: Annotated[
        bool, typer.Option(help="The customer forwards API Gateway change events (ForwardChangeEvents=true)")
    ] = False,
) -> None:
    """Register a customer account for scanning. A generated ExternalId is printed this once, for the
    customer's template; one that another account uses is refused."""
    unknown = [r for r in region or [] if r not in known_regions()]
    if unknown:
        raise typer.BadParameter(f"unknown region(s): {', '.join(map(repr, unknown[:5]))}", param_hint="--region")
    try:
        wanted = RegisteredAccount(
            account_id=account,
            name=name,
            regions=region or [],
            external_id=external_id,
            forwards_events=forwards_events,
        )
    except ValidationError as exc:
        raise typer.BadParameter(validation_problems(exc), param_hint="--account") from None
    try:
        registration = Registry(boto3.Session().client("dynamodb"), table).register(wanted)
    except (DuplicateExternalIdError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--external-id") from None
    except ConcurrentRegistrationError as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(1) from None
    # typer.echo, not Rich: nothing of the id may be read as markup.
    if registration.generated:
        typer.echo(f"registered {account}; its new ExternalId, shown this once: {registration.account.external_id}")
    else:
        typer.echo(f"registered {account}, keeping the ExternalId given or already registered")


@app.command("organization-template")
def organization_template(
    vendor_account: Annotated[str, typer.Option(help="The vendor's AWS account id (where the scanner runs)")],
    external_id: Annotated[str, typer.Option(help="The organization's ExternalId (every member role uses it)")],
    vendor_region: Annotated[str, typer.Option(help="Region of the vendor's event bus")] = "us-east-1",
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output")] = None,
) -> None:
    """Print the template a customer deploys in its management account: the organization reader role and the
    member role as a service-managed StackSet."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from infra.organization_stack import render_organization_template  # noqa: PLC0415 - loads the CDK (jsii)

    try:
        template = render_organization_template(vendor_account, external_id, vendor_region)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if out:
        out.write_text(template)
        console.print(f"wrote {out}")
    else:
        typer.echo(template)


@app.command("register-organization")
def register_organization(
    management_account: Annotated[str, typer.Option(help="The management or delegated administrator account")],
    table: Annotated[str, typer.Option(help="The deployment's DynamoDB table (its TableName output)")],
    external_id: Annotated[str, typer.Option(help="The organization's ExternalId, as in its template")],
    region: Annotated[list[str] | None, typer.Option(help="Region to scan (repeat); default: the deployment's")] = None,
    name: Annotated[str, typer.Option(help="The customer's name, for reports")] = "",
    forwards_events: Annotated[bool, typer.Option(help="Its members forward change events")] = False,
) -> None:
    """Register an organization: its member accounts are registered from its account list on the next sync."""
    try:
        wanted = RegisteredOrganization(
            management_account_id=management_account,
            name=name,
            external_id=external_id,
            regions=region or [],
            forwards_events=forwards_events,
        )
        Organizations(boto3.Session().client("dynamodb"), table).register(wanted)
    except ValidationError as exc:
        raise typer.BadParameter(validation_problems(exc), param_hint="--management-account") from None
    except DuplicateExternalIdError as exc:
        raise typer.BadParameter(str(exc), param_hint="--external-id") from None
    typer.echo(f"registered organization {management_account}; its members are registered at the next sync")


@app.command("sync-organizations")
def sync_organizations_command(
    table: Annotated[str, typer.Option(help="The deployment's DynamoDB table (its TableName output)")],
) -> None:
    """List every registered organization's accounts and register, stop or resume its members now."""
    client = boto3.Session().client("dynamodb")
    base = boto3.Session()
    outcomes = sync_organizations(
        Organizations(client, table),
        Registry(client, table),
        lambda org, arn: reader_client(base, arn, org.external_id, "organizations-cli"),
    )
    for outcome in outcomes:
        result = outcome.result
        if result is None:
            typer.echo(f"{outcome.organization}: not read: {outcome.error}")
            continue
        typer.echo(
            f"{outcome.organization}: {result.listed} listed, {len(result.added)} added, {len(result.stopped)} "
            f"stopped, {len(result.resumed)} resumed, {len(result.kept_own)} registered on their own"
        )


@app.command()
def schema(out: Annotated[Path, typer.Option(help="Folder for the JSON Schemas")] = Path("schemas")) -> None:
    """Write the published JSON Schemas."""
    for path in write_schemas(out):
        console.print(Text(f"wrote {path}"))


if __name__ == "__main__":  # pragma: no cover
    main()
