"""What moto 5.2 does not model of API Gateway's 2024-2026 surface, kept beside it by the emulator.

Private custom domains (with their base path mappings, addressed by domainNameId) and their VPC endpoint access
associations, routing rules, client certificates, and fields moto drops from the answers it does give (a REST
API's securityPolicy, a REST JWT authorizer's jwtConfiguration, an integration's responseTransferMode …). A
seeder posts them to the emulator (`OverlayClient`, any process); the emulator answers the missing operations
from them and merges the fields into moto's answers, inside the paging, so every list still pages as AWS does.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from werkzeug.wrappers import Request, Response

OVERLAY_PATH = "/_api-discovery/overlay"

# Where each merged answer keeps its list (moto's wire format) and what identifies an item in it. Items of a list
# under one API (its resources, stages, authorizers, integrations) are named "<api id>/<item id>".
MERGED: dict[str, tuple[str, str]] = {
    "apigateway:GetRestApis": ("item", "id"),
    "apigateway:GetAuthorizers": ("item", "id"),
    "apigateway:GetResources": ("item", "id"),
    "apigateway:GetStages": ("item", "stageName"),
    "apigateway:GetDomainNames": ("item", "domainName"),
    "apigatewayv2:GetApis": ("items", "apiId"),
    "apigatewayv2:GetDomainNames": ("items", "domainName"),
    "apigatewayv2:GetIntegrations": ("items", "integrationId"),
    "apigatewayv2:GetStages": ("items", "stageName"),
    "apigatewayv2:GetVpcLinks": ("items", "vpcLinkId"),
}


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class Overlay:
    """The extra state, per (account, region). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._fields: dict[tuple[str, str, str, str], dict[str, Any]] = {}
            self._private: dict[tuple[str, str], list[dict[str, Any]]] = {}
            self._mappings: dict[tuple[str, str, str], list[dict[str, Any]]] = {}  # by domainNameId
            self._associations: list[dict[str, Any]] = []
            self._rules: dict[tuple[str, str, str], list[dict[str, Any]]] = {}  # by domain name (+ id)
            self._certificates: dict[tuple[str, str], list[dict[str, Any]]] = {}
            self._appsync_domains: dict[tuple[str, str], list[dict[str, Any]]] = {}

    # --- what a seeder posts ---------------------------------------------------------------------------------

    def apply(self, request: dict[str, Any]) -> dict[str, Any]:
        account, region, kind = str(request["account"]), str(request["region"]), str(request["kind"])
        body = dict(request.get("body") or {})
        with self._lock:
            if kind == "fields":
                key = (account, region, str(request["operation"]), str(request["id"]))
                self._fields[key] = _deep_merge(self._fields.get(key, {}), body)
                return {}
            if kind == "private_domain":
                domain_id = uuid.uuid4().hex[:10]
                name = str(body["domainName"])
                arn = f"arn:aws:apigateway:{region}:{account}:/domainnames/{name}+{domain_id}"
                entry = {
                    "domainName": name,
                    "domainNameId": domain_id,
                    "domainNameArn": arn,
                    "endpointConfiguration": {"types": ["PRIVATE"]},
                    "domainNameStatus": "AVAILABLE",
                    "securityPolicy": "TLS_1_2",
                    **{k: v for k, v in body.items() if k != "mappings"},
                }
                self._private.setdefault((account, region), []).append(entry)
                self._mappings[(account, region, domain_id)] = list(body.get("mappings") or [])
                return {"domainNameId": domain_id, "domainNameArn": arn}
            if kind == "access_association":
                # Made in `account` (the VPC endpoint's), towards a domain that may belong to another account.
                vpce = str(body["accessAssociationSource"])
                domain_arn = str(body["domainNameArn"])
                self._associations.append(
                    {
                        "domainNameAccessAssociationArn": (
                            f"arn:aws:apigateway:{region}:{account}:/domainnameaccessassociations/domainname/"
                            f"{domain_arn.rsplit('/', 1)[-1]}/vpcesource/{vpce}"
                        ),
                        "domainNameArn": domain_arn,
                        "accessAssociationSourceType": "VPCE",
                        "accessAssociationSource": vpce,
                        "_account": account,
                        "_region": region,
                    }
                )
                return {}
            if kind == "routing_rule":
                where = (account, region, str(request["domain"]) + "+" + str(request.get("domain_id") or ""))
                rule = {"routingRuleId": uuid.uuid4().hex[:6], **body}
                self._rules.setdefault(where, []).append(rule)
                return {"routingRuleId": rule["routingRuleId"]}
            if kind == "client_certificate":
                certificate = {"clientCertificateId": uuid.uuid4().hex[:6], **body}
                self._certificates.setdefault((account, region), []).append(certificate)
                return {"clientCertificateId": certificate["clientCertificateId"]}
            if kind == "appsync_domain":
                name = str(body["domainName"])
                domain = {
                    "domainName": name,
                    "domainNameArn": f"arn:aws:appsync:{region}:{account}:domainnames/{name}",
                    "appsyncDomainName": f"d{uuid.uuid4().hex[:13]}.cloudfront.net",
                    "hostedZoneId": "Z2FDTNDATAQYW2",
                    **body,
                }
                self._appsync_domains.setdefault((account, region), []).append(domain)
                return {"appsyncDomainName": domain["appsyncDomainName"]}
        raise ValueError(f"unknown overlay kind {kind!r}")

    # --- what the emulator answers ---------------------------------------------------------------------------

    def fields(self, account: str, region: str, operation: str, item_id: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._fields.get((account, region, operation, item_id), {}))

    def private_domains(self, account: str, region: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(d) for d in self._private.get((account, region), [])]

    def private_mappings(self, account: str, region: str, domain_id: str) -> list[dict[str, Any]] | None:
        with self._lock:
            found = self._mappings.get((account, region, domain_id))
            return [dict(m) for m in found] if found is not None else None

    def associations(self, account: str, region: str, owner: str) -> list[dict[str, Any]]:
        """SELF: made in this account; OTHER_ACCOUNTS: made elsewhere towards this account's domains."""
        with self._lock:
            own_domains = {d["domainNameArn"] for d in self._private.get((account, region), [])}
            chosen = [
                a
                for a in self._associations
                if a["_region"] == region
                and (
                    a["_account"] == account
                    if owner == "SELF"
                    else a["_account"] != account and a["domainNameArn"] in own_domains
                )
            ]
            return [{k: v for k, v in a.items() if not k.startswith("_")} for a in chosen]

    def shared_domains(self, account: str, region: str) -> list[dict[str, Any]]:
        """Other accounts' private domains this account has associated an endpoint with."""
        with self._lock:
            wanted = {a["domainNameArn"] for a in self._associations if a["_account"] == account}
            return [
                dict(d)
                for (owner, where), domains in self._private.items()
                if owner != account and where == region
                for d in domains
                if d["domainNameArn"] in wanted
            ]

    def routing_rules(self, account: str, region: str, domain: str, domain_id: str | None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._rules.get((account, region, f"{domain}+{domain_id or ''}"), [])]

    def certificates(self, account: str, region: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self._certificates.get((account, region), [])]

    def appsync_domains(self, account: str, region: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(d) for d in self._appsync_domains.get((account, region), [])]


