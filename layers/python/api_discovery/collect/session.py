"""Customer sessions: assumed through regional STS, read-only by construction, every call counted."""

from __future__ import annotations

import os
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from api_discovery import PRODUCT, __version__
from api_discovery.collect.cloudfront import drop_header_values
from api_discovery.collect.function_urls import drop_environment
from api_discovery.collect.load_balancers import drop_client_secrets
from api_discovery.errors import ReadOnlyViolationError, TargetUnavailableError

SESSION_SECONDS = 3600
# A customer session talks to the services whose entry points it inventories and nothing else.
CUSTOMER_SERVICES = frozenset({"apigateway", "apigatewayv2", "lambda", "appsync", "elbv2", "cloudfront"})
# The services of the entry points beside API Gateway, each on a client and a call budget of its own.
ENTRY_SERVICES = ("appsync", "elbv2", "cloudfront")
# Exactly the operations the collectors call (collect/*.py, through steps/target_scan.py and rescan.py): API Gateway
# reads authorized as apigateway:GET, the others in SecurityAudit (lambda:List*, lambda:GetPolicy, appsync:List*,
# elasticloadbalancing:Describe*, cloudfront:List*). A closed
# list rather than a name prefix: a read the scanner has no use for (GetSdk, GetApiKeys, GetModels, GetFunction,
# whose answer holds the environment and a code URL ...) is refused like a write. The integration test of a whole
# scan keeps this list equal to what the collectors send.
SCANNER_OPERATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("apigateway", "GetRestApis"),
        ("apigateway", "GetResources"),
        ("apigateway", "GetStages"),
        ("apigateway", "GetAuthorizers"),
        ("apigateway", "GetDomainNames"),
        ("apigateway", "GetBasePathMappings"),
        ("apigateway", "GetVpcLinks"),
        ("apigateway", "GetUsagePlans"),
        ("apigateway", "GetExport"),
        ("apigateway", "GetRequestValidators"),
        ("apigateway", "GetClientCertificates"),
        ("apigateway", "GetAccount"),
        ("apigateway", "GetDomainNameAccessAssociations"),
        ("apigatewayv2", "GetApis"),
        ("apigatewayv2", "GetRoutes"),
        ("apigatewayv2", "GetIntegrations"),
        ("apigatewayv2", "GetAuthorizers"),
        ("apigatewayv2", "GetStages"),
        ("apigatewayv2", "GetDomainNames"),
        ("apigatewayv2", "GetApiMappings"),
        ("apigatewayv2", "GetVpcLinks"),
        ("apigatewayv2", "ExportApi"),
        ("apigatewayv2", "ListRoutingRules"),
        ("lambda", "ListFunctions"),
        ("lambda", "ListFunctionUrlConfigs"),
        ("lambda", "GetPolicy"),
        ("appsync", "ListGraphqlApis"),
        ("appsync", "ListApis"),
        ("appsync", "ListDomainNames"),
        ("elbv2", "DescribeLoadBalancers"),
        ("elbv2", "DescribeListeners"),
        ("elbv2", "DescribeRules"),
        ("elbv2", "DescribeTargetGroups"),
        ("elbv2", "DescribeTargetHealth"),
        ("cloudfront", "ListDistributions"),
    }
)
# Reads that would return API key values: the parameter that asks for them, or the whole operation. None is
# on the list above; named here so that the refusal says why, and so that adding one to the list still
# never sends a request for key values.
_KEY_VALUE_PARAMS = {("apigateway", "GetApiKeys"): "includeValues", ("apigateway", "GetApiKey"): "includeValue"}
_KEY_VALUE_OPERATIONS = frozenset({("apigateway", "GetUsagePlanKeys"), ("apigateway", "GetUsagePlanKey")})

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 10},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra=f"{PRODUCT}/{__version__}",
)


def refuse_writes(model: Any, params: dict[str, Any], **_: Any) -> None:
    """botocore `before-parameter-build` hook: refuse anything but the scanner's own API Gateway reads, before
    it is sent."""
    service = model.service_model.service_name
    name = model.name
    if service not in CUSTOMER_SERVICES:
        raise ReadOnlyViolationError(
            service, name, "customer sessions are read-only and reach only the services they inventory"
        )
    key_values = _KEY_VALUE_PARAMS.get((service, name))
    if (service, name) in _KEY_VALUE_OPERATIONS or (key_values and params.get(key_values)):
        raise ReadOnlyViolationError(service, name, "API key values are never read")
    if (service, name) not in SCANNER_OPERATIONS:
        raise ReadOnlyViolationError(
            service, name, "customer sessions are read-only and send only the operations the scanner uses"
        )


def refuse_all_but(allowed: frozenset[tuple[str, str]]) -> Callable[..., None]:
    """A `before-parameter-build` hook for a session that may send only `allowed` (an organization's reader)."""

    def refuse(model: Any, **_: Any) -> None:
        service, name = model.service_model.service_name, model.name
        if (service, name) not in allowed:
            raise ReadOnlyViolationError(service, name, "this session sends only the operations it exists for")

    return refuse


@dataclass
class CallCounter:
    """Counts calls by `service:Operation`, and the retries botocore made for them."""

    calls: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[_op_name(model)] += 1

    def on_response(self, model: Any, parsed: dict[str, Any] | None = None, **_: Any) -> None:
        attempts = ((parsed or {}).get("ResponseMetadata") or {}).get("RetryAttempts", 0)
        if attempts:
            with self._lock:
                self.retries[_op_name(model)] += attempts

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self.calls.items()))

    def retries_snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self.retries.items()))


def _op_name(model: Any) -> str:
    return f"{model.service_model.service_name}:{model.name}"


def instrument(session: boto3.Session, counter: CallCounter) -> boto3.Session:
    """Attach the read-only guard and the call counter to every client the session makes."""
    session.events.register("before-parameter-build", refuse_writes)
    for event, handler in _SECRET_DROPS:
        session.events.register(event, handler)
    session.events.register("before-call", counter.on_call)
    session.events.register("after-call", counter.on_response)
    return session


# Answers that hold secrets, cleared in place as they are parsed: functions' environments, OIDC client secrets,
# custom origin header values.
_SECRET_DROPS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("after-call.lambda.ListFunctions", drop_environment),
    ("after-call.elastic-load-balancing-v2.DescribeListeners", drop_client_secrets),
    ("after-call.elastic-load-balancing-v2.DescribeRules", drop_client_secrets),
    ("after-call.cloudfront.ListDistributions", drop_header_values),
)