OVERLAY = Overlay()  # moto's state is process-wide; so is what the emulator keeps beside it


class OverlayMiddleware:
    """Answers the operations moto lacks and merges the overlay's fields into moto's answers."""

    def __init__(self, app: WSGIApplication, overlay: Overlay, identify: Any, scope: Any) -> None:
        self.app, self.overlay, self.identify, self.scope = app, overlay, identify, scope

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == OVERLAY_PATH:
            return self._seed(environ, start_response)
        account, operation = self.identify(environ)
        region, _ = self.scope(environ)
        if account is None or operation is None or region is None:
            return self.app(environ, start_response)
        query = parse_qs(str(environ.get("QUERY_STRING", "")))
        answer = self._answer(account, region, operation, query, environ)
        if answer is not None:
            return answer(environ, start_response)
        if operation not in MERGED:
            return self.app(environ, start_response)
        response = Response.from_app(self.app, environ, buffered=True)
        if response.status_code == 200:
            body = json.loads(response.get_data() or b"{}")
            items_key, id_key = MERGED[operation]
            parent = _parent(str(environ.get("PATH_INFO", "")))
            items = [
                _deep_merge(item, self.overlay.fields(account, region, operation, parent + str(item.get(id_key))))
                for item in body.get(items_key) or []
            ]
            if operation == "apigateway:GetDomainNames":
                owner = (query.get("resourceOwner") or ["SELF"])[-1]
                if owner == "OTHER_ACCOUNTS":
                    items = self.overlay.shared_domains(account, region)
                else:
                    items += self.overlay.private_domains(account, region)
            body[items_key] = items
            response.set_data(json.dumps(body))
        return response(environ, start_response)

    def _answer(
        self, account: str, region: str, operation: str, query: dict[str, list[str]], environ: WSGIEnvironment
    ) -> Response | None:
        # Client certificates, access associations and routing rules are moto extensions that read this overlay
        # (api_discovery.local.emulator.install_moto_extensions): they answer moto's in-process mock too.
        if operation == "apigateway:GetBasePathMappings" and query.get("domainNameId"):
            mappings = self.overlay.private_mappings(account, region, query["domainNameId"][-1])
            if mappings is None:
                return _error(404, "NotFoundException", "Invalid domain name identifier specified")
            return _json({"item": mappings})
        return None

    def _seed(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            result = self.overlay.apply(json.loads(request.get_data() or b"{}"))
        except (KeyError, ValueError, TypeError) as exc:
            return _error(400, "BadRequestException", f"overlay: {exc}")(environ, start_response)
        return _json(result)(environ, start_response)


def _parent(path: str) -> str:
    """'<api id>/' for a list under one API (/restapis/{id}/stages, /v2/apis/{id}/integrations), else ''."""
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part in ("restapis", "apis") and i + 2 <= len(parts) - 1:
            return f"{parts[i + 1]}/"
    return ""


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=200, content_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"message": message}),
        status=status,
        headers={"x-amzn-ErrorType": code},
        content_type="application/json",
    )


class OverlayClient:
    """Seeds the overlay of the emulator at `endpoint_url`, from any process."""

    def __init__(self, endpoint_url: str) -> None:
        self.url = endpoint_url.rstrip("/") + OVERLAY_PATH

    def _post(self, request: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(request).encode()
        call = urllib.request.Request(self.url, data=data, method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(call, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer

    def fields(self, account: str, region: str, operation: str, item_id: str, **body: Any) -> None:
        """Fields moto drops, merged into the item `item_id` of every answer of `operation` (wire names); an item
        of a list under one API is named '<api id>/<item id>'."""
        self._post(
            {
                "account": account,
                "region": region,
                "kind": "fields",
                "operation": operation,
                "id": item_id,
                "body": body,
            }
        )

    def private_domain(self, account: str, region: str, name: str, **body: Any) -> dict[str, str]:
        """A private custom domain; `mappings` are its base path mappings (basePath, restApiId, stage)."""
        return self._post(
            {"account": account, "region": region, "kind": "private_domain", "body": {"domainName": name, **body}}
        )

    def access_association(self, account: str, region: str, domain_arn: str, vpc_endpoint: str) -> None:
        body = {"domainNameArn": domain_arn, "accessAssociationSource": vpc_endpoint}
        self._post({"account": account, "region": region, "kind": "access_association", "body": body})

    def routing_rule(
        self, account: str, region: str, domain: str, rule: dict[str, Any], domain_id: str | None = None
    ) -> str:
        request = {"account": account, "region": region, "kind": "routing_rule", "domain": domain, "body": rule}
        return str(self._post({**request, "domain_id": domain_id})["routingRuleId"])

    def client_certificate(self, account: str, region: str, **body: Any) -> str:
        return str(
            self._post({"account": account, "region": region, "kind": "client_certificate", "body": body})[
                "clientCertificateId"
            ]
        )

    def appsync_domain(self, account: str, region: str, name: str, **body: Any) -> str:
        """An AppSync custom domain (moto has none); answers its AppSync domain name, a CloudFront host."""
        request = {"account": account, "region": region, "kind": "appsync_domain", "body": {"domainName": name, **body}}
        return str(self._post(request)["appsyncDomainName"])