def role_arn(account_id: str, role_name: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{role_name}"


def session_name(run_id: str) -> str:
    # Shows up in the customer's CloudTrail: it must name the product. 64 characters at most.
    return f"{PRODUCT}-{run_id}"[:64]


# What botocore reads from the environment to choose an endpoint when it makes a client.
_ENDPOINT_SETTINGS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_API_GATEWAY",
    "AWS_ENDPOINT_URL_APIGATEWAYV2",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_ENDPOINT_URL_APPSYNC",
    "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
    "AWS_ENDPOINT_URL_CLOUDFRONT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


class _Slot:
    """One boto3 session and its API Gateway clients, one pair per region, lent to one account at a time. Its
    clients sign with the session's one credentials object, re-pointed at the borrowing account's keys."""

    def __init__(self) -> None:
        self.session = boto3.Session(aws_access_key_id="unset", aws_secret_access_key="unset")
        credentials = self.session.get_credentials()
        if credentials is None:  # pragma: no cover - a session made with keys always has them
            raise RuntimeError("a boto3 session made with keys has no credentials")
        self.credentials = credentials
        self.pairs: dict[tuple[str | None, ...], tuple[Any, Any]] = {}
        self.others: dict[tuple[str | None, ...], Any] = {}

    def lend(self, access_key: str, secret_key: str, token: str | None) -> None:
        self.credentials.access_key, self.credentials.secret_key, self.credentials.token = access_key, secret_key, token

    def clients(self, region: str) -> tuple[Any, Any]:
        # Keyed by the endpoint settings too: a process that points boto3 elsewhere (a test, the demo's
        # emulator) must not reach the old endpoint through a kept client.
        key = (region, *(os.environ.get(name) for name in _ENDPOINT_SETTINGS))
        pair = self.pairs.get(key)
        if pair is None:
            v1 = self.session.client("apigateway", region_name=region, config=CLIENT_CONFIG)
            v2 = self.session.client("apigatewayv2", region_name=region, config=CLIENT_CONFIG)
            for client in (v1, v2):
                client.meta.events.register("before-parameter-build", refuse_writes)
            pair = self.pairs[key] = (v1, v2)
        return pair

    def client(self, service: str, region: str) -> Any:
        """The region's guarded client of a service besides API Gateway (lambda, appsync, elbv2, cloudfront)."""
        key = (service, region, *(os.environ.get(name) for name in _ENDPOINT_SETTINGS))
        client = self.others.get(key)
        if client is None:
            make: Callable[..., Any] = self.session.client  # boto3's stubs type `client` per literal service name
            client = self.others[key] = guarded(make(service, region_name=region, config=CLIENT_CONFIG))
        return client


class ClientPool:
    """API Gateway clients kept for the life of the process. A warm scan Lambda scans account after account,
    and making an account's 34 regional clients again each time costs seconds of CPU (service models, endpoint
    rules, TLS contexts), made one at a time on a session that is not thread-safe. A slot is lent to one
    account until it is given back, so a request is never signed with another account's keys."""

    def __init__(self) -> None:
        self._free: list[_Slot] = []
        self._lock = threading.Lock()

    def borrow(self, access_key: str, secret_key: str, token: str | None) -> _Slot:
        with self._lock:
            slot = self._free.pop() if self._free else None
        slot = slot or _Slot()
        slot.lend(access_key, secret_key, token)
        return slot

    def give_back(self, slot: _Slot) -> None:
        slot.lend("returned", "returned", None)  # nothing signs with the last account's keys any more
        with self._lock:
            self._free.append(slot)


PROCESS_CLIENTS = ClientPool()


@dataclass(frozen=True)
class AccountCredentials:
    """One account's credentials, from one AssumeRole (or the caller's own). Its regions' clients come from one
    slot of `pool`, borrowed at the first region and given back by `release()` once every region is done."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    pool: ClientPool = field(default=PROCESS_CLIENTS, repr=False, compare=False)
    _slot: list[_Slot] = field(default_factory=list, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def api_gateway_clients(self, region: str) -> tuple[Any, Any]:
        """The region's apigateway and apigatewayv2 clients, guarded; the caller attaches its own hooks
        (`hooked`), which it removes when its scan ends."""
        # A boto3 session is not safe to make clients from on several threads at once.
        with self._lock:
            if not self._slot:
                self._slot.append(self.pool.borrow(self.access_key, self.secret_key, self.token))
            return self._slot[0].clients(region)

    def lambda_client(self, region: str) -> Any:
        """The region's Lambda client, guarded, from the same slot."""
        return self.client("lambda", region)

    def client(self, service: str, region: str) -> Any:
        """The region's guarded client of another service the scan reads (appsync, elbv2, cloudfront)."""
        with self._lock:
            if not self._slot:
                self._slot.append(self.pool.borrow(self.access_key, self.secret_key, self.token))
            return self._slot[0].client(service, region)

    def release(self) -> None:
        """Give the slot back: call once no scan of this account uses its clients."""
        with self._lock:
            if self._slot:
                self.pool.give_back(self._slot.pop())


@contextmanager
def hooked(clients: Sequence[Any], handlers: Sequence[tuple[str, Callable[..., Any]]]) -> Iterator[None]:
    """Attach one scan's hooks (its call counter, its budget) to clients that outlive it, and remove them when
    the scan ends: the next account's scan must not count or pace through them."""
    uid = secrets.token_hex(8)
    for client in clients:
        for event, handler in handlers:
            client.meta.events.register(event, handler, unique_id=f"{event}#{uid}")
    try:
        yield
    finally:
        for client in clients:
            for event, _ in handlers:
                client.meta.events.unregister(event, unique_id=f"{event}#{uid}")


def guarded(client: Any) -> Any:
    """A client that sends only the scanner's reads and never hands on a secret an answer holds."""
    client.meta.events.register("before-parameter-build", refuse_writes)
    for event, handler in _SECRET_DROPS:
        client.meta.events.register(event, handler)
    return client


def counting(counter: CallCounter) -> list[tuple[str, Callable[..., Any]]]:
    return [("before-call", counter.on_call), ("after-call", counter.on_response)]


def assume_account(
    base: boto3.Session, *, role: str, external_id: str | None, region: str, run_id: str
) -> AccountCredentials:
    """Assume the customer's read-only role through the regional STS endpoint of `region`."""
    sts = base.client("sts", region_name=region, config=CLIENT_CONFIG)
    kwargs: dict[str, Any] = {
        "RoleArn": role,
        "RoleSessionName": session_name(run_id),
        "DurationSeconds": SESSION_SECONDS,
    }
    if external_id:
        kwargs["ExternalId"] = external_id
    # STS echoes a value it refuses ("Value '…' at 'externalId' failed to satisfy constraint"), and the
    # reason travels on into snapshots, events, logs and the execution history: it never holds the ExternalId,
    # and the original error, which does, is not chained.
    try:
        creds = sts.assume_role(**kwargs)["Credentials"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        detail = f"{error.get('Code', 'Error')}: {error.get('Message', exc)}"
        raise TargetUnavailableError("assume_role", _without(f"cannot assume {role}: {detail}", external_id)) from None
    except BotoCoreError as exc:  # no answer at all: an endpoint that cannot be reached, a timeout
        raise TargetUnavailableError("assume_role", _without(f"cannot assume {role}: {exc}", external_id)) from None
    return AccountCredentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def _without(message: str, secret: str | None) -> str:
    return message.replace(secret, "***") if secret else message


def own_credentials(base: boto3.Session) -> AccountCredentials:
    """The caller's own credentials (a user scanning their own account)."""
    creds = base.get_credentials()
    if creds is None:
        raise TargetUnavailableError("assume_role", "no AWS credentials found for the caller")
    frozen = creds.get_frozen_credentials()
    return AccountCredentials(str(frozen.access_key), str(frozen.secret_key), frozen.token)


def assume_customer_session(
    base: boto3.Session,
    *,
    role: str,
    external_id: str | None,
    region: str,
    run_id: str,
    counter: CallCounter,
) -> boto3.Session:
    """Assume the customer's read-only role through the regional STS endpoint and return a guarded session."""
    credentials = assume_account(base, role=role, external_id=external_id, region=region, run_id=run_id)
    return instrument(_plain_session(credentials, region), counter)


def own_session(base: boto3.Session, *, region: str, counter: CallCounter) -> boto3.Session:
    """The caller's own credentials, with the same guard and counter."""
    return instrument(_plain_session(own_credentials(base), region), counter)


def _plain_session(credentials: AccountCredentials, region: str) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
        region_name=region,
    )
